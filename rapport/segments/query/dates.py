"""Dates in queries: absolute (``2024-05-01``, ``2024-05``, ``2024``), calendar periods
(``today``, ``this_week``, ``last_month``, ``this_quarter``…) and rolling durations
(``90d``, ``6w``, ``3m``, ``1y``), read in the workspace's time zone (``TIME_ZONE``).

- A date or a period is a span of time: ``created:2024-05`` is within May 2024,
  ``created:>2024-05`` after it (from June), ``>=`` from its start, ``<`` before its
  start, ``<=`` up to its end, ``!=`` outside it.
- A duration is an age, counted back from now: ``last_contacted:>90d`` is more than 90
  days ago, ``last_contacted:<90d`` (or ``:90d``) within the last 90 days; ``>=`` and
  ``<=`` include the bound. Months and years are calendar months and years back from
  now (``3m`` on 31 May reaches back to 28 or 29 February).
- ISO weeks start on Monday; quarters are January–March, April–June…
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

_DURATION = re.compile(r"^([0-9]{1,5})([dwmy])$")
_DATE = re.compile(r"^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?$")
PERIODS = (
    "today", "yesterday", "tomorrow", "this_week", "last_week", "next_week", "this_month",
    "last_month", "next_month", "this_quarter", "last_quarter", "this_year", "last_year",
)  # fmt: skip
_UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years"}


class DateValueError(ValueError):
    pass


@dataclass(frozen=True)
class Span:
    """[start, end) in the workspace's zone, or an age (``age`` True: a duration)."""

    start: dt.datetime
    end: dt.datetime
    age: bool = False


def _midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


def span(value: str, now: dt.datetime, zone: ZoneInfo) -> Span:
    """The span ``value`` names; DateValueError says why it names none."""
    text = value.strip().lower()
    found = _DURATION.match(text)
    if found:
        amount, unit = int(found.group(1)), found.group(2)
        limit = {"d": 73_000, "w": 10_400, "m": 2_400, "y": 200}[unit]
        if amount > limit:
            raise DateValueError(f"“{value}” reaches back too far (at most 200 years).")
        try:
            back = now - relativedelta(**{_UNITS[unit]: amount})  # type: ignore[arg-type]
        except (ValueError, OverflowError):
            raise DateValueError(f"“{value}” reaches back too far.") from None
        return Span(back, now, age=True)
    found = _DATE.match(text)
    if found:
        year, month, day = found.group(1), found.group(2), found.group(3)
        try:
            if day:
                first = dt.date(int(year), int(month), int(day))
                return Span(_midnight(first, zone), _midnight(first + dt.timedelta(days=1), zone))
            if month:
                first = dt.date(int(year), int(month), 1)
                return Span(
                    _midnight(first, zone), _midnight(first + relativedelta(months=1), zone)
                )
            first = dt.date(int(year), 1, 1)
            return Span(_midnight(first, zone), _midnight(dt.date(int(year) + 1, 1, 1), zone))
        except ValueError:
            raise DateValueError(f"“{value}” is not a date.") from None
        except OverflowError:
            raise DateValueError(f"“{value}” is beyond the dates that can be compared.") from None
    if text in PERIODS:
        return _period(text, now.astimezone(zone).date(), zone)
    raise DateValueError(
        f"“{value}” is not a date (2024-05-01, 2024-05, 2024), a period (today, this_month, "
        "last_quarter…) or a duration (90d, 6w, 3m, 1y)."
    )


def _period(name: str, today: dt.date, zone: ZoneInfo) -> Span:
    def days(first: dt.date, last_exclusive: dt.date) -> Span:
        return Span(_midnight(first, zone), _midnight(last_exclusive, zone))

    one = dt.timedelta(days=1)
    if name in ("today", "yesterday", "tomorrow"):
        day = today + {"today": 0, "yesterday": -1, "tomorrow": 1}[name] * one
        return days(day, day + one)
    if name.endswith("_week"):
        monday = today - dt.timedelta(days=today.weekday())
        monday += {"this": 0, "last": -7, "next": 7}[name.split("_")[0]] * one
        return days(monday, monday + 7 * one)
    if name.endswith("_month"):
        first = today.replace(day=1) + relativedelta(
            months={"this": 0, "last": -1, "next": 1}[name.split("_")[0]]
        )
        return days(first, first + relativedelta(months=1))
    if name.endswith("_quarter"):
        first = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        if name.startswith("last"):
            first -= relativedelta(months=3)
        return days(first, first + relativedelta(months=3))
    first = dt.date(today.year - (1 if name.startswith("last") else 0), 1, 1)
    return days(first, first.replace(year=first.year + 1))
