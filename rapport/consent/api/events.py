"""/api/v1/contacts/{id}/consents (a contact's state and history; POST records an event)
and /api/v1/consent-events (the ledger, in keyset pages). Ledger rows are never changed
or deleted: PUT, PATCH and DELETE on them answer 405 and change nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from rapport.consent import selectors, services
from rapport.consent.selectors.history import MAX_LIMIT, ConsentOverview, EventFilters
from rapport.contacts.api._http import READ_ERRORS, WRITE_ERRORS, Detail, ObjectId, actor, sent
from rapport.contacts.models import Contact
from rapport.contacts.schemas import InputSchema

contact_router = Router(tags=["consent"])
router = Router(tags=["consent"])

APPEND_ONLY = (
    "Consent events cannot be changed or deleted: the ledger is append-only. Record a new "
    "event instead (POST /api/v1/contacts/{id}/consents, e.g. a withdrawal)."
)


class ConsentIn(InputSchema):
    action: Any = Field(
        None,
        description="grant, withdraw, object, lift_objection, confirm, expire; contact-wide: "
        "restrict, lift_restriction, object_marketing, lift_marketing_objection, "
        "set_preferences (how and when they want to be contacted, described in note).",
    )
    purpose: Any = Field(None, description="The purpose's key (none for contact-wide actions).")
    channel: Any = Field(
        None, description="email, call, sms, messaging, post, in_person; none: all."
    )
    point: Any = Field(None, description="One address or number of that channel.")
    method: Any = Field(
        None, description="checkbox, double_opt_in, verbal, paper, email, link (how it was said)."
    )
    given_at: Any = Field(None, description="When the person gave it (ISO 8601); default now.")
    valid_until: Any = Field(None, description="A grant that lapses at this moment.")
    text_version: Any = Field(
        None, description="The consent text shown (a checkbox grant: default the current one)."
    )
    ip_address: Any = Field(None, description="The person's address when they gave it (evidence).")
    user_agent: Any = Field(None, description="Their browser (evidence).")
    reference: Any = Field(None, description="Your reference, e.g. an import batch or form number.")
    note: Any = None
    confirms: Any = Field(None, description="For confirm: the double opt-in request's id.")


class EventOut(BaseModel):
    id: int
    seq: int
    contact_id: int
    purpose: str
    lawful_basis: str
    action: str
    channel: str
    point: str
    given_at: dt.datetime
    recorded_at: dt.datetime
    valid_until: dt.datetime | None
    source: str
    source_ref: str
    reference: str
    method: str
    text_version: int | None
    text_sha256: str
    text: str
    ip_address: str
    user_agent: str
    token_id: str
    needs_confirmation: bool
    confirms: int | None
    confirmed_by: int | None
    recorded_by: str
    note: str
    hash: str
    prev_hash: str


class ChannelOut(BaseModel):
    status: str | None
    allowed: bool
    rule: str
    reason: str
    until: dt.datetime | None


class PurposeStateOut(BaseModel):
    purpose: str
    name: str
    lawful_basis: str
    is_marketing: bool
    channels: dict[str, ChannelOut]


class ConsentsOut(BaseModel):
    contact_id: int
    restricted_since: dt.datetime | None
    marketing_objection_since: dt.datetime | None
    purposes: list[PurposeStateOut]
    history: list[EventOut]
    history_total: int


class RecordedOut(BaseModel):
    event: EventOut
    state: ConsentsOut


class EventPageOut(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


def _event_out(view: Any) -> dict[str, Any]:
    return dict(view.as_json())


def _consents_out(overview: ConsentOverview) -> dict[str, Any]:
    return {
        "contact_id": overview.contact_id,
        "restricted_since": overview.restricted_since,
        "marketing_objection_since": overview.marketing_objection_since,
        "purposes": [
            {
                "purpose": line.purpose.key,
                "name": line.purpose.name,
                "lawful_basis": line.purpose.lawful_basis,
                "is_marketing": line.purpose.is_marketing,
                "channels": {
                    c.channel: {
                        "status": c.status or None,
                        "allowed": c.verdict.allowed,
                        "rule": c.verdict.rule,
                        "reason": c.verdict.reason,
                        "until": c.verdict.until,
                    }
                    for c in line.channels
                },
            }
            for line in overview.purposes
        ],
        "history": [_event_out(e) for e in overview.history],
        "history_total": overview.history_total,
    }


def _overview(request: HttpRequest, contact_id: int) -> dict[str, Any]:
    return _consents_out(selectors.consent_overview(actor=actor(request), contact_id=contact_id))


@contact_router.get(
    "/contacts/{contact_id}/consents",
    response={200: ConsentsOut, **READ_ERRORS},
    summary="A contact's consent",
)
def contact_consents(request: HttpRequest, contact_id: ObjectId) -> dict[str, Any]:
    """What the consent gate says now for each purpose and channel (`allowed`, `rule`,
    `reason`, `until`), contact-wide states, and the newest 100 events (all of them:
    `GET /consent-events?contact=ID`)."""
    Contact.objects.only("pk").get(pk=contact_id)
    return _overview(request, contact_id)


@contact_router.post(
    "/contacts/{contact_id}/consents",
    response={201: RecordedOut, **WRITE_ERRORS},
    summary="Record a consent event",
)
def record_consent(request: HttpRequest, contact_id: ObjectId, payload: ConsentIn) -> Status[Any]:
    """Append one event to the ledger (`source` is `api`); the state changes at once.
    Invalid input gets 422 naming each field, and nothing is recorded."""
    Contact.objects.only("pk").get(pk=contact_id)
    event = services.consent_record(
        actor=actor(request), contact_id=contact_id, data=sent(payload), via="api"
    )
    view = selectors.consent_event_get(actor=actor(request), event_id=event.pk)
    return Status(201, {"event": _event_out(view), "state": _overview(request, contact_id)})


APPEND_ONLY_ERRORS: dict[int, Any] = {401: Detail, 403: Detail, 404: Detail, 405: Detail}


def _append_only(response: HttpResponse, allow: str) -> Status[Any]:
    response["Allow"] = allow
    return Status(405, {"detail": APPEND_ONLY})


@contact_router.api_operation(
    ["PUT", "PATCH", "DELETE"],
    "/contacts/{contact_id}/consents",
    response=APPEND_ONLY_ERRORS,
    summary="(Not allowed: the ledger is append-only)",
)
def change_consents(
    request: HttpRequest, contact_id: ObjectId, response: HttpResponse
) -> Status[Any]:
    """Always 405: consent is changed by recording a new event with POST."""
    return _append_only(response, "GET, POST")


class EventParams(Schema):
    contact: int | None = Field(None, ge=1, le=2**63 - 1, description="Events of this contact.")
    purpose: str = Field("", max_length=50, description="A purpose's key.")
    action: str = Field("", max_length=32)
    channel: str = Field("", max_length=16, description="A channel, or any (every channel).")
    source: str = Field("", max_length=20, description="form, import, api, user, system, …")
    recorded_after: str = Field("", max_length=40, description="Recorded at or after (ISO 8601).")
    recorded_before: str = Field("", max_length=40, description="Recorded before (ISO 8601).")
    order: str = Field("-seq", description="seq (oldest first) or -seq (newest first).")
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


@router.get("", response={200: EventPageOut, **READ_ERRORS}, summary="List consent events")
def list_events(request: HttpRequest, params: Query[EventParams]) -> dict[str, Any]:
    """The ledger, `limit` rows at a time (`next_cursor`); with `order=seq` from the
    first row on, to follow it as it grows."""
    filters = EventFilters(
        contact=params.contact,
        purpose=params.purpose.strip(),
        action=params.action.strip(),
        channel=params.channel.strip(),
        source=params.source.strip(),
        recorded_after=params.recorded_after.strip(),
        recorded_before=params.recorded_before.strip(),
        order=params.order.strip(),
    )
    page = selectors.consent_event_list(
        actor=actor(request), filters=filters, cursor=params.cursor, limit=params.limit
    )
    return {"items": [_event_out(e) for e in page.items], "next_cursor": page.next_cursor}


@router.get("/{event_id}", response={200: EventOut, **READ_ERRORS}, summary="Read a consent event")
def get_event(request: HttpRequest, event_id: ObjectId) -> dict[str, Any]:
    """One row with the full consent text the person was shown."""
    return _event_out(selectors.consent_event_get(actor=actor(request), event_id=event_id))


@router.api_operation(
    ["PUT", "PATCH", "DELETE"],
    "/{event_id}",
    response=APPEND_ONLY_ERRORS,
    summary="(Not allowed: the ledger is append-only)",
)
def change_event(request: HttpRequest, event_id: ObjectId, response: HttpResponse) -> Status[Any]:
    """Always 405, whatever the body: a ledger row is never changed or deleted."""
    return _append_only(response, "GET")
