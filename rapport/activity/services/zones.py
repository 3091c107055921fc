"""Each user's own time zone: when their day starts, when 09:00 is, how a moment reads."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import lru_cache
from typing import Any

from django.conf import settings


@lru_cache(maxsize=256)
def zone_named(name: str) -> zoneinfo.ZoneInfo | None:
    """The IANA zone called ``name``, or None when there is no such zone."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def server_zone() -> zoneinfo.ZoneInfo:
    return zone_named(str(settings.TIME_ZONE)) or zoneinfo.ZoneInfo("UTC")


def user_zone(user: Any) -> zoneinfo.ZoneInfo:
    """The zone a user chose (``User.time_zone``), else the server's (``TIME_ZONE``)."""
    name = str(getattr(user, "time_zone", "") or "") if user is not None else ""
    return zone_named(name) or server_zone()


def day_start(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """Midnight at the start of ``day`` in ``zone`` (as an aware moment)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone)


def at_local(day: dt.date, clock: dt.time, zone: dt.tzinfo) -> dt.datetime:
    """``clock`` on ``day`` in ``zone``; a wall time skipped by a DST change moves on
    by the gap (02:30 on a spring-forward night is 03:30), as calendars do."""
    naive = dt.datetime.combine(day, clock)
    moment = naive.replace(tzinfo=zone)
    # A round trip through UTC shows a time that does not exist locally.
    back = moment.astimezone(dt.UTC).astimezone(zone)
    return back if back.replace(tzinfo=None) != naive else moment


def local_text(moment: dt.datetime, zone: dt.tzinfo) -> str:
    """A moment as its reader in ``zone`` reads it: "Tue 10 Mar 2026, 09:00 CET"."""
    local = moment.astimezone(zone)
    return f"{local:%a %d %b %Y, %H:%M} {local.tzname() or ''}".strip()
