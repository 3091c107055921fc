"""Interactions over HTTP: log, read, change and delete them; contact and organization
timelines. Telephony and chat systems post calls and messages with raw numbers, which
are matched to contacts by E.164, and their own id makes a retry harmless."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from rapport.activity.models import Interaction, Participant
from rapport.activity.selectors import interactions as selectors
from rapport.activity.selectors import timeline as timelines
from rapport.activity.services import interactions as services
from rapport.contacts.api._http import (
    READ_ERRORS,
    WRITE_ERRORS,
    ObjectId,
    actor,
    created,
    expected_version,
    sent,
    with_etag,
)
from rapport.contacts.models import Contact, Organization
from rapport.contacts.schemas import InputSchema
from rapport.core import policy

router = Router(tags=["interactions"])
timeline_router = Router(tags=["interactions"])

Kind = Literal["note", "call", "meeting", "email", "message", "letter", "other"]
Role = Literal[
    "from", "to", "cc", "bcc", "attendee", "organizer", "caller", "callee", "mentioned", "subject"
]


class ParticipantIn(InputSchema):
    role: Role | None = Field(None, description="Default: the usual role for the kind.")
    contact_id: int | None = Field(None, ge=1)
    organization_id: int | None = Field(None, ge=1)
    user: str | None = Field(None, max_length=150, description="A username.")
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(
        None, max_length=64, description="As dialled; matched to contacts by E.164."
    )
    name: str | None = Field(None, max_length=300)


class InteractionIn(InputSchema):
    kind: Kind | None = None
    occurred_at: str | None = Field(
        None, description="When it happened, ISO 8601 with an offset; default now."
    )
    ends_at: str | None = None
    all_day: bool | None = None
    duration_seconds: int | None = Field(None, ge=0)
    outcome: Literal["connected", "voicemail", "no_answer", "busy", "wrong_number"] | None = None
    direction: Literal["inbound", "outbound", "internal"] | None = None
    channel: str | None = Field(None, max_length=30, description="sms, whatsapp, chat…")
    location: str | None = Field(None, max_length=300)
    cancelled: bool | None = None
    subject: str | None = Field(None, max_length=500)
    body: str | None = None
    body_html: str | None = Field(None, description="Sanitised before it is stored.")
    private: bool | None = None
    external_id: str | None = Field(
        None, max_length=400, description="Your id for it: sending it again changes nothing."
    )
    participants: list[ParticipantIn] | None = Field(None, max_length=500)
    metadata: dict[str, Any] | None = None


class ParticipantOut(Schema):
    role: str
    contact_id: int | None
    organization_id: int | None
    user: str | None
    name: str
    email: str
    phone: str
    e164: str


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    url: str | None


class InteractionOut(Schema):
    id: int
    kind: str
    direction: str
    occurred_at: dt.datetime
    ends_at: dt.datetime | None
    all_day: bool
    duration_seconds: int | None
    outcome: str
    channel: str
    location: str
    cancelled: bool
    subject: str
    body: str
    body_html: str
    quoted: str
    signature: str
    private: bool
    two_way: bool
    source: str
    author: str | None
    external_key: str
    message_id: str
    thread_id: int | None
    participants: list[ParticipantOut]
    attachments: list[AttachmentOut]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class InteractionPage(Schema):
    items: list[InteractionOut]
    next_cursor: str | None


class InteractionListParams(Schema):
    contact: int | None = Field(None, ge=1, description="Only with this contact taking part.")
    organization: int | None = Field(None, ge=1)
    kind: list[Kind] = Field([], description="Repeat for several kinds.")
    after: str | None = Field(None, description="On or after this date or moment.")
    before: str | None = Field(None, description="Before this date or moment.")
    email: str | None = Field(None, max_length=320, description="A participant's address.")
    phone: str | None = Field(None, max_length=64, description="A participant's number.")
    thread: int | None = Field(None, ge=1)
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=selectors.MAX_PAGE)


def participant_out(p: Participant) -> dict[str, Any]:
    return {
        "role": p.role,
        "contact_id": p.contact_id,
        "organization_id": p.organization_id,
        "user": p.user.get_username() if p.user_id and p.user else None,
        "name": p.name,
        "email": p.address,
        "phone": p.phone,
        "e164": p.e164,
    }


def interaction_out(i: Interaction) -> dict[str, Any]:
    """An interaction as the API shows it (participants and attachments prefetched)."""
    from django.urls import reverse

    return {
        **{
            field: getattr(i, field)
            for field in [
                "id",
                "kind",
                "direction",
                "occurred_at",
                "ends_at",
                "all_day",
                "duration_seconds",
                "outcome",
                "channel",
                "location",
                "cancelled",
                "subject",
                "body",
                "body_html",
                "quoted",
                "signature",
                "private",
                "two_way",
                "source",
                "external_key",
                "message_id",
                "thread_id",
                "created_at",
                "updated_at",
                "version",
            ]
        },
        "author": i.author.get_username() if i.author_id and i.author else None,
        "participants": [participant_out(p) for p in i.participants.all()],
        "attachments": [
            {
                "id": a.pk,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "url": reverse("activity:attachment", args=[a.pk]) if a.file else None,
            }
            for a in i.attachments.all()
        ],
    }


def _get(request: HttpRequest, interaction_id: int) -> Interaction:
    return selectors.interaction_get(actor=actor(request), interaction_id=interaction_id)


@router.get("", response={200: InteractionPage, **READ_ERRORS}, summary="List interactions")
def list_interactions(request: HttpRequest, params: Query[InteractionListParams]) -> dict[str, Any]:
    """Newest first; filter by contact, organization, kind, dates, a participant's email
    or number. Pages through ``next_cursor``."""
    filters = selectors.interaction_filters(
        contact=params.contact,
        organization=params.organization,
        kinds=params.kind,
        after=params.after,
        before=params.before,
        email=params.email or "",
        phone=params.phone or "",
        thread=params.thread,
    )
    page = selectors.interaction_list(
        actor=actor(request), filters=filters, cursor=params.cursor, limit=params.limit
    )
    return {"items": [interaction_out(i) for i in page.items], "next_cursor": page.next_cursor}


@router.post(
    "",
    response={200: InteractionOut, 201: InteractionOut, **WRITE_ERRORS},
    summary="Log an interaction",
)
def create_interaction(
    request: HttpRequest, payload: InteractionIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    """201 with the new interaction; 200 with the stored one when ``external_id`` was
    sent before (new participants are added to it)."""
    data = sent(payload)
    if "participants" in data:
        data["participants"] = [
            {k: v for k, v in p.items() if v is not None} for p in data["participants"]
        ]
    captured = services.interaction_create(actor=actor(request), data=data, via="api")
    stored = _get(request, captured.interaction.pk)
    body = interaction_out(stored)
    if not captured.created:
        response["ETag"] = stored.etag
        return Status(200, body)
    return created(request, response, stored.pk, stored.etag, body)


@router.get("/{interaction_id}", response={200: InteractionOut, **READ_ERRORS}, summary="Read one")
def get_interaction(
    request: HttpRequest, interaction_id: ObjectId, response: HttpResponse
) -> dict[str, Any]:
    i = _get(request, interaction_id)
    return with_etag(response, i.etag, interaction_out(i))


def _update(
    request: HttpRequest, interaction_id: int, data: dict[str, Any], response: HttpResponse
) -> dict[str, Any]:
    current = _get(request, interaction_id)
    if "participants" in data and data["participants"] is not None:
        data["participants"] = [
            {k: v for k, v in p.items() if v is not None} for p in data["participants"]
        ]
    services.interaction_update(
        actor=actor(request),
        interaction=current,
        data=data,
        expected_version=expected_version(request, current),  # type: ignore[arg-type]
    )
    i = _get(request, interaction_id)
    return with_etag(response, i.etag, interaction_out(i))


@router.patch(
    "/{interaction_id}", response={200: InteractionOut, **WRITE_ERRORS}, summary="Change one"
)
def patch_interaction(
    request: HttpRequest, interaction_id: ObjectId, payload: InteractionIn, response: HttpResponse
) -> dict[str, Any]:
    """Only the fields sent change; ``participants``, when sent, replaces them all."""
    return _update(request, interaction_id, sent(payload), response)


@router.put(
    "/{interaction_id}", response={200: InteractionOut, **WRITE_ERRORS}, summary="Replace one"
)
def replace_interaction(
    request: HttpRequest, interaction_id: ObjectId, payload: InteractionIn, response: HttpResponse
) -> dict[str, Any]:
    """Every field not sent is cleared (the kind and the external id stay)."""
    data = {
        **dict.fromkeys(
            [
                "ends_at",
                "duration_seconds",
                "outcome",
                "channel",
                "location",
                "subject",
                "body",
                "body_html",
                "all_day",
                "cancelled",
                "private",
            ]
        ),
        "participants": [],
        **sent(payload),
    }
    return _update(request, interaction_id, data, response)


@router.delete("/{interaction_id}", response={204: None, **WRITE_ERRORS}, summary="Delete one")
def delete_interaction(request: HttpRequest, interaction_id: ObjectId) -> Status[None]:
    current = _get(request, interaction_id)
    services.interaction_delete(
        actor=actor(request),
        interaction=current,
        expected_version=expected_version(request, current),  # type: ignore[arg-type]
    )
    return Status(204, None)


class TimelineEntryOut(Schema):
    source: Literal["interaction", "task", "change"]
    at: dt.datetime
    id: int
    interaction: InteractionOut | None = None
    task: dict[str, Any] | None = None
    change: dict[str, Any] | None = None


class TimelinePage(Schema):
    items: list[TimelineEntryOut]
    next_cursor: str | None


class TimelineParams(Schema):
    kind: list[str] = Field(
        [], description="Interaction kinds and/or task, change; repeatable. Default: all."
    )
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(timelines.PAGE, ge=1, le=timelines.MAX_PAGE)


def _entry_out(entry: timelines.Entry) -> dict[str, Any]:
    out: dict[str, Any] = {"source": entry.source, "at": entry.at, "id": entry.pk}
    if entry.source == "interaction":
        out["interaction"] = interaction_out(entry.item)
    elif entry.source == "task":
        t = entry.item
        out["task"] = {
            "title": t.title,
            "status": t.status,
            "kind": t.kind,
            "due_date": t.due_date,
            "due_at": t.due_at,
            "assignee": t.assignee.get_username() if t.assignee_id and t.assignee else None,
        }
    else:
        c = entry.item
        out["change"] = {
            "action": c.action,
            "actor": c.actor.get_username() if c.actor_id and c.actor else None,
            "via": c.via,
            "changes": c.changes,
        }
    return out


@timeline_router.get(
    "/contacts/{contact_id}/timeline",
    response={200: TimelinePage, **READ_ERRORS},
    summary="A contact's timeline",
)
def contact_timeline(
    request: HttpRequest, contact_id: ObjectId, params: Query[TimelineParams]
) -> dict[str, Any]:
    """Interactions, tasks and changes, newest first, in keyset pages."""
    policy.require(actor(request), "contacts.view")
    Contact.objects.only("pk").get(pk=contact_id)
    result = timelines.contact_timeline(
        actor=actor(request),
        contact_id=contact_id,
        kinds=params.kind,
        cursor=params.cursor,
        limit=params.limit,
    )
    return {"items": [_entry_out(e) for e in result.entries], "next_cursor": result.next_cursor}


@timeline_router.get(
    "/organizations/{organization_id}/timeline",
    response={200: TimelinePage, **READ_ERRORS},
    summary="An organization's timeline",
)
def organization_timeline(
    request: HttpRequest, organization_id: ObjectId, params: Query[TimelineParams]
) -> dict[str, Any]:
    """Its own interactions and its current people's, its tasks and its changes."""
    policy.require(actor(request), "organizations.view")
    Organization.objects.only("pk").get(pk=organization_id)
    result = timelines.organization_timeline(
        actor=actor(request),
        organization_id=organization_id,
        kinds=params.kind,
        cursor=params.cursor,
        limit=params.limit,
    )
    return {"items": [_entry_out(e) for e in result.entries], "next_cursor": result.next_cursor}
