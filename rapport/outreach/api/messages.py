"""Sending email to contacts over HTTP, and the templates it uses.

``POST /api/v1/messages`` goes through the contact gate: 201 sent, 202 queued (with
``when=next_allowed``), 409 blocked with the reasons and the next allowed time. An
``Idempotency-Key`` header (or ``idempotency_key``) makes a retry return the first
answer instead of sending again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel, ConfigDict

from rapport.contacts.api._http import READ_ERRORS, VIA, WRITE_ERRORS, ObjectId, actor
from rapport.contacts.models import Contact
from rapport.core import policy
from rapport.outreach.models import MessageTemplate, OutboundMessage
from rapport.outreach.services import sending
from rapport.outreach.services import templates as template_services

router = Router(tags=["messages"])


class MessageIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact: int = Field(..., ge=1, description="The contact's id.")
    purpose: Any = Field(None, description="The purpose's key (newsletter).")
    channel: Any = "email"
    template: Any = Field(None, description="A template's key (or id); else subject and body.")
    subject: Any = ""
    body_text: Any = ""
    body_html: Any = ""
    when: Any = Field(
        "now",
        description="now: send or refuse (409); next_allowed: queue until the gate allows.",
    )
    idempotency_key: Any = Field(None, description="Or the Idempotency-Key header.")


class ReasonOut(BaseModel):
    step: str
    code: str
    text: str
    until: str | None = None


class MessageOut(BaseModel):
    id: int
    contact_id: int | None
    channel: str
    purpose: str
    kind: str
    status: str
    template: str | None
    language: str
    to: str
    subject: str
    message_id: str | None
    interaction_id: int | None
    reasons: list[ReasonOut]
    next_allowed_at: dt.datetime | None
    deliver_at: dt.datetime | None
    sent_at: dt.datetime | None
    created_at: dt.datetime
    tries: int
    last_error: str


class BlockedOut(BaseModel):
    detail: str
    message: MessageOut
    reasons: list[ReasonOut]
    next_allowed_at: str | None
    next_allowed_local: str | None
    time_zone: str | None


def message_out(m: OutboundMessage) -> dict[str, Any]:
    return {
        "id": m.pk,
        "contact_id": m.contact_id,
        "channel": m.channel,
        "purpose": m.purpose,
        "kind": m.kind,
        "status": m.status,
        "template": m.template.key if m.template_id and m.template else None,
        "language": m.language,
        "to": m.to_address,
        "subject": m.subject,
        "message_id": m.message_id or None,
        "interaction_id": m.interaction_id,
        "reasons": m.reasons,
        "next_allowed_at": m.next_allowed_at,
        "deliver_at": m.next_try_at if m.status == OutboundMessage.Status.QUEUED else None,
        "sent_at": m.sent_at,
        "created_at": m.created_at,
        "tries": m.tries,
        "last_error": m.last_error,
    }


def _base_url(request: HttpRequest) -> str:
    from django.conf import settings

    return settings.RAPPORT_BASE_URL or request.build_absolute_uri("/").rstrip("/")


@router.post(
    "/messages",
    response={
        200: MessageOut,
        201: MessageOut,
        202: MessageOut,
        409: BlockedOut,
        **WRITE_ERRORS,
    },
    summary="Send an email to a contact, through the contact gate",
)
def send_message(request: HttpRequest, payload: MessageIn) -> Status[dict[str, Any]]:
    """Sends at once when the gate allows (201). Blocked: 409 with the reasons and the
    next allowed time (null: never, until what the reasons name changes); with
    ``when=next_allowed`` the message is queued instead (202) and the worker sends it
    when the window opens, asking the gate again then. A repeated idempotency key
    answers 200 with the first request's message and sends nothing."""
    user = actor(request)
    policy.require(user, "messages.send")
    contact = Contact.objects.get(pk=payload.contact)
    key = payload.idempotency_key or request.headers.get("Idempotency-Key") or None
    result = sending.message_send(
        actor=user,
        contact=contact,
        purpose=payload.purpose if payload.purpose is not None else "",
        channel=payload.channel,
        template=payload.template,
        subject=payload.subject,
        body_text=payload.body_text,
        body_html=payload.body_html,
        when=payload.when,
        idempotency_key=key,
        via=VIA,
        base_url=_base_url(request),
    )
    message = result.message
    body = message_out(message)
    if result.replayed:
        return Status(200, body)
    if message.status == OutboundMessage.Status.BLOCKED:
        decision = result.decision
        return Status(
            409,
            {
                "detail": "The contact gate does not allow this message now."
                if decision and not decision.never
                else "The contact gate does not allow this message (no allowed time ahead).",
                "message": body,
                "reasons": message.reasons,
                "next_allowed_at": decision.next_allowed_at.isoformat()
                if decision and decision.next_allowed_at
                else None,
                "next_allowed_local": decision.next_allowed_local.isoformat()
                if decision and decision.next_allowed_local
                else None,
                "time_zone": (decision.time_zone or None) if decision else None,
            },
        )
    if message.status == OutboundMessage.Status.QUEUED and message.tries == 0:
        return Status(202, body)
    return Status(201, body)


class MessageList(BaseModel):
    items: list[MessageOut]


@router.get(
    "/messages",
    response={200: MessageList, **READ_ERRORS},
    summary="Outbound messages, newest first",
)
def list_messages(
    request: HttpRequest,
    contact: int | None = Query(None, ge=1),
    status: str | None = Query(None),
    limit: int = Query(50, ge=1, le=200),
) -> dict[str, Any]:
    policy.require(actor(request), "contacts.view")
    rows = OutboundMessage.objects.select_related("template")
    if contact:
        rows = rows.filter(contact_id=contact)
    if status:
        rows = rows.filter(status=status)
    return {"items": [message_out(m) for m in rows[:limit]]}


@router.get(
    "/messages/{message_id}",
    response={200: MessageOut, **READ_ERRORS},
    summary="One outbound message",
)
def get_message(request: HttpRequest, message_id: ObjectId) -> dict[str, Any]:
    policy.require(actor(request), "contacts.view")
    return message_out(OutboundMessage.objects.select_related("template").get(pk=message_id))


# -- templates -----------------------------------------------------------------------


class TemplateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    key: Any = None
    name: Any = None
    purpose: Any = None
    language: Any = None
    subject: Any = None
    body_text: Any = None
    body_html: Any = None
    translations: Any = Field(
        None, description="[{language, subject, body_text, body_html}]: other languages."
    )


class TranslationOut(BaseModel):
    language: str
    subject: str
    body_text: str
    body_html: str


class TemplateOut(BaseModel):
    id: int
    key: str
    name: str
    purpose: str
    language: str
    subject: str
    body_text: str
    body_html: str
    version: int
    translations: list[TranslationOut]


class TemplateList(BaseModel):
    items: list[TemplateOut]


def template_out(t: MessageTemplate) -> dict[str, Any]:
    return {
        "id": t.pk,
        "key": t.key,
        "name": t.name,
        "purpose": t.purpose,
        "language": t.language,
        "subject": t.subject,
        "body_text": t.body_text,
        "body_html": t.body_html,
        "version": t.version,
        "translations": [
            {
                "language": x.language,
                "subject": x.subject,
                "body_text": x.body_text,
                "body_html": x.body_html,
            }
            for x in t.translations.all()
        ],
    }


@router.get("/message-templates", response={200: TemplateList, **READ_ERRORS})
def list_templates(request: HttpRequest) -> dict[str, Any]:
    policy.require(actor(request), "contacts.view")
    rows = MessageTemplate.objects.prefetch_related("translations")
    return {"items": [template_out(t) for t in rows]}


@router.post("/message-templates", response={201: TemplateOut, **WRITE_ERRORS})
def create_template(request: HttpRequest, payload: TemplateIn) -> Status[dict[str, Any]]:
    """Admins. Fields: key, name, purpose, language, subject, body_text, body_html,
    translations [{language, subject, body_text, body_html}]. A template syntax error is
    a 422 naming the part and the line."""
    made = template_services.template_create(
        actor=actor(request), data=payload.dict(exclude_unset=True)
    )
    return Status(201, template_out(made))


@router.get("/message-templates/{template_id}", response={200: TemplateOut, **READ_ERRORS})
def get_template(request: HttpRequest, template_id: ObjectId) -> dict[str, Any]:
    policy.require(actor(request), "contacts.view")
    return template_out(MessageTemplate.objects.get(pk=template_id))


@router.put("/message-templates/{template_id}", response={200: TemplateOut, **WRITE_ERRORS})
def replace_template(
    request: HttpRequest, template_id: ObjectId, payload: TemplateIn
) -> dict[str, Any]:
    template = MessageTemplate.objects.get(pk=template_id)
    return template_out(
        template_services.template_update(
            actor=actor(request), template=template, data=payload.dict(exclude_unset=True)
        )
    )


@router.delete("/message-templates/{template_id}", response={204: None, **WRITE_ERRORS})
def delete_template(request: HttpRequest, template_id: ObjectId) -> Status[None]:
    template = MessageTemplate.objects.get(pk=template_id)
    template_services.template_delete(actor=actor(request), template=template)
    return Status(204, None)
