"""Reading an iCalendar file into meetings: one ``Occurrence`` per event, or per
occurrence of a recurring event within the window.

Events are read one UID at a time (a series: the main event with its moved and
cancelled occurrences), each on its own: a series that cannot be read is reported with
its UID and the reason, and the others still land.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
from dataclasses import dataclass, field
from typing import Any

import icalendar
import recurring_ical_events
from django.conf import settings

from rapport.activity.calendar.zones import UnknownZone, Zones, midnight, olson, user_zone
from rapport.activity.services.interaction_input import MAX_BODY, MAX_SUBJECT, is_two_way
from rapport.activity.services.participants import (
    MAX_PARTICIPANTS,
    ParticipantDraft,
    email_key_of,
)
from rapport.core.errors import InvalidInput
from rapport.env import env_int

# Occurrences kept of one recurring event within the window: a daily meeting over the
# default two years fits; a rule that fires every minute does not flood the timeline.
MAX_OCCURRENCES = 1000
MAX_LOCATION = 300
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
# Properties whose being unreadable makes the event unreadable.
_ESSENTIAL = {"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "UID"}


def window_days() -> tuple[int, int]:
    """Days before and after today in which recurring events are expanded:
    ``RAPPORT_CALENDAR_PAST_DAYS`` and ``RAPPORT_CALENDAR_FUTURE_DAYS`` (365 each)."""
    past = getattr(settings, "RAPPORT_CALENDAR_PAST_DAYS", None)
    future = getattr(settings, "RAPPORT_CALENDAR_FUTURE_DAYS", None)
    if past is None:
        past = env_int("RAPPORT_CALENDAR_PAST_DAYS", 365)
    if future is None:
        future = env_int("RAPPORT_CALENDAR_FUTURE_DAYS", 365)
    return max(0, int(past)), max(0, int(future))


@dataclass
class Problem:
    """Something wrong with one event: an ``error`` (the event, or that occurrence, was
    not stored) or a ``warning`` (it was stored; this part was left out or guessed)."""

    uid: str
    reason: str
    severity: str = "error"
    summary: str = ""
    occurrence: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "uid": self.uid,
            "summary": self.summary,
            "occurrence": self.occurrence,
            "severity": self.severity,
            "reason": self.reason,
        }

    def __str__(self) -> str:
        where = f"UID {self.uid}" + (f" ({self.summary})" if self.summary else "")
        if self.occurrence:
            where += f", occurrence {self.occurrence}"
        return f"{self.severity}: {where}: {self.reason}"


@dataclass
class Occurrence:
    """One meeting ready to store under ``key`` (the interaction's external key)."""

    key: str
    fields: dict[str, Any]
    participants: list[ParticipantDraft]
    label: str


@dataclass
class Series:
    """The events of one UID: its occurrences within the window, what went wrong, and
    the key prefix its stored meetings share."""

    uid: str
    summary: str
    prefix: str
    recurring: bool
    occurrences: list[Occurrence] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    failed: bool = False


@dataclass
class ParsedCalendar:
    series: list[Series]
    problems: list[Problem]
    window: tuple[dt.datetime, dt.datetime]


def _clean(value: Any, limit: int) -> str:
    text = str(value or "").replace("\x00", "").replace("\r\n", "\n").strip()
    return text[:limit]


def uid_prefix(uid: str) -> str:
    """``ical:<UID>|``; a UID too long for the key column is kept as its SHA-256."""
    part = uid if len(uid) <= 300 else "sha256:" + hashlib.sha256(uid.encode()).hexdigest()
    return f"ical:{part}|"


def recurrence_text(value: dt.date | dt.datetime) -> str:
    """A RECURRENCE-ID as the key shows it: UTC ISO for a time, ISO for a date."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def _decode(data: bytes, problems: list[Problem]) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        problems.append(
            Problem("", "The file is not UTF-8; it was read as Windows-1252.", "warning")
        )
        return data.decode("cp1252", errors="replace")


def _address(value: Any) -> str:
    text = str(value or "").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.strip()


def _participants(event: Any, uid: str, summary: str, problems: list[Problem]) -> list[Any]:
    drafts: list[ParticipantDraft] = []
    organizer_key = ""
    organizer = event.get("ORGANIZER")
    if organizer is not None:
        address = _address(organizer)
        key = email_key_of(address)
        name = _clean(organizer.params.get("CN", ""), 300) if hasattr(organizer, "params") else ""
        if key or name:
            organizer_key = key
            drafts.append(
                ParticipantDraft(
                    role="organizer", name=name, address=address if key else "", address_key=key
                )
            )
    attendees = event.get("ATTENDEE") or []
    if not isinstance(attendees, list):
        attendees = [attendees]
    seen = {organizer_key} if organizer_key else set()
    for attendee in attendees:
        params = getattr(attendee, "params", {})
        if str(params.get("CUTYPE", "")).upper() in ("RESOURCE", "ROOM"):
            continue  # a room or a projector, not a person
        if str(params.get("PARTSTAT", "")).upper() == "DECLINED":
            continue  # invited, but did not take part
        address = _address(attendee)
        key = email_key_of(address)
        name = _clean(params.get("CN", ""), 300)
        if key in seen and key:
            continue
        if not key and not name:
            continue
        seen.add(key)
        drafts.append(
            ParticipantDraft(
                role="attendee", name=name, address=address if key else "", address_key=key
            )
        )
    if len(drafts) > MAX_PARTICIPANTS:
        problems.append(
            Problem(
                uid,
                f"{len(drafts)} participants; only the first {MAX_PARTICIPANTS} were kept.",
                "warning",
                summary,
            )
        )
        drafts = drafts[:MAX_PARTICIPANTS]
    return drafts


def _moment(value: Any, zone: dt.tzinfo) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return midnight(value, zone)


def _end_of(component: Any) -> Any:
    if "DTEND" in component:
        return component["DTEND"].dt
    if "DURATION" in component:
        duration = component["DURATION"].dt
        start = component["DTSTART"].dt
        if isinstance(duration, dt.timedelta):
            return start + duration
    if not isinstance(component["DTSTART"].dt, dt.datetime):
        return component["DTSTART"].dt + dt.timedelta(days=1)  # an all-day event: one day
    return None


def _check_times(component: Any, label: str) -> str:
    """What is wrong with a component's start and end, or ""."""
    if "DTSTART" not in component:
        return "it has no start (DTSTART)"
    start = component["DTSTART"].dt
    end = _end_of(component)
    if end is None:
        return ""
    if isinstance(start, dt.datetime) != isinstance(end, dt.datetime):
        return "its start and end mix a date with a date and time"
    if end < start:
        return f"it ends ({end.isoformat()}) before it starts ({start.isoformat()}){label}"
    return ""


class EventProblem(ValueError):
    """What makes an event unreadable, in words (the message is the reason shown)."""


class _Reader:
    """Reads the series of one file."""

    def __init__(self, zones: Zones, day_zone: dt.tzinfo, window: tuple[Any, Any]) -> None:
        self.zones = zones
        self.day_zone = day_zone
        self.window = window

    def series(self, uid: str, components: list[Any], synthetic: bool) -> Series:
        master = next((c for c in components if "RECURRENCE-ID" not in c), components[0])
        summary = _clean(master.get("SUMMARY", ""), 200)
        recurring = any("RRULE" in c or "RDATE" in c or "RECURRENCE-ID" in c for c in components)
        series = Series(uid, summary, uid_prefix(uid), recurring)
        if synthetic:
            series.problems.append(
                Problem(
                    uid,
                    "The event has no UID; it is known by its start and summary, so a "
                    "changed start or summary stores it again.",
                    "warning",
                    summary,
                )
            )
        try:
            self._read(series, components, master)
        except (UnknownZone, EventProblem) as exc:
            self._fail(series, str(exc))
        except Exception as exc:  # noqa: BLE001 (one bad event never stops the others)
            self._fail(series, f"it cannot be read: {exc}")
        return series

    def _fail(self, series: Series, reason: str) -> None:
        series.failed = True
        series.occurrences = []
        series.problems.append(Problem(series.uid, reason[:1000], "error", series.summary))

    def _read(self, series: Series, components: list[Any], master: Any) -> None:
        for component in components:
            broken = [
                f"{name or 'a line'}: {message}"
                for name, message in getattr(component, "errors", [])
                if name is None or name in _ESSENTIAL
            ]
            if broken:
                raise EventProblem("it cannot be read: " + "; ".join(broken))
        for component in components:
            self.zones.pin_component(component)
        for component in components:
            rid = component.get("RECURRENCE-ID")
            label = f" (occurrence {recurrence_text(rid.dt)})" if rid is not None else ""
            wrong = _check_times(component, label)
            if wrong:
                if component is master:
                    raise EventProblem(wrong)
                series.problems.append(
                    Problem(series.uid, wrong, "error", series.summary, recurrence_text(rid.dt))
                )
                components = [c for c in components if c is not component]
        if not series.recurring:
            self._add(series, master, None)
            return
        # a RANGE=THISANDFUTURE override moves every later occurrence by the same
        # amount, and each of them carries the override's RECURRENCE-ID: their own one
        # is their start less that shift
        shifts: dict[Any, dt.timedelta] = {}
        for component in components:
            rid = component.get("RECURRENCE-ID")
            if rid is not None and str(rid.params.get("RANGE", "")).upper() == "THISANDFUTURE":
                shifts[rid.dt] = component["DTSTART"].dt - rid.dt
        calendar = icalendar.Calendar()
        for component in components:
            calendar.add_component(component)
        start, stop = self.window
        query = recurring_ical_events.of(calendar)
        occurrences = itertools.islice(query.after(start), MAX_OCCURRENCES + 1)
        for count, occurrence in enumerate(occurrences, start=1):
            begin = _moment(occurrence["DTSTART"].dt, self.day_zone)
            if begin >= stop:
                break
            if count > MAX_OCCURRENCES:
                series.problems.append(
                    Problem(
                        series.uid,
                        f"more than {MAX_OCCURRENCES:,} occurrences in the window; the "
                        "later ones were left out",
                        "warning",
                        series.summary,
                    )
                )
                break
            rid = occurrence.get("RECURRENCE-ID")
            original = rid.dt if rid is not None else occurrence["DTSTART"].dt
            if rid is not None and rid.dt in shifts:
                original = occurrence["DTSTART"].dt - shifts[rid.dt]
            self._add(series, occurrence, original)

    def _add(self, series: Series, event: Any, original: Any) -> None:
        start_value = event["DTSTART"].dt
        end_value = _end_of(event)
        all_day = not isinstance(start_value, dt.datetime)
        start = _moment(start_value, self.day_zone)
        end = _moment(end_value, self.day_zone) if end_value is not None else None
        label = recurrence_text(original) if original is not None else ""
        if not EARLIEST <= start <= LATEST or (end is not None and not EARLIEST <= end <= LATEST):
            series.problems.append(
                Problem(series.uid, "its date is out of range", "error", series.summary, label)
            )
            return
        if end is not None and end < start:
            series.problems.append(
                Problem(series.uid, "it ends before it starts", "error", series.summary, label)
            )
            return
        status = str(event.get("STATUS", "")).upper()
        fields: dict[str, Any] = {
            "kind": "meeting",
            "direction": "internal",
            "occurred_at": start.astimezone(dt.UTC),
            "ends_at": end.astimezone(dt.UTC) if end is not None else None,
            "all_day": all_day,
            "subject": _clean(event.get("SUMMARY", ""), MAX_SUBJECT),
            "body": _clean(event.get("DESCRIPTION", ""), MAX_BODY),
            "location": _clean(event.get("LOCATION", ""), MAX_LOCATION),
            "cancelled": status == "CANCELLED",
            "private": str(event.get("CLASS", "")).upper() in ("PRIVATE", "CONFIDENTIAL"),
            "metadata": {
                "ical_uid": series.uid[:1000],
                "recurrence_id": label,
            },
        }
        fields["two_way"] = is_two_way(fields)
        fields["external_key"] = series.prefix + (label or "single")
        problems: list[Problem] = []
        drafts = _participants(event, series.uid, series.summary, problems)
        series.problems.extend(problems)
        series.occurrences.append(
            Occurrence(fields["external_key"], fields, drafts, label or "single")
        )


def calendar_parse(
    data: bytes, *, user: Any = None, now: dt.datetime | None = None
) -> ParsedCalendar:
    """Read an iCalendar file (bytes) into series of meetings.

    Raises InvalidInput (field ``file``) when the file is no iCalendar at all; a bad
    event is a ``Problem`` of its series, never an exception.
    """
    problems: list[Problem] = []
    text = _decode(data, problems)
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as exc:  # noqa: BLE001 (the parser raises several kinds)
        raise InvalidInput.single("file", f"This is not an iCalendar (.ics) file: {exc}") from None
    calendars = [c for c in calendars if getattr(c, "name", "") == "VCALENDAR"]
    if not calendars:
        raise InvalidInput.single(
            "file", "This is not an iCalendar (.ics) file: it has no BEGIN:VCALENDAR."
        )
    now = now or dt.datetime.now(dt.UTC)
    past, future = window_days()
    window = (now - dt.timedelta(days=past), now + dt.timedelta(days=future))
    found: list[Series] = []
    for calendar in calendars:
        declared = str(calendar.get("X-WR-TIMEZONE", "") or "").strip()
        floating = (olson(declared) if declared else None) or user_zone(user)
        zones = Zones(calendar.walk("VTIMEZONE"), floating=floating)
        groups: dict[str, list[Any]] = {}
        synthetic: set[str] = set()
        for event in calendar.walk("VEVENT"):
            uid = _clean(event.get("UID", ""), 10_000)
            if not uid:
                start = ""
                with contextlib.suppress(Exception):  # an unreadable start fails later
                    start = repr(event["DTSTART"].to_ical())
                seed = f"{start}|{event.get('SUMMARY', '')!s}"
                uid = "rapport-" + hashlib.sha256(seed.encode()).hexdigest()[:32]
                synthetic.add(uid)
            groups.setdefault(uid, []).append(event)
        reader = _Reader(zones, floating, window)
        for uid, components in groups.items():
            found.append(reader.series(uid, components, uid in synthetic))
    return ParsedCalendar(found, problems, window)
