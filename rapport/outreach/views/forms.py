"""Reading the preference and rule forms into the services' input, and back."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from rapport.core.errors import InvalidInput
from rapport.outreach.channels import CHANNELS
from rapport.outreach.hours import DAYS

TRI = {"": None, "yes": True, "no": False}
CAP_ROWS = 3


def _tri(value: str) -> Any:
    return TRI.get(value, value)


def hours_from_post(post: QueryDict, prefix: str = "hours_") -> tuple[Any, dict[int, str]]:
    """Contact hours from one text field per weekday ("09:00-12:00, 14:00-17:00"), and
    which day field each window came from (to put a window's error on its field)."""
    windows: list[dict[str, str]] = []
    origin: dict[int, str] = {}
    for day in DAYS:
        text = post.get(f"{prefix}{day}", "").strip()
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            start, sep, end = part.partition("-")
            if not sep:
                start, sep, end = part.partition("–")
            origin[len(windows)] = f"{prefix}{day}"
            windows.append({"day": day, "start": start.strip(), "end": end.strip() or "?"})
    return (windows or None), origin


def preferences_from_post(
    post: QueryDict, *, organization: bool
) -> tuple[dict[str, Any], dict[int, str]]:
    hours, origin = hours_from_post(post)
    data: dict[str, Any] = {
        "channels": {c: post.get(f"channel_{c}") or None for c in CHANNELS},
        "hours": hours,
        "hours_channels": [c for c in CHANNELS if post.get(f"hours_channel_{c}")],
        "avoid_holidays": _tri(post.get("avoid_holidays", "")),
        "do_not_contact": _tri(post.get("do_not_contact", "")),
        "note": post.get("note", ""),
        "language": post.get("language", ""),
    }
    if organization:
        for flag in ("channels_overridable", "do_not_contact_overridable", "hours_overridable"):
            data[flag] = bool(post.get(flag))
    else:
        caps = []
        for i in range(int(post.get("cap_rows", CAP_ROWS) or CAP_ROWS)):
            count, days = (
                post.get(f"cap_{i}_max", "").strip(),
                post.get(f"cap_{i}_days", "").strip(),
            )
            if not count and not days:
                continue
            caps.append(
                {
                    "channel": post.get(f"cap_{i}_channel", ""),
                    "purpose": post.get(f"cap_{i}_purpose", "").strip(),
                    "max_count": int(count) if count.isdecimal() else count,
                    "period_days": int(days) if days.isdecimal() else days,
                }
            )
        data["caps"] = caps
    return data, origin


def form_errors(exc: InvalidInput, origin: dict[int, str]) -> dict[str, list[str]]:
    """The service's errors by form field: ``hours[2].end`` lands on its weekday's field."""
    found: dict[str, list[str]] = {}
    for error in exc.errors:
        path = error.path
        if path.startswith("hours["):
            index = path[6:].split("]", 1)[0]
            if index.isdecimal() and int(index) in origin:
                path = origin[int(index)]
        elif path.startswith("caps["):
            path = "cap_" + path[5:].split("]", 1)[0]
        elif path.startswith("channels."):
            path = "channel_" + path.split(".", 1)[1]
        found.setdefault(path, []).append(error.message)
    return found


def form_values(data: dict[str, Any]) -> dict[str, Any]:
    """What the form shows for preferences as the selectors return them."""
    by_day: dict[str, list[str]] = {}
    for window in data.get("hours") or []:
        by_day.setdefault(window["day"], []).append(f"{window['start']}-{window['end']}")
    values = {
        "channels": [(c, (data["channels"] or {}).get(c) or "") for c in CHANNELS],
        "hours": [(day, ", ".join(by_day.get(day, []))) for day in DAYS],
        "hours_channels": set(data.get("hours_channels") or ()),
        "avoid_holidays": {None: "", True: "yes", False: "no"}[data.get("avoid_holidays")],
        "do_not_contact": {None: "", True: "yes", False: "no"}[data.get("do_not_contact")],
        "note": data.get("note", ""),
        "language": data.get("language", ""),
    }
    caps = list(data.get("caps") or [])
    values["caps"] = caps + [{}] * max(CAP_ROWS - len(caps), 1)
    for flag in ("channels_overridable", "do_not_contact_overridable", "hours_overridable"):
        if flag in data:
            values[flag] = data[flag]
    return values


def posted_values(post: QueryDict, *, organization: bool) -> dict[str, Any]:
    """The form as it was sent, to show again with its errors."""
    values = {
        "channels": [(c, post.get(f"channel_{c}", "")) for c in CHANNELS],
        "hours": [(day, post.get(f"hours_{day}", "")) for day in DAYS],
        "hours_channels": {c for c in CHANNELS if post.get(f"hours_channel_{c}")},
        "avoid_holidays": post.get("avoid_holidays", ""),
        "do_not_contact": post.get("do_not_contact", ""),
        "note": post.get("note", ""),
        "language": post.get("language", ""),
    }
    if organization:
        for flag in ("channels_overridable", "do_not_contact_overridable", "hours_overridable"):
            values[flag] = bool(post.get(flag))
    else:
        rows = int(post.get("cap_rows", CAP_ROWS) or CAP_ROWS)
        values["caps"] = [
            {
                "channel": post.get(f"cap_{i}_channel", ""),
                "purpose": post.get(f"cap_{i}_purpose", ""),
                "max_count": post.get(f"cap_{i}_max", ""),
                "period_days": post.get(f"cap_{i}_days", ""),
            }
            for i in range(min(rows, 25))
        ]
    return values


def rule_from_post(post: QueryDict) -> tuple[dict[str, Any], dict[int, str]]:
    hours, origin = hours_from_post(post)
    data = {
        "name": post.get("name", ""),
        "country": post.get("country", ""),
        "subdivision": post.get("subdivision", ""),
        "channels": [c for c in CHANNELS if post.get(f"channel_{c}")],
        "purposes": [p.strip() for p in post.get("purposes", "").split(",") if p.strip()],
        "hours": hours,
        "no_public_holidays": bool(post.get("no_public_holidays")),
        "max_attempts": post.get("max_attempts", "").strip() or None,
        "attempts_period_days": post.get("attempts_period_days", "").strip() or None,
        "refusal_silence_days": post.get("refusal_silence_days", "").strip() or None,
        "source": post.get("source", ""),
        "active": bool(post.get("active")),
    }
    return data, origin


def rule_errors(exc: InvalidInput, origin: dict[int, str]) -> dict[str, list[str]]:
    found = form_errors(exc, origin)
    return {("channels" if k.startswith("channels[") else k): v for k, v in found.items()}
