"""Logging outbound attempts: every call, message, block and refusal."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.contacts.models import Contact
from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput
from rapport.outreach.channels import CHANNELS
from rapport.outreach.gate import GateDecision, check_request
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
