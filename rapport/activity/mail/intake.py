"""The one way mail comes in: a mailbox sync, an uploaded .eml or .mbox, the drop-box
receiver all hand each message's bytes to ``mail_capture``.

It decides whether the message is logged (the owner's policy, the never-log list, bulk
mail), resolves its participants, and stores it once per Message-ID.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from rapport.activity.models import Interaction
from rapport.activity.services.interactions import InteractionDraft, interaction_capture, is_two_way
from rapport.activity.services.participants import (
    Directory,
    ParticipantDraft,
    draft_resolve,
    email_key_of,
)


class Policy:
    """What a mailbox owner chose to log."""

    KNOWN_CONTACTS = "known"  # messages with at least one known contact (the default)
    METADATA_ONLY = "metadata"  # the same messages, without bodies or attachments
    OFF = "off"


@dataclass
class MailOutcome:
    """What became of one message: ``stored`` (new), ``joined`` (known already; new
    links added), ``skipped`` (policy; ``reason`` says which) or ``failed``."""

    status: str
    reason: str = ""
    interaction_id: int | None = None
    message_id: str = ""


_ROLES = (("from", "from"), ("to", "to"), ("cc", "cc"), ("bcc", "bcc"))


def mail_capture(
    raw: bytes,
    *,
    owner: Any = None,
    source: str = Interaction.Source.UPLOAD,
    policy: str = Policy.KNOWN_CONTACTS,
    directory: Directory | None = None,
) -> MailOutcome:
    """Log one message (RFC 5322 bytes) as an email interaction, or say why not.

    Never raises for what the message holds: a message that cannot be read comes back
    ``failed`` with the reason. ``owner`` is the user whose mail it is.
    """
    if policy == Policy.OFF:
        return MailOutcome("skipped", "logging is off for this mailbox")
    directory = directory or Directory()
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        message_id = str(message.get("Message-ID", "") or "").strip()
        if not message_id:
            message_id = "<" + hashlib.sha256(raw).hexdigest() + "@rapport.invalid>"
        drafts = []
        for header, role in _ROLES:
            for name, address in email.utils.getaddresses(message.get_all(header, [])):
                key = email_key_of(address)
                if key:
                    drafts.append(
                        ParticipantDraft(role=role, name=name, address=address, address_key=key)
                    )
        directory.load_emails(d.address_key for d in drafts)
        drafts = [draft_resolve(d, directory) for d in drafts]
        if not any(d.contact_id for d in drafts):
            return MailOutcome(
                "skipped", "no participant is a known contact", message_id=message_id
            )
        sent = (
            email.utils.parsedate_to_datetime(str(message.get("Date")))
            if message.get("Date")
            else None
        )
        if sent is None or timezone.is_naive(sent):
            sent = timezone.now()
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None and policy != Policy.METADATA_ONLY else ""
        outbound = any(d.role == "from" and d.user_id for d in drafts)
        fields = {
            "kind": "email",
            "direction": "outbound" if outbound else "inbound",
            "occurred_at": sent,
            "subject": str(message.get("Subject", ""))[:500],
            "body": text,
            "external_key": f"email:{message_id}"[:500],
            "message_id": message_id[:500],
        }
        fields["two_way"] = is_two_way(fields)
        captured = interaction_capture(
            draft=InteractionDraft(fields=fields, participants=drafts), actor=owner, source=source
        )
    except Exception as exc:  # noqa: BLE001 (a message must never stop the others)
        return MailOutcome("failed", f"{type(exc).__name__}: {exc}")
    return MailOutcome(
        "stored" if captured.created else "joined",
        interaction_id=captured.interaction.pk,
        message_id=message_id,
    )
