"""Time-based rules and the search for the next instant they all allow.

A time rule is checked on the wall clock of every zone the contact may be in (a
contact with several candidate zones passes only at times safe in all of them). The
allowed times of a rule are a union of spans; the next allowed instant of several
rules together is found among the instants where one of them can start allowing:
the wall clock reaching a window's start (the first valid instant after a
spring-forward gap when the start falls in it; both passes when it falls in a repeated
fall-back hour), a local midnight (the end of a holiday) and every DST transition (a
clock set back can land inside a window). Each candidate is checked against every rule
in order; the first that passes is the answer, so nothing is counted twice and no
window is skipped.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

from rapport.outreach.gate.calendars import holiday_name
from rapport.outreach.hours import MINUTES_PER_DAY, WeeklyHours

UTC = dt.UTC
SEARCH_DAYS = 400  # far enough past a year of holidays and DST seasons


def wall_instants(day: dt.date, minute: int, zone: ZoneInfo) -> tuple[dt.datetime, ...]:
    """The instants (UTC) at which the wall clock in ``zone`` reaches ``minute`` past
    midnight on ``day``: one normally, two in a repeated fall-back hour, and in a
    spring-forward gap the instant the clock jumps past it (the first valid instant)."""
    return _wall_instants(day, minute, zone)


@lru_cache(maxsize=65536)
def _wall_instants(day: dt.date, minute: int, zone: ZoneInfo) -> tuple[dt.datetime, ...]:
    if minute >= MINUTES_PER_DAY:
        day, minute = day + dt.timedelta(days=1), minute - MINUTES_PER_DAY
    naive = dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60)
    found: list[dt.datetime] = []
    for fold in (0, 1):
        moment = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if moment.astimezone(zone).replace(tzinfo=None) == naive and moment not in found:
            found.append(moment)
    if found:
        return tuple(sorted(found))
    # In a gap: the clock jumps from before ``naive`` to after it at the transition.
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    low, high = min(low, high), max(low, high)
    while (high - low).total_seconds() > 1:
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(zone).replace(tzinfo=None) > naive:
            high = middle
        else:
            low = middle
    return (high,)


@lru_cache(maxsize=16384)
def transitions_on(day: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, ...]:
    """The DST (or other offset) transitions in ``zone`` during the local ``day``."""
    start = wall_instants(day, 0, zone)[0]
    end = wall_instants(day + dt.timedelta(days=1), 0, zone)[0]
    if start.astimezone(zone).utcoffset() == end.astimezone(zone).utcoffset():
        return ()
    low, high = start, end
    before = low.astimezone(zone).utcoffset()
    while (high - low).total_seconds() > 1:
        middle = (low + (high - low) / 2).replace(microsecond=0)
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return (high,)


@dataclass(frozen=True)
class TimeRule:
    """One time-based rule: a step of the gate ("contact_hours", "legal_hours",
    "holiday"), where it comes from (``origin``: "own", "org:12", "rule:3"), words for
    people (``label``), and either weekly ``hours`` or a holiday calendar
    (``holidays_of``: country, subdivision)."""

    step: str
    origin: str
    label: str
    hours: WeeklyHours | None = None
    holidays_of: tuple[str, str] | None = None
    order: int = field(default=0, compare=False)

    @cached_property
    def _hash(self) -> int:
        return hash((self.step, self.origin, self.label, self.hours, self.holidays_of))

    def __hash__(self) -> int:
        return self._hash

    def allows(self, moment: dt.datetime, zones: Sequence[ZoneInfo]) -> bool:
        if not zones:
            return False
        for zone in zones:
            local = moment.astimezone(zone)
            if self.hours is not None and not self.hours.contains(
                local.weekday(), local.hour * 60 + local.minute
            ):
                return False
            if self.holidays_of is not None and holiday_name(
                self.holidays_of[0], self.holidays_of[1], local.date()
            ):
                return False
        return True

    def openings(self, day: dt.date) -> tuple[int, ...]:
        """Wall-clock minutes on local ``day`` at which this rule can start allowing."""
        if self.hours is not None:
            return self.hours.starts(day.weekday())
        return (0,)

    def holiday_on(self, moment: dt.datetime, zones: Sequence[ZoneInfo]) -> str | None:
        if self.holidays_of is None:
            return None
        for zone in zones:
            name = holiday_name(*self.holidays_of, moment.astimezone(zone).date())
            if name:
                return name
        return None


def all_allow(rules: Sequence[TimeRule], moment: dt.datetime, zones: Sequence[ZoneInfo]) -> bool:
    """Whether every rule allows ``moment`` in every zone (the wall clock read once per
    zone, not once per rule)."""
    if not rules:
        return True
    if not zones:
        return False
    for zone in zones:
        local = moment.astimezone(zone)
        weekday, minute, day = local.weekday(), local.hour * 60 + local.minute, None
        for rule in rules:
            if rule.hours is not None and not rule.hours.contains(weekday, minute):
                return False
            if rule.holidays_of is not None:
                day = day or local.date()
                if holiday_name(rule.holidays_of[0], rule.holidays_of[1], day):
                    return False
    return True


def next_allowed(
    rules: Sequence[TimeRule],
    zones: Sequence[ZoneInfo],
    after: dt.datetime,
    *,
    days: int = SEARCH_DAYS,
) -> dt.datetime | None:
    """The first instant at or after ``after`` that every rule allows in every zone, or
    None when there is none within ``days`` (or no zone is known).

    Walks local days in order, adding each day's candidates (in every zone) to a heap;
    a candidate is tested once every instant before it has been added: before the start
    of the next local day in every zone.
    """
    if not rules:
        return after
    if not zones:
        return None
    if all_allow(rules, after, zones):
        return after
    openings = _openings(tuple(rules))
    first_day = min(after.astimezone(zone).date() for zone in zones) - dt.timedelta(days=1)
    pending: list[dt.datetime] = []
    seen: set[dt.datetime] = set()
    for offset in range(days + 2):
        day = first_day + dt.timedelta(days=offset)
        minutes = openings[day.weekday()]
        for zone in zones:
            for minute in minutes:
                for moment in _wall_instants(day, minute, zone):
                    if moment > after and moment not in seen:
                        seen.add(moment)
                        heapq.heappush(pending, moment)
            for moment in transitions_on(day, zone):
                if moment > after and moment not in seen:
                    seen.add(moment)
                    heapq.heappush(pending, moment)
        following = day + dt.timedelta(days=1)
        horizon = min(_wall_instants(following, 0, zone)[0] for zone in zones)
        while pending and pending[0] < horizon:
            moment = heapq.heappop(pending)
            if all_allow(rules, moment, zones):
                return moment
    return None


@lru_cache(maxsize=1024)
def _openings(rules: tuple[TimeRule, ...]) -> tuple[tuple[int, ...], ...]:
    """Per weekday, the wall-clock minutes at which one of the rules can start allowing."""
    by_day: list[set[int]] = [set() for _ in range(7)]
    for rule in rules:
        for weekday in range(7):
            if rule.hours is not None:
                by_day[weekday].update(rule.hours.starts(weekday))
            else:
                by_day[weekday].add(0)
    return tuple(tuple(sorted(minutes)) for minutes in by_day)


def zones_of(names: Iterable[str]) -> tuple[ZoneInfo, ...]:
    return _zones(tuple(names))


@lru_cache(maxsize=4096)
def _zones(names: tuple[str, ...]) -> tuple[ZoneInfo, ...]:
    return tuple(ZoneInfo(name) for name in names)
