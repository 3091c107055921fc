"""Logging outbound attempts: every call, message, block and refusal, and click-to-call /
click-to-SMS, which asks the gate before it opens the link."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.contacts.models import Contact, Phone
from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput
from rapport.outreach.channels import CHANNELS
from rapport.outreach.gate import GateDecision, check_request, contact_gate
from rapport.outreach.models import ContactAttempt


@transaction.atomic
def attempt_log(
    *,
    actor: Any,
    contact: Contact,
    channel: str,
    purpose: str,
    outcome: str,
    at: dt.datetime | None = None,
    note: str = "",
    decision: GateDecision | None = None,
    via: str = "ui",
) -> ContactAttempt:
    """Append one attempt to the log (``at`` defaults to now; a blocked attempt keeps the
    gate's reasons from ``decision``). Raises InvalidInput naming bad fields (an attempt
    may not be logged in the future), NotPermitted without attempts.add."""
    policy.require(actor, "attempts.add")
    when = at or timezone.now()
    errors: list[FieldError] = []
    try:
        check_request(channel=channel, purpose=purpose, at=when, purpose_required=False)
    except InvalidInput as exc:
        errors += exc.errors
    if outcome not in ContactAttempt.Outcome.values:
        errors.append(
            FieldError("outcome", f"Must be one of: {', '.join(ContactAttempt.Outcome.values)}.")
        )
    if (
        isinstance(when, dt.datetime)
        and when.tzinfo
        and when > timezone.now() + dt.timedelta(minutes=5)
    ):
        errors.append(FieldError("at", "An attempt cannot be logged in the future."))
    if not isinstance(note, str) or len(note) > 500:
        errors.append(FieldError("note", "At most 500 characters."))
    if errors:
        raise InvalidInput(errors)
    reasons = []
    if decision is not None:
        reasons = [{"step": r.step, "code": r.code, "text": r.text} for r in decision.blocking]
    return ContactAttempt.objects.create(
        contact=contact,
        channel=channel if channel in CHANNELS else "",
        purpose=purpose,
        outcome=outcome,
        at=when.astimezone(dt.UTC),
        actor=actor if getattr(actor, "pk", None) else None,
        via=via,
        note=note.strip(),
        reasons=reasons,
    )


REACH_SCHEMES = {"call": "tel", "sms": "sms"}


class GateBlocked(Exception):
    """The gate said no and the user did not choose to go ahead; nothing was logged."""

    def __init__(self, decision: GateDecision) -> None:
        self.decision = decision
        super().__init__(" ".join(r.text for r in decision.blocking) or "The gate says no.")


@dataclass(frozen=True)
class Reached:
    """What click-to-call / click-to-SMS did: the ``url`` to open (``tel:``/``sms:``),
    the logged ``attempt``, the gate's ``decision`` and whether the user went ahead
    against it (``overridden``)."""

    url: str
    attempt: ContactAttempt
    decision: GateDecision
    overridden: bool


@transaction.atomic
def attempt_reach(
    *,
    actor: Any,
    contact: Contact,
    phone: Phone,
    channel: str,
    purpose: str,
    proceed_anyway: bool = False,
    at: dt.datetime | None = None,
) -> Reached:
    """A call or text the user is about to start from the contact's page: asks the gate
    for ``channel`` (call or sms) and ``purpose``; when it allows, or when the user
    chose deliberately to go ahead anyway (``proceed_anyway``), logs an ``attempted``
    row (an override keeps the gate's reasons and says so in the note) and returns the
    link to open. Raises InvalidInput naming the field (an unknown channel, a malformed
    purpose, a phone not the contact's), GateBlocked when the gate blocks and the user did
    not choose to go ahead (nothing logged), NotPermitted without attempts.add."""
    policy.require(actor, "attempts.add")
    policy.require(actor, "contacts.view", contact)
    errors: list[FieldError] = []
    if channel not in REACH_SCHEMES:
        errors.append(FieldError("channel", "Must be call or sms."))
    if phone.contact_id != contact.pk:
        errors.append(FieldError("phone", "That number is not this contact's."))
    if errors:
        raise InvalidInput(errors)
    when = at or timezone.now()
    decision = contact_gate(contact=contact, channel=channel, purpose=purpose, at=when)
    if not decision.allowed and not proceed_anyway:
        raise GateBlocked(decision)
    overridden = not decision.allowed
    attempt = attempt_log(
        actor=actor,
        contact=contact,
        channel=channel,
        purpose=purpose,
        outcome=ContactAttempt.Outcome.ATTEMPTED,
        at=when,
        note=f"Went ahead although the gate said no ({phone.e164})."
        if overridden
        else f"Started from Rapport ({phone.e164}).",
        decision=decision if overridden else None,
        via="ui",
    )
    return Reached(
        url=f"{REACH_SCHEMES[channel]}:{phone.e164}",
        attempt=attempt,
        decision=decision,
        overridden=overridden,
    )
