"""What the compose form and click-to-call show before anything goes out: the gate's
decision for one contact, channel and purpose in words, and the choices to offer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from rapport.contacts.models import Contact
from rapport.core import policy
from rapport.outreach.gate import GateDecision, contact_gate
from rapport.outreach.models import MessageTemplate


@dataclass(frozen=True)
class Verdict:
    """The gate's answer for people: ``allowed``; ``never`` (no time will do until
    something in ``reasons`` changes); ``reasons`` in words; ``next_text`` the next
    allowed time on the contact's wall clock and in the user's zone ("" when never or
    allowed)."""

    allowed: bool
    never: bool
    reasons: list[str]
    next_text: str
    decision: GateDecision


def _moment(value: dt.datetime, zone: str) -> str:
    local = value.astimezone(ZoneInfo(zone)) if zone else value
    return f"{local:%a %d %b %Y, %H:%M} ({zone or 'UTC'})"


def reach_verdict(
    *, actor: Any, contact: Contact, channel: str, purpose: str, at: dt.datetime
) -> Verdict:
    """The gate's decision for ``contact`` on ``channel`` for ``purpose`` at ``at``, in
    words. Raises NotPermitted when the actor may not see the contact, InvalidInput for
    an unknown channel or a malformed purpose."""
    policy.require(actor, "contacts.view", contact)
    decision = contact_gate(contact=contact, channel=channel, purpose=purpose, at=at)
    next_text = ""
    if not decision.allowed and decision.next_allowed_at is not None:
        next_text = _moment(decision.next_allowed_at, decision.time_zone)
        user_zone = settings.TIME_ZONE
        if user_zone and user_zone != decision.time_zone:
            next_text += f" — {_moment(decision.next_allowed_at, user_zone)} here"
    return Verdict(
        allowed=decision.allowed,
        never=decision.never,
        reasons=[r.text for r in decision.blocking],
        next_text=next_text,
        decision=decision,
    )


def purpose_choices() -> list[tuple[str, str]]:
    """The purposes (key, name) a message, call or text may be for."""
    from rapport.consent.models import Purpose

    return list(
        Purpose.objects.filter(archived_at__isnull=True).order_by("name").values_list("key", "name")
    )


def compose_choices(*, actor: Any) -> dict[str, Any]:
    """The purposes (key, name) and templates (key, name, purpose) the compose form
    offers; raises NotPermitted without messages.send."""
    policy.require(actor, "messages.send")
    return {
        "purposes": purpose_choices(),
        "templates": list(
            MessageTemplate.objects.order_by("name").values_list("key", "name", "purpose")
        ),
    }


def default_call_purpose() -> str:
    """The purpose a call or text is asked for when the user names none
    (``RAPPORT_CALL_PURPOSE``)."""
    return str(settings.RAPPORT_CALL_PURPOSE)
