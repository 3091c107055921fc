"""Public holidays per country and subdivision, from the ``holidays`` package.

Calendars are built once per (country, subdivision, year) and kept for the life of the
process: they are data shipped with the package and never change while it runs.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache


@lru_cache(maxsize=2048)
def _calendar(country: str, subdivision: str, year: int) -> dict[dt.date, str] | None:
    import holidays

    try:
        found = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    except NotImplementedError:
        return None  # no calendar for this country
    except (KeyError, ValueError):
        if not subdivision:
            return None
        return _calendar(country, "", year)  # a subdivision the package does not know
    return {day: str(name) for day, name in found.items()}


def calendar_known(country: str) -> bool:
    return bool(country) and _calendar(country, "", 2000) is not None


def holiday_name(country: str, subdivision: str, day: dt.date) -> str | None:
    """The name of the public holiday on ``day`` there, or None."""
    if not country:
        return None
    calendar = _calendar(country, subdivision, day.year)
    return calendar.get(day) if calendar else None
