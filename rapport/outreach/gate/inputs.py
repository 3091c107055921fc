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
- Organizations within organizations: one without defaults passes on those of the
  nearest organization above it that has some; one with defaults of its own replaces
  them for its people and those below it.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapport.core.prepared import any_of, fetch_all, fetch_together, id_params
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
    # The consent verdict read with the rest, and for which (purpose, channel).
    consent: Any = None
    consent_for: tuple[str, str] | None = None


def lookback_days(caps: Iterable[Cap], rules: Iterable[Rule]) -> int:
    """How far back attempts matter: the longest cap, attempt limit or silence."""
    longest = 1
    for cap in caps:
        longest = max(longest, cap.period_days)
    for rule in rules:
        longest = max(longest, rule.attempts_period_days or 0, rule.refusal_silence_days or 0)
    return longest


_RULES_TTL = 5.0  # seconds another process may keep using rules an admin just changed
_rules_cache: tuple[float, list[Rule]] | None = None


def active_rules() -> list[Rule]:
    """Every active legal rule (a small table, read whole), kept for a few seconds per
    process; the rule services clear it at once in the process that writes."""
    global _rules_cache
    now = time.monotonic()
    if _rules_cache is not None and now - _rules_cache[0] < _RULES_TTL:
        return _rules_cache[1]
    from rapport.outreach.models import CallingRule

    rules = [Rule.of(row) for row in CallingRule.objects.filter(active=True)]
    _rules_cache = (now, rules)
    return rules


def forget_rules() -> None:
    global _rules_cache
    _rules_cache = None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _moment(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# How far up the organization tree defaults are looked for (the tree has no cycles;
# this only bounds the search).
MAX_TREE_DEPTH = 32

_STATUS = "email, call, sms, messaging, post, in_person"
_PREFS = f"{_STATUS}, do_not_contact, hours, hours_channels, avoid_holidays, note, language"


@lru_cache(maxsize=1)
def _statements() -> dict[str, str]:
    """The reads of a decision as plain SQL: the ORM's query building cost more than
    the queries themselves (docs/benchmarks.md, "The contact gate")."""
    own = ", ".join(f"cp.{c.strip()}" for c in _PREFS.split(","))
    org = ", ".join(f"op.{c.strip()}" for c in _PREFS.split(","))
    return {
        "contacts": (
            # Each current affiliation climbs the organization tree to the nearest
            # organization with defaults (itself first): a subsidiary without defaults
            # of its own follows its parent's, and one with its own follows those.
            "WITH RECURSIVE up(contact_id, start_id, org_id, depth) AS ("
            "SELECT a.contact_id, a.organization_id, a.organization_id, 0 "
            "FROM contacts_affiliation a WHERE a.is_current AND {affiliation_ids} "
            "UNION ALL "
            "SELECT up.contact_id, up.start_id, o.parent_id, up.depth + 1 FROM up "
            "JOIN contacts_organization o ON o.id = up.org_id "
            f"WHERE o.parent_id IS NOT NULL AND up.depth < {MAX_TREE_DEPTH} AND NOT EXISTS ("
            "SELECT 1 FROM outreach_organizationpreferences x WHERE x.organization_id = up.org_id)"
            "), governs AS ("
            "SELECT up.contact_id, up.start_id, up.org_id FROM up "
            "JOIN outreach_organizationpreferences x ON x.organization_id = up.org_id) "
            "SELECT c.id, c.display_name, c.version, r.contact_version, p.zones, "
            "p.zone_source, p.zone_detail, p.country, p.subdivision, cp.contact_id, "
            f"{own}, o.id, o.name, {org}, op.channels_overridable, "
            "op.do_not_contact_overridable, op.hours_overridable, "
            "(SELECT max(f.period_days) FROM outreach_frequencycap f WHERE f.contact_id = c.id), "
            "s.id, s.name "
            "FROM contacts_contact c "
            "LEFT JOIN outreach_contactreach r ON r.contact_id = c.id "
            "LEFT JOIN outreach_reachprofile p ON p.id = r.profile_id "
            "LEFT JOIN outreach_contactpreferences cp ON cp.contact_id = c.id "
            "LEFT JOIN governs g ON g.contact_id = c.id "
            "LEFT JOIN outreach_organizationpreferences op ON op.organization_id = g.org_id "
            "LEFT JOIN contacts_organization o ON o.id = op.organization_id "
            "LEFT JOIN contacts_organization s ON s.id = g.start_id "
            "WHERE {contact_ids} ORDER BY c.id, o.id, s.id"
        ),
        "caps_and_attempts": (
            "SELECT 0, contact_id, channel, purpose, max_count, period_days, NULL, NULL "
            "FROM outreach_frequencycap WHERE {ids} "
            "UNION ALL "
            "SELECT 1, contact_id, channel, purpose, NULL, NULL, outcome, at "
            "FROM outreach_contactattempt WHERE {ids} "
            "AND outcome IN ('attempted', 'sent', 'refused') AND at > {since} AND at <= %s"
        ),
    }


# On PostgreSQL the attempts' reach back (the longest of the legal periods and the
# contact's own caps) is worked out in the statement, so that it needs nothing from the
# first and both go in one round trip.
_SINCE_IN_SQL = (
    "%s::timestamptz - make_interval(days => GREATEST(%s::integer, COALESCE(("
    "SELECT max(f.period_days) FROM outreach_frequencycap f "
    "WHERE f.contact_id = outreach_contactattempt.contact_id), 0)))"
)


def _preferences(row: Sequence[Any], *, name: str = "", org: Sequence[Any] = ()) -> Preferences:
    from rapport.outreach.channels import CHANNELS

    statuses = {c: row[i] for i, c in enumerate(CHANNELS) if row[i]}
    dnc, hours, channels, avoid, note, language = row[6:12]
    return Preferences(
        statuses=statuses,
        do_not_contact=_bool(dnc),
        hours=cached_hours(_json(hours)),
        hours_channels=tuple(_json(channels) or ()),
        avoid_holidays=_bool(avoid),
        note=note or "",
        language=language or "",
        organization_id=org[0] if org else None,
        name=name,
        channels_overridable=bool(org[1]) if org else False,
        do_not_contact_overridable=bool(org[2]) if org else False,
        hours_overridable=bool(org[3]) if org else True,
    )


def gate_inputs_for(
    contact_ids: Sequence[int], *, at: dt.datetime, consent_for: tuple[str, str] | None = None
) -> dict[int, GateInputs]:
    """The inputs of every contact in ``contact_ids`` that exists, in two reads (plus a
    refresh of the locations that lag behind their contact). With ``consent_for``
    (purpose, channel) and one contact, the consent verdict is read with them.

    On PostgreSQL the reads are prepared statements sent in one round trip
    (rapport/core/prepared.py): planning their joins cost more than running them, and
    each round trip about 0.15 ms. On SQLite, in process, they run one after the other."""
    from django.db import connection

    from rapport.outreach.gate.consent import consent_verdict_of, consent_verdict_statement
    from rapport.outreach.services.reach import reach_refresh

    ids = [int(pk) for pk in dict.fromkeys(contact_ids)]
    if not ids:
        return {}
    sql = _statements()
    marks = id_params(ids)
    rules = active_rules()
    adapt = connection.ops.adapt_datetimefield_value
    until = adapt(at)
    reach_back = lookback_days((), rules)
    contacts_read = (
        sql["contacts"].format(
            affiliation_ids=any_of("a.contact_id", len(ids)), contact_ids=any_of("c.id", len(ids))
        ),
        [*marks, *marks],
    )
    by_contact = any_of("contact_id", len(ids))
    consent_read = None
    if consent_for is not None and len(ids) == 1:
        purpose, channel = consent_for
        consent_read = consent_verdict_statement(
            contact_id=ids[0], purpose=purpose, channel=channel
        )
    consent_rows: list[tuple[Any, ...]] = []
    if connection.vendor == "postgresql":
        reads = [
            contacts_read,
            (
                sql["caps_and_attempts"].format(ids=by_contact, since=_SINCE_IN_SQL),
                [*marks, *marks, until, reach_back, until],
            ),
        ]
        if consent_read:
            reads.append(consent_read)
        found = fetch_together(reads)
        contact_rows, rows = found[0], found[1]
        consent_rows = found[2] if consent_read else []
    else:
        contact_rows = fetch_all(*contacts_read)
        longest_cap = max((row[39] or 0 for row in contact_rows), default=0)
        since = adapt(at - dt.timedelta(days=max(reach_back, longest_cap)))
        rows = fetch_all(
            sql["caps_and_attempts"].format(ids=by_contact, since="%s"),
            [*marks, *marks, since, until],
        )
        if consent_read:
            consent_rows = fetch_all(*consent_read)
    names: dict[int, str] = {}
    locations: dict[int, Location] = {}
    own: dict[int, Preferences] = {}
    lagging: list[int] = []
    orgs: dict[int, list[Preferences]] = {}
    caps: dict[int, list[Cap]] = {}
    attempts: dict[int, list[Attempt]] = {}
    for row in contact_rows:
        pk = row[0]
        if pk not in names:
            names[pk] = row[1]
            if row[3] != row[2]:
                lagging.append(pk)
            else:
                locations[pk] = Location(tuple(_json(row[4]) or ()), row[5], row[6], row[7], row[8])
            if row[9] is not None:
                own[pk] = _preferences(row[10:22])
        known = orgs.setdefault(pk, [])
        if row[22] is not None and all(o.organization_id != row[22] for o in known):
            name = row[23] if row[40] == row[22] else f"{row[23]} (for {row[41]})"
            known.append(_preferences(row[24:36], name=name, org=(row[22], *row[36:39])))
    if not names:
        return {}
    for kind, contact_id, channel, purpose, max_count, period_days, outcome, when in rows:
        if kind == 0:
            caps.setdefault(contact_id, []).append(Cap(channel, purpose, max_count, period_days))
        else:
            attempts.setdefault(contact_id, []).append(
                Attempt(channel, purpose, outcome, _moment(when))
            )
    if lagging:
        locations.update(reach_refresh(lagging))
    verdict = None
    if consent_for is not None and len(ids) == 1:
        verdict = consent_verdict_of(
            consent_rows, purpose=consent_for[0], channel=consent_for[1], at=at
        )
    return {
        pk: GateInputs(
            contact_id=pk,
            name=name,
            location=locations[pk],
            own=own.get(pk, NO_PREFERENCES),
            organizations=orgs.get(pk, []),
            caps=caps.get(pk, []),
            rules=rules,
            attempts=attempts.get(pk, []),
            consent=verdict,
            consent_for=consent_for if verdict is not None else None,
        )
        for pk, name in names.items()
    }
