"""Reachability at a glance: "Email OK now · Phone from Tue 09:00 (in 14 h) · No SMS".

For a contact page (every channel, with the reasons) and a page of a contact list (the
three channels people act on), decided by the gate itself for the whole page in one go
(``gate_inputs_for`` reads a page's inputs in five queries). At a glance there is no
purpose, so consent (which is per purpose) is left to the paths that send.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rapport.core import policy
from rapport.outreach.channels import CHANNEL_SHORT, CHANNELS
from rapport.outreach.gate import GateDecision, decide, gate_inputs_for
from rapport.outreach.gate.decide import channel_status

LIST_CHANNELS = ("email", "call", "sms")


@dataclass(frozen=True)
class ChannelGlance:
    """One channel's state in a few words, and the decision behind it."""

    channel: str
    state: str  # ok, later, never
    text: str
    detail: str
    preferred: bool
    decision: GateDecision


def _in(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"in {max(minutes, 1)} min"
    hours = round(minutes / 60)
    if hours < 48:
        return f"in {hours} h"
    return f"in {round(minutes / 1440)} days"


def _local_text(moment: dt.datetime, now: dt.datetime) -> str:
    if moment.date() == now.astimezone(moment.tzinfo).date():
        return f"{moment:%H:%M}"
    if moment - now < dt.timedelta(days=6):
        return f"{moment:%a %H:%M}"
    return f"{moment:%d %b %H:%M}"


def glance_of(decision: GateDecision, *, preferred: bool) -> ChannelGlance:
    name = CHANNEL_SHORT[decision.channel]
    blocking = decision.blocking
    detail = " ".join(r.text for r in blocking) or "Every rule allows it now."
    if decision.allowed:
        return ChannelGlance(decision.channel, "ok", f"{name} OK now", detail, preferred, decision)
    if decision.never or decision.next_allowed_local is None:
        first = blocking[0]
        if first.step == "channel":
            text = f"No {name if name in ('SMS', 'Post') else name.lower()}"
        elif first.step == "do_not_contact":
            text = f"{name}: do not contact"
        elif first.code == "time_zone_unknown":
            text = f"{name}: time zone unknown"
        else:
            text = f"{name}: not in the coming year"
        return ChannelGlance(decision.channel, "never", text, detail, preferred, decision)
    local = decision.next_allowed_local
    text = f"{name} from {_local_text(local, decision.at)} ({_in(local - decision.at)})"
    detail += f" Next: {local:%a %d %b %H:%M} {local.tzname()} ({decision.time_zone})."
    return ChannelGlance(decision.channel, "later", text, detail, preferred, decision)


def glances_for(
    *,
    actor: Any,
    contact_ids: Sequence[int],
    channels: Sequence[str] = LIST_CHANNELS,
    at: dt.datetime,
) -> dict[int, list[ChannelGlance]]:
    """Each contact's channels at ``at``, in order; raises NotPermitted without
    contacts.view."""
    policy.require(actor, "contacts.view")
    inputs = gate_inputs_for(contact_ids, at=at)
    found: dict[int, list[ChannelGlance]] = {}
    for pk, one in inputs.items():
        found[pk] = [
            glance_of(
                decide(one, channel=channel, purpose="", at=at, check_consent=False),
                preferred=channel_status(one.own, one.organizations, channel)[0] == "preferred",
            )
            for channel in channels
        ]
    return found


def contact_glance(*, actor: Any, contact_id: int, at: dt.datetime) -> list[ChannelGlance]:
    """Every channel of one contact, for their page."""
    return glances_for(actor=actor, contact_ids=[contact_id], channels=CHANNELS, at=at).get(
        contact_id, []
    )
