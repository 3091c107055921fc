"""How interactions read on a page: durations, who took part, bodies made safe."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from rapport.activity.services.text import sanitize_html

register = template.Library()


@register.filter
def duration(seconds: int | None) -> str:
    """3725 → "1 h 2 min"; under a minute in seconds."""
    if not seconds:
        return ""
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


@register.filter
def safe_html(text: str) -> SafeString:
    """Stored HTML is sanitised when it is saved; it is sanitised again here, so no
    page ever carries HTML that did not pass the sanitiser of this version."""
    return mark_safe(sanitize_html(text or ""))  # noqa: S308 (sanitised just now)


@register.filter
def by_role(participants: Any, roles: str) -> list[Any]:
    """The participants in any of the comma-separated ``roles``."""
    wanted = set(roles.split(","))
    return [p for p in participants if p.role in wanted]


@register.filter
def who(participant: Any) -> str:
    """A participant as people read it: the contact's or user's name, else as written."""
    if participant.contact_id and participant.contact is not None:
        return str(participant.contact.display_name)
    if participant.user_id and participant.user is not None:
        return str(participant.user)
    if participant.organization_id and participant.organization is not None:
        return str(participant.organization.name)
    return str(participant.name or participant.address or participant.phone or "someone")
