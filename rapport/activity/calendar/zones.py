"""Which time zone an iCalendar time is in.

A ``TZID`` names an Olson zone (``Europe/Berlin``), a Windows zone as Outlook writes it
(``W. Europe Standard Time``), a "globally unique" ``/vendor/Olson/Name``, or a zone
the file itself defines in a ``VTIMEZONE``. Known names win over the file's definition
(the zone database knows the history; Outlook's definitions only hold today's rule).
Times without a zone ("floating") and all-day dates are read in the calendar's own zone
(``X-WR-TIMEZONE``), else the importing user's, else the server's.

icalendar remembers every ``VTIMEZONE`` it has parsed in a process-wide cache, first
definition wins; so every time with a ``TZID`` is pinned again here to the zone this
file means, and one user's calendar never changes how another's is read.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

# Properties holding times that belong to an event (RRULE's UNTIL follows DTSTART).
TIMED = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")


class UnknownZone(ValueError):
    """A TZID that is neither a known zone nor defined in the file."""


def olson(name: str) -> dt.tzinfo | None:
    """The zone database's zone for an Olson or Windows name, or None."""
    cleaned = (name or "").strip().strip('"').strip("/")
    candidates = [cleaned]
    if cleaned in WINDOWS_TO_OLSON:
        candidates.append(WINDOWS_TO_OLSON[cleaned])
    if name.strip().startswith("/"):
        parts = cleaned.split("/")
        candidates += ["/".join(parts[i:]) for i in range(1, len(parts))]
    for candidate in candidates:
        if not candidate or ".." in candidate or candidate.startswith("/"):
            continue
        try:
            return zoneinfo.ZoneInfo(candidate)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            continue
    return None


def user_zone(user: Any) -> dt.tzinfo:
    """The user's own zone (``User.time_zone``), else the server's ``TIME_ZONE``."""
    for name in (getattr(user, "time_zone", "") or "", settings.TIME_ZONE):
        zone = olson(name) if name else None
        if zone is not None:
            return zone
    return dt.UTC


class Zones:
    """The zones one file's times are read in."""

    def __init__(self, definitions: Iterable[Any], *, floating: dt.tzinfo) -> None:
        self.floating = floating
        self._own: dict[str, Any] = {}
        self._built: dict[str, dt.tzinfo] = {}
        for component in definitions:
            tzid = str(component.get("TZID", "")).strip()
            if tzid:
                self._own.setdefault(tzid, component)

    def named(self, tzid: str) -> dt.tzinfo:
        tzid = str(tzid).strip()
        if tzid in self._built:
            return self._built[tzid]
        zone = olson(tzid)
        if zone is None and tzid in self._own:
            try:
                zone = self._own[tzid].to_tz(lookup_tzid=False)
            except Exception as exc:  # noqa: BLE001 (a broken definition is the file's fault)
                raise UnknownZone(
                    f"the file's definition of time zone “{tzid}” is broken: {exc}"
                ) from None
        if zone is None:
            raise UnknownZone(
                f"unknown time zone “{tzid}”: it is no zone name Rapport knows and the file "
                "has no VTIMEZONE for it"
            )
        self._built[tzid] = zone
        return zone

    def pin(self, value: Any, params: Any) -> Any:
        """The date or aware time ``value`` means (a date stays a date)."""
        if isinstance(value, tuple):  # a PERIOD in RDATE: (start, end or duration)
            return tuple(self.pin(part, params) for part in value)
        if not isinstance(value, dt.datetime):
            return value
        tzid = params.get("TZID") if params is not None else None
        if tzid:
            return value.replace(tzinfo=None).replace(tzinfo=self.named(str(tzid)))
        if value.tzinfo is None:
            return value.replace(tzinfo=self.floating)
        return value

    def pin_component(self, component: Any) -> None:
        """Pin every time of an event in place (raises UnknownZone)."""
        for name in TIMED:
            if name not in component:
                continue
            values = component[name]
            for prop in values if isinstance(values, list) else [values]:
                if hasattr(prop, "dts"):  # EXDATE, RDATE: a list of values on one line
                    for item in prop.dts:
                        item.dt = self.pin(item.dt, prop.params)
                elif hasattr(prop, "dt"):
                    prop.dt = self.pin(prop.dt, prop.params)


def midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The start of ``day`` in ``zone`` (an all-day event's stored start)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone)
