"""THE contact gate: may we reach this person, on this channel, for this purpose, now —
and if not, when? Every outbound path asks ``contact_gate``; lists and exports of many
contacts ask the bulk form, ``rapport.outreach.selectors.reachable.contacts_reachable``,
which gives the same answers in SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rapport.contacts.models import Contact
from rapport.core.errors import FieldError, InvalidInput
from rapport.outreach.channels import CHANNELS
from rapport.outreach.gate.decide import STEPS, GateDecision, Reason, decide
from rapport.outreach.gate.inputs import GateInputs, gate_inputs_for

__all__ = [
    "STEPS",
    "GateDecision",
    "GateInputs",
    "Reason",
    "check_request",
    "contact_gate",
    "decide",
    "gate_inputs_for",
]

_PURPOSE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")


def check_request(*, channel: Any, purpose: Any, at: Any, purpose_required: bool = True) -> None:
    """Raise InvalidInput naming each bad argument: an unknown channel, a purpose that is
    not a slug (or missing), a moment without a time zone."""
    errors = []
    if channel not in CHANNELS:
        errors.append(FieldError("channel", f"Must be one of: {', '.join(CHANNELS)}."))
    if not isinstance(purpose, str) or (purpose and not _PURPOSE.match(purpose)):
        errors.append(FieldError("purpose", "Give the purpose's key, e.g. newsletter."))
    elif purpose_required and not purpose:
        errors.append(FieldError("purpose", "Every outbound contact has a purpose; give one."))
    if not isinstance(at, dt.datetime) or at.tzinfo is None or at.utcoffset() is None:
        errors.append(FieldError("at", "Give a moment with a time zone (an aware datetime)."))
    if errors:
        raise InvalidInput(errors)


def contact_gate(
    *,
    contact: Contact | int,
    channel: str,
    purpose: str,
    at: dt.datetime,
) -> GateDecision:
    """May ``contact`` be reached on ``channel`` for ``purpose`` at ``at``?

    Returns a GateDecision: ``allowed``; the reasons step by step (consent, do not
    contact, channel, contact hours, legal hours, holiday, frequency cap, cool-off), each
    with a code and words for people; and the next allowed time in UTC and on the
    contact's wall clock (None: never, until something the reasons name changes). Reads
    the database (three small reads, one round trip on PostgreSQL) and decides in
    process; no permission check — the path that reaches out checks its own. Raises InvalidInput for an unknown channel, a
    missing or malformed purpose or a naive ``at``; Contact.DoesNotExist for an unknown
    contact.
    """
    check_request(channel=channel, purpose=purpose, at=at)
    contact_id = contact if isinstance(contact, int) else contact.pk
    at = at.astimezone(dt.UTC)
    found = gate_inputs_for([contact_id], at=at, consent_for=(purpose, channel)).get(contact_id)
    if found is None:
        raise Contact.DoesNotExist(f"There is no contact with id {contact_id}.")
    return decide(found, channel=channel, purpose=purpose, at=at)
