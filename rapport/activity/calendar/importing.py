"""Importing a calendar file: the one service behind the upload page, the API, the
``rapport calendar import`` command and subscribed calendars."""

from __future__ import annotations

import datetime as dt
from typing import IO, Any

from django.conf import settings

from rapport.activity.calendar.parse import calendar_parse
from rapport.activity.calendar.store import ImportReport, series_store
from rapport.activity.services.participants import Directory
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.env import env_int


def max_bytes() -> int:
    """The largest calendar file read: ``RAPPORT_CALENDAR_MAX_BYTES`` (5 MB). A year of
    a busy person's calendar is well under 1 MB."""
    value = getattr(settings, "RAPPORT_CALENDAR_MAX_BYTES", None)
    if value is None:
        value = env_int("RAPPORT_CALENDAR_MAX_BYTES", 5 * 1024 * 1024)
    return int(value)


def size_text(size: int) -> str:
    """A size as people read it: 5 MB, 12 KB, 900 bytes."""
    if size >= 1_048_576:
        return f"{size / 1_048_576:.3g} MB"
    if size >= 1024:
        return f"{size / 1024:.3g} KB"
    return f"{size} bytes"


def too_large(size: int) -> InvalidInput:
    return InvalidInput.single(
        "file",
        f"The file is {size_text(size)}; calendar files of at most {size_text(max_bytes())} "
        "are read (RAPPORT_CALENDAR_MAX_BYTES).",
    )


def read_limited(stream: IO[bytes], *, size: int | None = None) -> bytes:
    """The bytes of an uploaded or opened file, refusing (InvalidInput on ``file``) one
    above the limit without reading more than the limit."""
    limit = max_bytes()
    if size is not None and size > limit:
        raise too_large(size)
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise too_large(size or len(data))
    return data


def calendar_import(
    *,
    actor: Any,
    data: bytes,
    file_name: str = "",
    now: dt.datetime | None = None,
) -> ImportReport:
    """Store the events of an iCalendar file as meetings authored by ``actor``.

    Each event (each occurrence of a recurring one within the window) is created,
    updated or left unchanged by its UID and RECURRENCE-ID; a bad event is counted as
    failed with its reason and the others still land. Importing the same file again is
    safe. Raises NotPermitted without ``calendars.import``, InvalidInput (field ``file``)
    for a file that is too large or no iCalendar at all.
    """
    policy.require(actor, "calendars.import")
    if len(data) > max_bytes():
        raise too_large(len(data))
    if not data.strip():
        raise InvalidInput.single("file", "The file is empty.")
    parsed = calendar_parse(data, user=actor, now=now)
    report = ImportReport(file_name=file_name)
    for problem in parsed.problems:
        report.problem(problem)
    directory = Directory()
    for series in parsed.series:
        report.add(series_store(series, actor=actor, directory=directory, window=parsed.window))
    return report
