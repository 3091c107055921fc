"""How interactions read on a page: durations, who took part, bodies made safe."""

from __future__ import annotations

import functools
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
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


_SENDERS = frozenset({"from", "organizer", "caller"})
_RECEIVERS = frozenset({"to", "cc", "attendee", "callee"})


@functools.cache
def _contact_url_parts() -> tuple[str, str]:
    prefix, _, suffix = reverse("contacts:detail", args=[7]).rpartition("7")
    return prefix, suffix


def _person(participant: Any) -> SafeString:
    name = who(participant)
    if participant.contact_id:
        prefix, suffix = _contact_url_parts()
        return format_html('<a href="{}{}{}">{}</a>', prefix, participant.contact_id, suffix, name)
    written = participant.address or participant.phone
    if written and written != name:
        return format_html('<span title="{}">{}</span>', written, name)
    return format_html("{}", name)


@register.simple_tag
def people_line(interaction: Any) -> SafeString:
    """ "Ann, Bob → Carol, Dan": who an interaction came from and went to, linked to
    the contacts among them. One tag instead of a loop per role keeps a page of 25
    interactions cheap to render."""
    senders, receivers = [], []
    for participant in interaction.participants.all():
        if participant.role in _SENDERS:
            senders.append(participant)
        elif participant.role in _RECEIVERS:
            receivers.append(participant)
    left = format_html_join(", ", "{}", ((_person(p),) for p in senders))
    right = format_html_join(", ", "{}", ((_person(p),) for p in receivers))
    if senders and receivers:
        return format_html("{} → {}", left, right)
    return left or right
