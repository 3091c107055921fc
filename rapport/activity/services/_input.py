"""Reading the input of the activity services: moments with a time zone."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from rapport.core.errors import FieldError

EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def moment_in(value: Any, path: str, errors: list[FieldError]) -> dt.datetime | None:
    """A moment from a datetime or ISO 8601 text that says its time zone, in UTC
    (PostgreSQL takes no offset beyond ±15:59); None for nothing given, or with a
    problem added to ``errors`` naming ``path``."""
    if value in (None, ""):
        return None
    moment: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            moment = None
    if moment is None:
        errors.append(FieldError(path, "Give a date and time such as 2026-03-01T14:30:00+01:00."))
        return None
    if timezone.is_naive(moment):
        errors.append(FieldError(path, "Say which time zone: add an offset such as +01:00 or Z."))
        return None
    if not EARLIEST <= moment <= LATEST:
        errors.append(FieldError(path, "This date is out of range."))
        return None
    return moment.astimezone(dt.UTC)
