"""The outreach area's part in privacy requests (see ``rapport.core.subjects``): the
messages sent (or queued, or blocked) to the person — their address, subject and text;
messages are found by contact and by the person's addresses, since a message whose
contact was deleted keeps only its address — the person's communication preferences (channels, contact hours, language, do-not-contact,
frequency caps), the log of every attempt to reach them, and where Rapport believes
they are (time zone, country) for the contact gate.

Erasure deletes all of it (the rows would go with the contact row anyway, but an
anonymisation keeps that row, and the log must say what went). A location profile
is shared by everyone in the same place with the same hours; one nobody follows any
more goes too, since it may hold the person's own hours.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from rapport.core.subjects import Counts, DataCategory, Exported, Subject, SubjectProvider
from rapport.outreach.models import (
    ContactAttempt,
    ContactPreferences,
    ContactReach,
    FrequencyCap,
    OutboundMessage,
    ReachProfile,
)
from rapport.outreach.selectors.preferences import preferences_data


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _messages(subject: Subject) -> QuerySet[OutboundMessage]:
    query = Q(contact_id__in=list(subject.contact_ids))
    if subject.emails:
        query |= Q(to_address__in=list(subject.emails))
    return OutboundMessage.objects.filter(query)


def export(subject: Subject) -> Exported:
    ids = list(subject.contact_ids)
    preferences = []
    for prefs in ContactPreferences.objects.filter(contact_id__in=ids).order_by("contact_id"):
        caps = [
            dict(row)
            for row in FrequencyCap.objects.filter(contact_id=prefs.contact_id)
            .order_by("channel", "purpose")
            .values("channel", "purpose", "max_count", "period_days")
        ]
        preferences.append(
            {
                "contact_id": prefs.contact_id,
                **preferences_data(prefs, caps),
                "updated_at": _iso(prefs.updated_at),
            }
        )
    # caps can be set without any other preference
    with_prefs = {p["contact_id"] for p in preferences}
    loose_caps = list(
        FrequencyCap.objects.filter(contact_id__in=ids)
        .exclude(contact_id__in=with_prefs)
        .order_by("contact_id", "channel", "purpose")
        .values("contact_id", "channel", "purpose", "max_count", "period_days")
    )
    attempts = [
        {
            "contact_id": a.contact_id,
            "at": _iso(a.at),
            "channel": a.channel,
            "purpose": a.purpose,
            "outcome": a.outcome,
            "by": a.actor.get_username() if a.actor else "",
            "via": a.via,
            "note": a.note,
            "reasons": a.reasons,
        }
        for a in ContactAttempt.objects.filter(contact_id__in=ids)
        .select_related("actor")
        .order_by("at", "id")
    ]
    where = [
        {
            "contact_id": reach.contact_id,
            "time_zones": reach.profile.zones,
            "found_from": reach.profile.zone_source,
            "how": reach.profile.zone_detail,
            "country": reach.profile.country,
            "subdivision": reach.profile.subdivision,
        }
        for reach in ContactReach.objects.filter(contact_id__in=ids)
        .select_related("profile")
        .order_by("contact_id")
    ]
    messages = [
        {**row, "created_at": _iso(row["created_at"]), "sent_at": _iso(row["sent_at"])}
        for row in _messages(subject)
        .order_by("created_at", "id")
        .values(
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
    ]
    sections: dict[str, Any] = {
        "Messages sent to them": messages,
        "Communication preferences": preferences,
        "Attempts to reach them": attempts,
        "Where they are (time zone and country, for contact hours)": where,
    }
    if loose_caps:
        sections["Frequency caps"] = loose_caps
    return Exported(sections=sections)


def preview(subject: Subject) -> Counts:
    ids = list(subject.contact_ids)
    return {
        "messages": _messages(subject).count(),
        "communication preferences": ContactPreferences.objects.filter(contact_id__in=ids).count(),
        "frequency caps": FrequencyCap.objects.filter(contact_id__in=ids).count(),
        "outreach attempts": ContactAttempt.objects.filter(contact_id__in=ids).count(),
        "location records": ContactReach.objects.filter(contact_id__in=ids).count(),
    }


def erase(subject: Subject) -> Counts:
    counts = preview(subject)
    ids = list(subject.contact_ids)
    profiles = set(
        ContactReach.objects.filter(contact_id__in=ids).values_list("profile_id", flat=True)
    )
    _messages(subject).delete()
    for model in (ContactAttempt, FrequencyCap, ContactPreferences, ContactReach):
        model.objects.filter(contact_id__in=ids).delete()
    followed = set(
        ContactReach.objects.filter(profile_id__in=profiles).values_list("profile_id", flat=True)
    )
    ReachProfile.objects.filter(pk__in=profiles - followed).delete()
    return counts


PROVIDER = SubjectProvider(
    name="outreach",
    label="Outreach",
    export=export,
    preview=preview,
    erase=erase,
    order=450,
    categories=(
        DataCategory(
            "Messages sent",
            "email addresses, subjects and texts of messages sent, queued or blocked, when and why",
            "outreach_outboundmessage",
        ),
        DataCategory(
            "Communication preferences",
            "channels allowed, preferred or refused, contact hours, preferred language, "
            "do-not-contact, frequency caps, time zone and country",
            "outreach_contactpreferences, outreach_frequencycap, outreach_contactreach, "
            "outreach_reachprofile",
        ),
        DataCategory(
            "Outreach attempts",
            "every call, message, refusal and block: when, channel, purpose, outcome, notes",
            "outreach_contactattempt",
        ),
    ),
)
