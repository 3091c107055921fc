"""Weekly contact hours: reading them, checking them, and asking whether a wall-clock
time falls inside them.

Windows are given per weekday as start and end times on the wall clock of the person's
time zone. A window whose end is earlier than its start runs past midnight into the next
day (Fri 22:00-02:00 ends Saturday 02:00); "24:00" ends a window at midnight. A window
with end equal to start is an error (empty or a whole day? say which with 00:00-24:00).

Overlapping windows are **rejected**, naming both, never merged behind the person's
back: what is stored is what was typed. Windows that only touch (09:00-12:00 and
12:00-14:00) are fine and act as one.

An instant is inside the hours when the clock on the wall where the person lives shows
a time inside a window (``contains``). That one definition settles DST: a window
starting at 02:30 on a spring-forward night opens when the clock jumps to 03:00 (the
first valid instant), a window entirely inside the skipped hour does not open that
night, and on a fall-back night the repeated hour is inside the window for both of its
passes, as one span of real time (the gate merges them; nothing is counted twice).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from rapport.core.errors import FieldError, InvalidInput

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_WINDOWS = 50
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
MINUTES_PER_DAY = 24 * 60


def clock_minutes(text: Any, *, end: bool) -> int:
    """ "09:30" -> 570; "24:00" only as an end. Raises ValueError saying what is wrong."""
    if not isinstance(text, str):
        raise ValueError("Give a time as HH:MM, e.g. 09:30.")
    match = _CLOCK.match(text.strip())
    if not match:
        raise ValueError(f"“{text[:20]}” is not a time; use HH:MM, e.g. 09:30.")
    hour, minute = int(match.group(1)), int(match.group(2))
    if minute > 59 or hour > 24 or (hour == 24 and minute):
        raise ValueError(f"“{text[:20]}” is not a time of day (00:00 to 24:00).")
    if hour == 24 and not end:
        raise ValueError("A window cannot start at 24:00; start it at 00:00.")
    return hour * 60 + minute


def clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def day_index(value: Any) -> int:
    """A weekday as given ("mon", "Monday", or ISO 1-7 with Monday 1) -> 0-6."""
    if isinstance(value, bool):
        raise ValueError("Give a weekday: mon … sun, or 1 (Monday) … 7 (Sunday).")
    if isinstance(value, int):
        if 1 <= value <= 7:
            return value - 1
        raise ValueError(f"Weekday {value} is out of range: use 1 (Monday) … 7 (Sunday).")
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdecimal():
            return day_index(int(text))
        for i, (short, name) in enumerate(zip(DAYS, DAY_NAMES, strict=True)):
            if text in (short, name.lower()):
                return i
    raise ValueError(f"“{str(value)[:20]}” is not a weekday: use mon … sun.")


@dataclass(frozen=True)
class Window:
    """One window: on ``day`` (0 = Monday) from ``start`` to ``end`` minutes past
    midnight; ``end <= start`` runs into the next day."""

    day: int
    start: int
    end: int

    @property
    def wraps(self) -> bool:
        return self.end <= self.start

    def spans(self) -> list[tuple[int, int]]:
        """The window as minute spans of the week (0 = Monday 00:00), wrapping Sunday."""
        begin = self.day * MINUTES_PER_DAY + self.start
        length = (self.end - self.start) % MINUTES_PER_DAY or MINUTES_PER_DAY
        week = 7 * MINUTES_PER_DAY
        if begin + length <= week:
            return [(begin, begin + length)]
        return [(begin, week), (0, begin + length - week)]

    def text(self) -> str:
        return f"{clock_text(self.start)}-{clock_text(self.end)}"

    def describe(self) -> str:
        return f"{DAY_NAMES[self.day]} {clock_text(self.start)}–{clock_text(self.end)}"


@dataclass(frozen=True)
class WeeklyHours:
    """Contact hours for a week. ``by_day[d]`` holds the minute spans inside day ``d``
    (a wrapping window is split at midnight); ``windows`` are as given."""

    windows: tuple[Window, ...]
    by_day: tuple[tuple[tuple[int, int], ...], ...]

    @classmethod
    def of(cls, windows: Iterable[Window]) -> WeeklyHours:
        ordered = tuple(sorted(windows, key=lambda w: (w.day, w.start, w.end)))
        days: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        for window in ordered:
            for begin, end in window.spans():
                while begin < end:  # split at every midnight it crosses
                    day = begin // MINUTES_PER_DAY
                    stop = min(end, (day + 1) * MINUTES_PER_DAY)
                    base = day * MINUTES_PER_DAY
                    days[day].append((begin - base, stop - base))
                    begin = stop
        merged: list[tuple[tuple[int, int], ...]] = []
        for spans in days:
            spans.sort()
            out: list[list[int]] = []
            for begin, end in spans:
                if out and begin <= out[-1][1]:
                    out[-1][1] = max(out[-1][1], end)
                else:
                    out.append([begin, end])
            merged.append(tuple((a, b) for a, b in out))
        return cls(ordered, tuple(merged))

    @cached_property
    def _hash(self) -> int:
        return hash((self.windows, self.by_day))

    def __hash__(self) -> int:  # kept: rules and profiles hash their hours often
        return self._hash

    def contains(self, weekday: int, minute: int) -> bool:
        """Whether a wall clock showing ``minute`` past midnight on ``weekday`` is inside."""
        return any(begin <= minute < end for begin, end in self.by_day[weekday])

    def starts(self, weekday: int) -> tuple[int, ...]:
        """Wall-clock minutes on ``weekday`` at which the hours open."""
        return tuple(begin for begin, _ in self.by_day[weekday])

    def stored(self) -> dict[str, list[str]]:
        """The canonical stored form: ``{"mon": ["09:00-17:00"], …}``, days in order."""
        out: dict[str, list[str]] = {}
        for window in self.windows:
            out.setdefault(DAYS[window.day], []).append(window.text())
        return out

    def describe(self) -> str:
        """ "Mon–Fri 09:00–17:00; Sat 10:00–12:00" for people."""
        return _describe(self)

    def _describe(self) -> str:
        groups: list[tuple[list[int], str]] = []
        for day in range(7):
            text = ", ".join(
                f"{clock_text(w.start)}–{clock_text(w.end)}" for w in self.windows if w.day == day
            )
            if not text:
                continue
            if groups and groups[-1][1] == text and groups[-1][0][-1] == day - 1:
                groups[-1][0].append(day)
            else:
                groups.append(([day], text))
        parts = []
        for days, text in groups:
            name = DAYS[days[0]].title()
            if len(days) > 1:
                name += "–" + DAYS[days[-1]].title()
            parts.append(f"{name} {text}")
        return "; ".join(parts) or "never"


@lru_cache(maxsize=4096)
def _describe(hours: WeeklyHours) -> str:
    return hours._describe()


def hours_from_input(value: Any, path: str = "hours") -> WeeklyHours | None:
    """Contact hours from the API, a form or the CLI; None for "none set".

    Accepts a list of ``{"day": "mon", "start": "09:00", "end": "17:00"}`` (``day`` may
    be ISO 1-7) or the stored mapping ``{"mon": ["09:00-17:00"]}``. Raises InvalidInput
    naming each bad field (``hours[2].end``); nothing is kept from a bad input.
    """
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = [
            {"day": day, "start": span.partition("-")[0], "end": span.partition("-")[2]}
            if isinstance(span, str)
            else {"day": day, "start": span, "end": None}
            for day, spans in value.items()
            for span in (spans if isinstance(spans, list) else [spans])
        ]
    if not isinstance(value, list):
        raise InvalidInput.single(path, "Give a list of windows, each with day, start and end.")
    if not value:
        raise InvalidInput.single(
            path, "Give at least one window, or none (null) to set no contact hours."
        )
    if len(value) > MAX_WINDOWS:
        raise InvalidInput.single(path, f"At most {MAX_WINDOWS} windows.")
    errors: list[FieldError] = []
    windows: list[tuple[int, Window]] = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(item, Mapping):
            errors.append(FieldError(where, "Give day, start and end."))
            continue
        unknown = set(item) - {"day", "start", "end"}
        if unknown:
            errors.append(FieldError(f"{where}.{sorted(unknown)[0]}", "Unknown field."))
            continue
        parts: dict[str, int] = {}
        for key, reader in (
            ("day", day_index),
            ("start", lambda v: clock_minutes(v, end=False)),
            ("end", lambda v: clock_minutes(v, end=True)),
        ):
            if item.get(key) in (None, ""):
                errors.append(FieldError(f"{where}.{key}", "This field is required."))
                continue
            try:
                parts[key] = reader(item[key])
            except ValueError as exc:
                errors.append(FieldError(f"{where}.{key}", str(exc)))
        if len(parts) < 3:
            continue
        start, end = parts["start"], parts["end"] % MINUTES_PER_DAY
        if parts["end"] == MINUTES_PER_DAY and start == 0:
            end = MINUTES_PER_DAY  # 00:00-24:00, the whole day
        elif start == end:
            errors.append(
                FieldError(
                    f"{where}.end",
                    "The window ends when it starts; for the whole day use 00:00-24:00.",
                )
            )
            continue
        windows.append((i, Window(parts["day"], start, end)))
    errors += _overlaps(windows, path)  # among the windows that could be read
    if errors:
        raise InvalidInput(errors)
    return WeeklyHours.of(w for _, w in windows)


def _overlaps(windows: Sequence[tuple[int, Window]], path: str) -> list[FieldError]:
    spans = sorted(
        (begin, end, i, window) for i, window in windows for begin, end in window.spans()
    )
    errors = []
    for (a_begin, a_end, a_i, a), (b_begin, _, b_i, b) in zip(spans, spans[1:], strict=False):
        del a_begin
        if b_begin < a_end and a_i != b_i:
            first, second = (a, b) if a_i < b_i else (b, a)
            errors.append(
                FieldError(
                    f"{path}[{max(a_i, b_i)}]",
                    f"{second.describe()} overlaps {first.describe()}; "
                    "windows may touch but not overlap.",
                )
            )
    return errors


def hours_from_stored(value: Any) -> WeeklyHours | None:
    """Hours as stored (``{"mon": ["09:00-17:00"]}``), trusted to be valid; None when unset."""
    if not value:
        return None
    windows = []
    for day, spans in value.items():
        index = DAYS.index(day)
        for span in spans:
            start, _, end = span.partition("-")
            windows.append(
                Window(
                    index,
                    clock_minutes(start, end=False),
                    clock_minutes(end, end=True) % MINUTES_PER_DAY
                    if not (start == "00:00" and end == "24:00")
                    else MINUTES_PER_DAY,
                )
            )
    return WeeklyHours.of(windows)
