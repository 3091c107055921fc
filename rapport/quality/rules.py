"""The scoring rules: what the audit looks at, what each problem costs, in one table.

A contact starts at 100 and loses each matching rule's points (never below 0). Rules
are conditions over a small set of facts (bits) that ``facts_expression`` computes in
SQL for many contacts at once; ``STALE`` is decided when the report is made, because it
depends on the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest

from rapport.contacts.models import Address, Affiliation, Email, Phone, WebLink


class Fact:
    """Bits of ``ContactQuality.facts``."""

    EMAIL = 1 << 0
    PHONE = 1 << 1
    ADDRESS = 1 << 2
    COUNTRY = 1 << 3
    ORGANIZATION = 1 << 4
    BIRTHDAY = 1 << 5
    JOB_TITLE = 1 << 6
    TIME_ZONE = 1 << 7
    LANGUAGE = 1 << 8
    PHOTO = 1 << 9
    WEB = 1 << 10
    NAME = 1 << 11
    INVALID_EMAIL = 1 << 12
    INVALID_PHONE = 1 << 13
    VERIFIED = 1 << 14
    DUPLICATE = 1 << 15
    STALE = 1 << 16  # never stored: added when a report is made


# Completeness: the share of contacts that have each field, in report order.
COMPLETENESS: tuple[tuple[str, str, int], ...] = (
    ("name", "Name", Fact.NAME),
    ("email", "Email", Fact.EMAIL),
    ("phone", "Phone", Fact.PHONE),
    ("address", "Address", Fact.ADDRESS),
    ("country", "Country", Fact.COUNTRY),
    ("organization", "Organization", Fact.ORGANIZATION),
    ("job_title", "Job title", Fact.JOB_TITLE),
    ("birthday", "Birthday", Fact.BIRTHDAY),
    ("time_zone", "Time zone", Fact.TIME_ZONE),
    ("language", "Language", Fact.LANGUAGE),
    ("web", "Website or profile", Fact.WEB),
    ("photo", "Photo", Fact.PHOTO),
)


@dataclass(frozen=True)
class Rule:
    """A problem: it applies when every ``present`` bit is set and every ``absent`` bit is not."""

    code: str
    label: str
    points: int
    present: int = 0
    absent: int = 0
    explanation: str = ""

    def explain(self) -> str:
        """The explanation as a person reads it, with the configured figures filled in."""
        months = max(1, int(getattr(settings, "RAPPORT_STALE_MONTHS", 12)))
        return self.explanation.format(months=months)

    def applies(self, facts: int) -> bool:
        return facts & self.present == self.present and facts & self.absent == 0

    @property
    def mask(self) -> int:
        return self.present | self.absent


RULES: tuple[Rule, ...] = (
    Rule(
        "no_email_or_phone",
        "No email and no phone",
        40,
        absent=Fact.EMAIL | Fact.PHONE,
        explanation="There is no way to reach this person.",
    ),
    Rule(
        "no_email",
        "No email",
        15,
        present=Fact.PHONE,
        absent=Fact.EMAIL,
        explanation="Only a phone number is known.",
    ),
    Rule(
        "no_phone",
        "No phone",
        5,
        present=Fact.EMAIL,
        absent=Fact.PHONE,
        explanation="Only an email address is known.",
    ),
    Rule(
        "invalid_email",
        "Invalid email",
        15,
        present=Fact.INVALID_EMAIL,
        explanation="An email address has no @, no dot in its domain, or a space.",
    ),
    Rule(
        "invalid_phone",
        "Invalid phone",
        10,
        present=Fact.INVALID_PHONE,
        explanation="A phone number is not in international (E.164) form.",
    ),
    Rule(
        "no_name",
        "No name",
        10,
        absent=Fact.NAME,
        explanation="Shown by an email address or a phone number.",
    ),
    Rule(
        "no_organization",
        "No organization",
        10,
        absent=Fact.ORGANIZATION,
        explanation="Not currently linked to any organization.",
    ),
    Rule(
        "no_country",
        "No address or country",
        10,
        absent=Fact.COUNTRY,
        explanation="No address with a country.",
    ),
    Rule(
        "stale",
        "Stale",
        15,
        present=Fact.STALE,
        explanation="Neither changed nor confirmed for {months} months.",
    ),
    Rule(
        "unverified",
        "Never confirmed",
        5,
        absent=Fact.VERIFIED,
        explanation="Nobody has confirmed that these details are current.",
    ),
    Rule(
        "duplicate",
        "Likely duplicate",
        10,
        present=Fact.DUPLICATE,
        explanation="In a cluster of likely duplicates still to be reviewed (see Duplicates).",
    ),
)
RULES_BY_CODE = {rule.code: rule for rule in RULES}


@cache
def problems(facts: int) -> tuple[Rule, ...]:
    """The rules that apply to a contact with these facts."""
    return tuple(rule for rule in RULES if rule.applies(facts))


@cache
def score(facts: int) -> int:
    """0–100: 100 minus the points of every problem, never below 0."""
    return max(0, 100 - sum(rule.points for rule in problems(facts)))


# Buckets of the score distribution: (label, lowest score, highest score).
BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("0–19", 0, 19),
    ("20–39", 20, 39),
    ("40–59", 40, 59),
    ("60–79", 60, 79),
    ("80–99", 80, 99),
    ("100", 100, 100),
)


def bucket_of(value: int) -> int:
    for i, (_, low, high) in enumerate(BUCKETS):
        if low <= value <= high:
            return i
    return 0


# ------------------------------------------------------------------ SQL side


def _bit(condition: Any, bit: int) -> Case:
    return Case(When(condition, then=Value(bit)), default=Value(0), output_field=IntegerField())


def invalid_email_q() -> Q:
    """What a stored email must not look like (the services refuse it; older data may not)."""
    return ~Q(address__regex=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def invalid_phone_q() -> Q:
    return ~Q(e164__regex=r"^\+[1-9][0-9]{6,14}$")


def facts_expression() -> Any:
    """The stored facts of each contact (``Contact`` queryset rows), as one SQL expression.

    Each fact is an EXISTS subquery or a column test; the bits are added (they are
    distinct powers of two, so adding is OR-ing).
    """
    from rapport.quality.models import ContactVerification

    contact = OuterRef("pk")
    parts = [
        _bit(Exists(Email.objects.filter(contact=contact)), Fact.EMAIL),
        _bit(Exists(Phone.objects.filter(contact=contact)), Fact.PHONE),
        _bit(Exists(Address.objects.filter(contact=contact)), Fact.ADDRESS),
        _bit(Exists(Address.objects.filter(contact=contact).exclude(country="")), Fact.COUNTRY),
        _bit(
            Exists(Affiliation.objects.filter(contact=contact, is_current=True)),
            Fact.ORGANIZATION,
        ),
        _bit(Q(birthday__isnull=False), Fact.BIRTHDAY),
        _bit(~Q(job_title=""), Fact.JOB_TITLE),
        _bit(~Q(time_zone=""), Fact.TIME_ZONE),
        _bit(~Q(language=""), Fact.LANGUAGE),
        _bit(~Q(photo=""), Fact.PHOTO),
        _bit(Exists(WebLink.objects.filter(contact=contact)), Fact.WEB),
        _bit(~Q(given_name="", family_name=""), Fact.NAME),
        _bit(Exists(Email.objects.filter(invalid_email_q(), contact=contact)), Fact.INVALID_EMAIL),
        _bit(Exists(Phone.objects.filter(invalid_phone_q(), contact=contact)), Fact.INVALID_PHONE),
        _bit(Exists(ContactVerification.objects.filter(contact=contact)), Fact.VERIFIED),
    ]
    total: Any = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def last_touched_expression() -> Any:
    """The later of the last change and the last confirmation."""
    from rapport.quality.models import ContactVerification

    confirmed = Subquery(
        ContactVerification.objects.filter(contact=OuterRef("pk")).values("verified_at")[:1]
    )
    return Greatest(F("updated_at"), Coalesce(confirmed, F("updated_at")))


def rule_q(rule: Rule, *, stale_before: Any, prefix: str = "") -> Q:
    """A filter on ``ContactQuality`` rows (annotated with ``_masked``) matching ``rule``."""
    stored_present = rule.present & ~Fact.STALE
    q = Q(**{f"{prefix}_masked": stored_present})
    if rule.present & Fact.STALE:
        q &= Q(**{f"{prefix}last_touched__lt": stale_before})
    return q


def masked(rule: Rule) -> Any:
    """``facts & mask`` for the stored bits a rule looks at."""
    return F("facts").bitand(rule.mask & ~Fact.STALE)
