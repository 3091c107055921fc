"""Outreach's part in privacy requests (see ``rapport.core.subjects``): the messages
sent (or queued, or blocked) to the person — their address, subject and text — the
attempt log and their communication preferences. On erasure all of them go; messages
are found by contact and by the person's addresses (a message whose contact was
deleted keeps only its address)."""

from __future__ import annotations

from django.db.models import Q

from rapport.core.subjects import Counts, DataCategory, Exported, Subject, SubjectProvider
from rapport.outreach.models import (
    ContactAttempt,
    ContactPreferences,
    FrequencyCap,
    OutboundMessage,
)


def _messages(subject: Subject):  # type: ignore[no-untyped-def]
    query = Q(contact_id__in=list(subject.contact_ids))
    if subject.emails:
        query |= Q(to_address__in=list(subject.emails))
    return OutboundMessage.objects.filter(query)


def export(subject: Subject) -> Exported:
    ids = list(subject.contact_ids)
    return Exported(
        sections={
            "Messages sent to them": list(
                _messages(subject).values(
                    "channel",
                    "purpose",
                    "status",
                    "to_address",
                    "subject",
                    "body_text",
                    "language",
                    "message_id",
                    "created_at",
                    "sent_at",
                    "reasons",
                )
            ),
            "Contact attempts": list(
                ContactAttempt.objects.filter(contact_id__in=ids).values(
                    "channel", "purpose", "outcome", "at", "via", "note"
                )
            ),
            "Communication preferences": list(
                ContactPreferences.objects.filter(contact_id__in=ids).values(
                    "email",
                    "call",
                    "sms",
                    "messaging",
                    "post",
                    "in_person",
                    "hours",
                    "do_not_contact",
                    "language",
                    "note",
                )
            ),
        }
    )


def preview(subject: Subject) -> Counts:
    ids = list(subject.contact_ids)
    return {
        "messages": _messages(subject).count(),
        "contact attempts": ContactAttempt.objects.filter(contact_id__in=ids).count(),
        "preferences": ContactPreferences.objects.filter(contact_id__in=ids).count(),
    }


def erase(subject: Subject) -> Counts:
    counts = preview(subject)
    ids = list(subject.contact_ids)
    _messages(subject).delete()
    ContactAttempt.objects.filter(contact_id__in=ids).delete()
    FrequencyCap.objects.filter(contact_id__in=ids).delete()
    ContactPreferences.objects.filter(contact_id__in=ids).delete()
    return counts


PROVIDER = SubjectProvider(
    name="outreach",
    label="Outreach",
    export=export,
    preview=preview,
    erase=erase,
    order=150,
    categories=(
        DataCategory(
            "Messages and contact attempts",
            "email addresses, subjects and texts of messages sent, when and why they "
            "were sent or blocked, communication preferences",
            "outreach_outboundmessage, outreach_contactattempt, outreach_contactpreferences",
        ),
    ),
)
