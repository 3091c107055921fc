"""Everything one decision reads, loaded for one contact or a page of them at once, and
how a person's own choices and their organizations' defaults combine ("Who decides").

- A channel: the person's own "refused" always wins. An organization's "refused" is a
  floor: firm (the default), it blocks whatever the person said; overridable, the
  person's own "allowed" or "preferred" lifts it. Otherwise the person's own word, else
  the organization's; nothing said at all means allowed.
- Do not contact: the person's own "do not contact" always wins. An organization's
  do-not-contact ("only through procurement") blocks everyone there; when marked
  overridable, a person explicitly marked "may be contacted" is let through.
- Contact hours and holidays: the person's own hours replace every overridable
  organization default (hours and the holiday choice); a firm organization's hours
  apply on top of theirs (both must allow). The person's own holiday choice likewise
  replaces an overridable organization's.
- Several organizations (current affiliations only): each applies on its own, so the
  least permissive wins.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.db.models import Q

from rapport.outreach.hours import WeeklyHours, hours_from_stored
from rapport.outreach.zones import Location


@lru_cache(maxsize=4096)
def _hours_from_text(text: str) -> WeeklyHours | None:
    return hours_from_stored(json.loads(text))


def cached_hours(value: Any) -> WeeklyHours | None:
    """Stored hours parsed once per distinct value (profiles and rules repeat a lot)."""
    if not value:
        return None
    return _hours_from_text(json.dumps(value, sort_keys=True))


@dataclass(frozen=True)
class Preferences:
    """One person's own preferences, or one organization's defaults (``organization_id``
    and ``name`` set, with its overridable flags)."""

    statuses: dict[str, str] = field(default_factory=dict)
    do_not_contact: bool | None = None
    hours: WeeklyHours | None = None
    hours_channels: tuple[str, ...] = ()
    avoid_holidays: bool | None = None
    note: str = ""
    language: str = ""
    organization_id: int | None = None
    name: str = ""
    channels_overridable: bool = False
    do_not_contact_overridable: bool = False
    hours_overridable: bool = True

    @classmethod
    def of(cls, row: Any, *, name: str = "") -> Preferences:
        from rapport.outreach.channels import CHANNELS

        org_id = getattr(row, "organization_id", None)
        return cls(
            statuses={c: getattr(row, c) for c in CHANNELS if getattr(row, c)},
            do_not_contact=row.do_not_contact,
            hours=cached_hours(row.hours),
            hours_channels=tuple(row.hours_channels or ()),
            avoid_holidays=row.avoid_holidays,
            note=row.note,
            language=row.language,
            organization_id=org_id,
            name=name,
            channels_overridable=getattr(row, "channels_overridable", False),
            do_not_contact_overridable=getattr(row, "do_not_contact_overridable", False),
            hours_overridable=getattr(row, "hours_overridable", True),
        )


NO_PREFERENCES = Preferences()


@dataclass(frozen=True)
class Cap:
    channel: str
    purpose: str
    max_count: int
    period_days: int


@dataclass(frozen=True)
class Rule:
    """A legal calling rule as the gate reads it."""

    id: int
    name: str
    country: str
    subdivision: str
    channels: tuple[str, ...]
    purposes: tuple[str, ...]
    hours: WeeklyHours | None
    no_public_holidays: bool
    max_attempts: int | None
    attempts_period_days: int | None
    refusal_silence_days: int | None
    source: str = ""

    @classmethod
    def of(cls, row: Any) -> Rule:
        return cls(
            id=row.pk,
            name=row.name,
            country=row.country,
            subdivision=row.subdivision,
            channels=tuple(row.channels or ()),
            purposes=tuple(row.purposes or ()),
            hours=cached_hours(row.hours),
            no_public_holidays=row.no_public_holidays,
            max_attempts=row.max_attempts,
            attempts_period_days=row.attempts_period_days,
            refusal_silence_days=row.refusal_silence_days,
            source=row.source,
        )

    def covers(self, channel: str, purpose: str) -> bool:
        return channel in self.channels and (not self.purposes or purpose in self.purposes)

    def applies_at(self, location: Location) -> bool:
        """Whether the rule's place includes the contact: same country, and the same
        subdivision or one not known (then every subdivision's rule applies, to be safe)."""
        if self.country != location.country:
            return False
        return (
            not self.subdivision
            or not location.subdivision
            or (self.subdivision == location.subdivision)
        )

    @property
    def place(self) -> str:
        return f"{self.country}-{self.subdivision}" if self.subdivision else self.country


@dataclass(frozen=True)
class Attempt:
    channel: str
    purpose: str
    outcome: str
    at: dt.datetime


@dataclass
class GateInputs:
    """What one contact's decision reads."""

    contact_id: int
    name: str
    location: Location
    own: Preferences
    organizations: list[Preferences]
    caps: list[Cap]
    rules: list[Rule]
    attempts: list[Attempt]


def lookback_days(caps: Iterable[Cap], rules: Iterable[Rule]) -> int:
    """How far back attempts matter: the longest cap, attempt limit or silence."""
    longest = 1
    for cap in caps:
        longest = max(longest, cap.period_days)
    for rule in rules:
        longest = max(longest, rule.attempts_period_days or 0, rule.refusal_silence_days or 0)
    return longest


def active_rules() -> list[Rule]:
    """Every active legal rule (a small table, read whole)."""
    from rapport.outreach.models import CallingRule

    return [Rule.of(row) for row in CallingRule.objects.filter(active=True)]


def gate_inputs_for(contact_ids: Sequence[int], *, at: dt.datetime) -> dict[int, GateInputs]:
    """The inputs of every contact in ``contact_ids`` that exists, in five queries (plus a
    refresh of locations that lag behind their contact)."""
    from rapport.contacts.models import Affiliation, Contact
    from rapport.outreach.models import (
        ContactAttempt,
        ContactPreferences,
        FrequencyCap,
        OrganizationPreferences,
    )
    from rapport.outreach.services.reach import reach_locations

    ids = list(dict.fromkeys(contact_ids))
    if not ids:
        return {}
    names = dict(Contact.objects.filter(pk__in=ids).values_list("id", "display_name"))
    if not names:
        return {}
    locations = reach_locations(list(names))
    own = {
        row.contact_id: Preferences.of(row)
        for row in ContactPreferences.objects.filter(contact_id__in=list(names))
    }
    orgs: dict[int, list[Preferences]] = {}
    org_links = list(
        Affiliation.objects.filter(contact_id__in=list(names), is_current=True)
        .filter(Q(organization__outreach_defaults__isnull=False))
        .values_list("contact_id", "organization_id")
        .distinct()
    )
    if org_links:
        defaults = {
            row.organization_id: Preferences.of(row, name=row.organization.name)
            for row in OrganizationPreferences.objects.filter(
                organization_id__in={org for _, org in org_links}
            ).select_related("organization")
        }
        for contact_id, org_id in org_links:
            if org_id in defaults:
                orgs.setdefault(contact_id, []).append(defaults[org_id])
    caps: dict[int, list[Cap]] = {}
    for row in FrequencyCap.objects.filter(contact_id__in=list(names)):
        caps.setdefault(row.contact_id, []).append(
            Cap(row.channel, row.purpose, row.max_count, row.period_days)
        )
    rules = active_rules()
    since = at - dt.timedelta(days=lookback_days([c for cs in caps.values() for c in cs], rules))
    attempts: dict[int, list[Attempt]] = {}
    for contact_id, channel, purpose, outcome, when in ContactAttempt.objects.filter(
        contact_id__in=list(names),
        outcome__in=ContactAttempt.COUNTED,
        at__gt=since,
        at__lte=at,
    ).values_list("contact_id", "channel", "purpose", "outcome", "at"):
        attempts.setdefault(contact_id, []).append(Attempt(channel, purpose, outcome, when))
    return {
        pk: GateInputs(
            contact_id=pk,
            name=name,
            location=locations[pk],
            own=own.get(pk, NO_PREFERENCES),
            organizations=sorted(orgs.get(pk, []), key=lambda p: p.organization_id or 0),
            caps=caps.get(pk, []),
            rules=rules,
            attempts=attempts.get(pk, []),
        )
        for pk, name in names.items()
    }
