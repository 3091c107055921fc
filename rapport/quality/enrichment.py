"""Enrichment from what is already known: providers that propose changes, never make them.

A provider is anything with a ``name`` and a ``suggest(contacts)`` method returning
``Proposal`` objects (the ``Provider`` protocol). ``services.enrichment_generate``
hands each provider chunks of contacts with their emails, phones, addresses and current
affiliations prefetched, and stores what comes back as pending ``Suggestion`` rows; a
person accepts or rejects them. To add a provider, write such a class and list it in
``PROVIDERS``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import phonenumbers
from phonenumbers import timezone as phone_timezone

from rapport.contacts import normalize
from rapport.contacts.models import Contact, Organization
from rapport.core.text import fold


@dataclass(frozen=True)
class Proposal:
    """One change a provider proposes for one contact."""

    contact_id: int
    field: str
    current_value: str
    suggested_value: str
    reason: str
    payload: dict[str, Any] = dataclasses.field(default_factory=dict)


class Provider(Protocol):
    """Proposes changes for a chunk of contacts; must not write anything itself."""

    name: str

    def suggest(self, contacts: Sequence[Contact]) -> Iterable[Proposal]: ...


# ------------------------------------------------------------------ shared knowledge


# Names reserved for documentation and testing (RFC 2606): nobody works there.
_RESERVED = frozenset({"example.com", "example.net", "example.org"})
_RESERVED_TLDS = frozenset({"example", "invalid", "localhost", "test", "local"})


def _domains(name: str) -> set[str]:
    text = (Path(__file__).parent / "data" / name).read_text(encoding="utf-8")
    return {
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    }


@cache
def free_mail_domains() -> frozenset[str]:
    """The vendored list of free-mail domains (see the data file's header), the personal
    mailboxes it misses, and the reserved ones."""
    listed = _domains("free_email_domains.txt") | _domains("free_email_domains_more.txt")
    return frozenset(listed | _RESERVED)


def is_free_mail(domain: str) -> bool:
    """True for a free-mail or reserved domain, or any subdomain of one; also for
    ``example`` under any suffix (example.de, example.co.uk), which documentation and
    tests use as freely as the reserved names."""
    labels = domain.lower().strip(".").split(".")
    if labels[-1] in _RESERVED_TLDS:
        return True
    if registrable_domain(domain).split(".")[0] == "example":
        return True
    domains = free_mail_domains()
    return any(".".join(labels[i:]) in domains for i in range(len(labels) - 1))


@cache
def country_time_zones() -> dict[str, tuple[str, ...]]:
    """ISO country code → its IANA time zones, from the tz database's zone.tab."""
    try:
        text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - system copy instead
        text = Path("/usr/share/zoneinfo/zone.tab").read_text(encoding="utf-8")
    zones: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            zones.setdefault(parts[0].upper(), []).append(parts[2])
    return {country: tuple(found) for country, found in zones.items()}


def _current_affiliations(contact: Contact) -> list[Any]:
    return [a for a in contact.affiliations.all() if a.is_current]


def _countries(contact: Contact) -> set[str]:
    return {a.country for a in contact.addresses.all() if a.country}


# Second-level labels under which companies register (acme.co.uk, acme.com.au).
_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu", "ltd", "plc", "or", "ne", "gob"}


def organization_name_from_domain(domain: str) -> str:
    """A readable guess at a company name: ``acme-tools.co.uk`` → ``Acme Tools``."""
    labels = domain.lower().strip(".").split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        labels = labels[:-2]
    elif len(labels) >= 2:
        labels = labels[:-1]
    core = labels[-1] if labels else domain
    words = [w for w in re.split(r"[-_]+", core) if w]
    return " ".join(w.upper() if len(w) <= 3 else w.capitalize() for w in words) or domain


def registrable_domain(domain: str) -> str:
    """``mail.eu.acme.com`` → ``acme.com`` (two labels, three under co.uk-style suffixes)."""
    labels = domain.lower().strip(".").split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


# ------------------------------------------------------------------ providers


class OrganizationFromEmailDomain:
    """A contact with no current organization and a work email: the organization using
    that domain, else one whose name matches the domain, else a new organization."""

    name = "email_domain"

    def __init__(self) -> None:
        self._by_domain: dict[str, tuple[int, str]] | None = None
        self._by_name: dict[str, tuple[int, str]] = {}

    def _load(self) -> dict[str, tuple[int, str]]:
        if self._by_domain is None:
            self._by_domain = {}
            for pk, org_name, domains in Organization.objects.order_by("id").values_list(
                "id", "name", "domains"
            ):
                for domain in domains or []:
                    self._by_domain.setdefault(str(domain).lower(), (pk, org_name))
                self._by_name.setdefault(fold(org_name), (pk, org_name))
        return self._by_domain

    def suggest(self, contacts: Sequence[Contact]) -> Iterable[Proposal]:
        by_domain = self._load()
        for contact in contacts:
            if _current_affiliations(contact):
                continue
            emails = sorted(contact.emails.all(), key=lambda e: (not e.primary, e.position, e.pk))
            for email in emails:
                domain = email.address.rsplit("@", 1)[-1].lower()
                if "." not in domain or is_free_mail(domain):
                    continue
                base = registrable_domain(domain)
                found = by_domain.get(domain) or by_domain.get(base)
                if found:
                    reason = f"Email address at {domain}, a domain of {found[1]}."
                else:
                    guess = organization_name_from_domain(base)
                    found = self._by_name.get(fold(guess))
                    reason = (
                        f"Email address at {domain}; {found[1]} has that name."
                        if found
                        else f"Email address at {domain}; no organization uses it yet, so a new one would be created."
                    )
                if found:
                    payload: dict[str, Any] = {"organization_id": found[0], "domain": base}
                    value = found[1]
                else:
                    value = organization_name_from_domain(base)
                    payload = {"organization_id": None, "name": value, "domain": base}
                yield Proposal(contact.pk, "organization", "", value[:300], reason, payload)
                break


class PhoneCountryAndTimeZone:
    """Country and time zone from the contact's phone numbers (when they all agree)."""

    name = "phone"

    def suggest(self, contacts: Sequence[Contact]) -> Iterable[Proposal]:
        for contact in contacts:
            numbers = []
            for phone in contact.phones.all():
                try:
                    numbers.append((phone, phonenumbers.parse(phone.e164)))
                except phonenumbers.NumberParseException:
                    continue
            if not numbers:
                continue
            regions = {phonenumbers.region_code_for_number(n) or "" for _, n in numbers}
            regions.discard("")
            regions.discard("001")  # non-geographic (satellite, global services)
            shown = normalize.phone_display(numbers[0][0].e164)
            if len(regions) == 1 and not _countries(contact):
                (region,) = regions
                yield Proposal(
                    contact.pk,
                    "country",
                    "",
                    region,
                    f"Phone number {shown} is from {normalize.country_name(region)}.",
                    {"country": region},
                )
            if contact.time_zone:
                continue
            zones = {z for _, n in numbers for z in phone_timezone.time_zones_for_number(n)}
            zones.discard(phone_timezone.UNKNOWN_TIMEZONE)
            if len(zones) == 1:
                (zone,) = zones
                yield Proposal(
                    contact.pk,
                    "time_zone",
                    "",
                    zone,
                    f"Phone number {shown} is in the {zone} time zone.",
                    {"time_zone": zone},
                )


class AddressTimeZone:
    """Time zone from the address country, when that country has only one time zone."""

    name = "address"

    def suggest(self, contacts: Sequence[Contact]) -> Iterable[Proposal]:
        zones = country_time_zones()
        for contact in contacts:
            if contact.time_zone:
                continue
            countries = _countries(contact)
            if len(countries) != 1:
                continue
            (country,) = countries
            found = zones.get(country, ())
            if len(found) == 1:
                yield Proposal(
                    contact.pk,
                    "time_zone",
                    "",
                    found[0],
                    f"The address is in {normalize.country_name(country)}, which has one time zone.",
                    {"time_zone": found[0]},
                )


# Words that stay lower-case inside a name (not at its start): van der Berg, da Silva.
PARTICLES = frozenset(
    [
        "af",
        "al",
        "bin",
        "binti",
        "d",
        "da",
        "das",
        "de",
        "del",
        "della",
        "der",
        "des",
        "di",
        "do",
        "dos",
        "du",
        "el",
        "la",
        "le",
        "lo",
        "ten",
        "ter",
        "van",
        "von",
        "y",
        "zu",
    ]
)
_ROMAN = re.compile(r"^(?=[ivxlc]+$)c{0,3}(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$", re.IGNORECASE)


def _shouting_or_flat(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    cased = [ch for ch in letters if ch.isupper() or ch.islower()]
    if len(cased) < 2:
        return False
    return all(ch.isupper() for ch in cased) or all(ch.islower() for ch in cased)


def _piece(piece: str) -> str:
    lower = piece.lower()
    if lower.startswith("mc") and len(lower) > 2:
        return "Mc" + lower[2:].capitalize()
    return lower.capitalize()


def _word(word: str, *, first: bool) -> str:
    lower = word.lower()
    if not first and lower in PARTICLES:
        return lower
    if _ROMAN.match(word) and len(word) > 1 and not first:
        return word.upper()
    out = []
    for part in word.split("-"):
        pieces = part.split("'") if "'" in part else part.split("’")
        sep = "'" if "'" in part else "’"
        # O'Brien, D'Angelo; but a trailing 's stays lower (rare in names).
        out.append(
            sep.join(_piece(p) if len(p) > 1 or i == 0 else p.upper() for i, p in enumerate(pieces))
        )
    return "-".join(out)


def proper_case(text: str, *, first: bool) -> str:
    """``VAN DER BERG`` → ``van der Berg`` (inside a name) or ``Van der Berg`` (at its start);
    ``o'brien`` → ``O'Brien``; ``MCDONALD`` → ``McDonald``; ``jean-luc`` → ``Jean-Luc``."""
    words = text.split()
    return " ".join(_word(w, first=first and i == 0) for i, w in enumerate(words))


class NameCapitalisation:
    """Names typed in ALL CAPS or all lower case, with proper capitalisation.

    Only name parts whose letters are all upper or all lower case are touched, so
    deliberate spellings (McDonald, van Gogh, danah boyd entered that way on purpose is
    the one thing a person must reject).
    """

    name = "name_case"
    PARTS = ("given_name", "middle_name", "family_name")

    def suggest(self, contacts: Sequence[Contact]) -> Iterable[Proposal]:
        for contact in contacts:
            changed: dict[str, str] = {}
            first = True
            for part in self.PARTS:
                value = getattr(contact, part)
                if not value:
                    continue
                if _shouting_or_flat(value):
                    fixed = proper_case(value, first=first)
                    if fixed != value:
                        changed[part] = fixed
                first = False
            if not changed:
                continue
            parts = normalize.NameParts(
                **{
                    n: changed.get(n, getattr(contact, n))
                    for n in (
                        "prefix",
                        "given_name",
                        "middle_name",
                        "family_name",
                        "suffix",
                        "nickname",
                    )
                }
            )
            shown = normalize.display_name(parts) or contact.display_name
            if shown == contact.display_name:
                continue
            yield Proposal(
                contact.pk,
                "name",
                contact.display_name,
                shown[:300],
                "The name is written in "
                + ("capitals." if contact.display_name.isupper() else "one case."),
                changed,
            )


PROVIDERS: tuple[type[Any], ...] = (
    OrganizationFromEmailDomain,
    PhoneCountryAndTimeZone,
    AddressTimeZone,
    NameCapitalisation,
)


def default_providers(names: Sequence[str] | None = None) -> list[Provider]:
    """Fresh provider instances (they cache lookups for one run), optionally by name."""
    return [cls() for cls in PROVIDERS if not names or cls.name in names]
