"""/api/v1/purposes: everyone may read them; admins create, change, archive and delete
(a purpose with ledger rows cannot be deleted, only archived). ETag / If-Match as for
contacts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Status
from pydantic import BaseModel

from rapport.consent import selectors, services
from rapport.consent.models import ConsentText, Purpose
from rapport.contacts.api._http import (
    READ_ERRORS,
    WRITE_ERRORS,
    ObjectId,
    actor,
    created,
    expected_version,
    replacement,
    sent,
    with_etag,
)
from rapport.contacts.schemas import InputSchema
from rapport.core import policy

router = Router(tags=["consent"])


class PurposeIn(InputSchema):
    """Every field optional on PATCH; PUT treats a field left out as empty."""

    key: Any = Field(None, description="Lower-case letters, digits, - and _; fixed once used.")
    name: Any = None
    lawful_basis: Any = Field(
        None,
        description="consent, contract, legal_obligation, vital_interest, public_task or "
        "legitimate_interest (GDPR Art. 6).",
    )
    description: Any = None
    retention_days: Any = Field(None, description="Days a grant lasts; null: until withdrawn.")
    is_marketing: Any = Field(None, description="Blocked by an objection to direct marketing.")
    data_categories: Any = Field(None, description="For the records of processing (Art. 30).")
    recipients: Any = Field(None, description="Who receives the data (Art. 30).")
    signup_enabled: Any = Field(None, description="Open the public double opt-in form.")
    signup_owner: Any = Field(None, description="Username the form adds contacts as.")
    archived: Any = Field(None, description="An archived purpose allows nothing.")
    text: Any = Field(
        None, description="The consent text people are shown; a new one is the next version."
    )
    text_language: Any = None


class TextOut(BaseModel):
    version: int
    sha256: str
    body: str
    language: str
    created_at: dt.datetime


class PurposeOut(BaseModel):
    id: int
    key: str
    name: str
    lawful_basis: str
    description: str
    retention_days: int | None
    is_marketing: bool
    data_categories: list[str]
    recipients: list[str]
    signup_enabled: bool
    signup_owner: str | None
    signup_url: str | None
    archived: bool
    archived_at: dt.datetime | None
    text: TextOut | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    etag: str


class PurposeListOut(BaseModel):
    items: list[PurposeOut]


def text_out(text: ConsentText | None) -> dict[str, Any] | None:
    if text is None:
        return None
    return {
        "version": text.version,
        "sha256": text.sha256,
        "body": text.body,
        "language": text.language,
        "created_at": text.created_at,
    }


def purpose_out(purpose: Purpose, request: HttpRequest) -> dict[str, Any]:
    signup = None
    if purpose.signup_enabled and not purpose.archived_at:
        signup = request.build_absolute_uri(f"/public/consent/{purpose.key}/")
    return {
        "id": purpose.pk,
        "key": purpose.key,
        "name": purpose.name,
        "lawful_basis": purpose.lawful_basis,
        "description": purpose.description,
        "retention_days": purpose.retention_days,
        "is_marketing": purpose.is_marketing,
        "data_categories": purpose.data_categories,
        "recipients": purpose.recipients,
        "signup_enabled": purpose.signup_enabled,
        "signup_owner": purpose.signup_owner.username if purpose.signup_owner else None,
        "signup_url": signup,
        "archived": purpose.archived_at is not None,
        "archived_at": purpose.archived_at,
        "text": text_out(selectors.purpose_text(purpose)),
        "created_at": purpose.created_at,
        "updated_at": purpose.updated_at,
        "version": purpose.version,
        "etag": purpose.etag,
    }


@router.get("", response={200: PurposeListOut, **READ_ERRORS}, summary="List purposes")
def list_purposes(request: HttpRequest) -> dict[str, Any]:
    """Every purpose by name, archived ones included (`archived`)."""
    rows = selectors.purpose_list(actor=actor(request))
    return {"items": [purpose_out(p, request) for p in rows]}


@router.post("", response={201: PurposeOut, **WRITE_ERRORS}, summary="Create a purpose")
def create_purpose(request: HttpRequest, payload: PurposeIn, response: HttpResponse) -> Status[Any]:
    purpose = services.purpose_create(actor=actor(request), data=sent(payload), via="api")
    purpose = selectors.purpose_get(actor=actor(request), purpose_id=purpose.pk)
    return created(request, response, purpose.pk, purpose.etag, purpose_out(purpose, request))


@router.get("/{purpose_id}", response={200: PurposeOut, **READ_ERRORS}, summary="Read a purpose")
def get_purpose(
    request: HttpRequest, purpose_id: ObjectId, response: HttpResponse
) -> dict[str, Any]:
    purpose = selectors.purpose_get(actor=actor(request), purpose_id=purpose_id)
    return with_etag(response, purpose.etag, purpose_out(purpose, request))


def _update(
    request: HttpRequest, purpose_id: int, data: dict[str, Any], response: HttpResponse
) -> dict[str, Any]:
    policy.require(actor(request), "purposes.manage")
    purpose = Purpose.objects.get(pk=purpose_id)
    services.purpose_update(
        actor=actor(request),
        purpose=purpose,
        data=data,
        expected_version=expected_version(request, purpose),  # type: ignore[arg-type]
        via="api",
    )
    purpose = selectors.purpose_get(actor=actor(request), purpose_id=purpose_id)
    return with_etag(response, purpose.etag, purpose_out(purpose, request))


@router.patch(
    "/{purpose_id}", response={200: PurposeOut, **WRITE_ERRORS}, summary="Change a purpose"
)
def patch_purpose(
    request: HttpRequest, purpose_id: ObjectId, payload: PurposeIn, response: HttpResponse
) -> dict[str, Any]:
    """Only the fields sent change; a new `text` is published as the next version."""
    return _update(request, purpose_id, sent(payload), response)


@router.put(
    "/{purpose_id}", response={200: PurposeOut, **WRITE_ERRORS}, summary="Replace a purpose"
)
def put_purpose(
    request: HttpRequest, purpose_id: ObjectId, payload: PurposeIn, response: HttpResponse
) -> dict[str, Any]:
    """Every field not sent becomes empty (the consent text stays: texts are never
    removed)."""
    data = replacement(payload, PurposeIn.model_fields)
    for name in ("text", "text_language"):
        if data.get(name) is None:
            del data[name]
    return _update(request, purpose_id, data, response)


@router.delete("/{purpose_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a purpose")
def delete_purpose(request: HttpRequest, purpose_id: ObjectId) -> Status[None]:
    """Only a purpose nothing was recorded for and no text was published for; archive
    the others (`PATCH {"archived": true}`)."""
    policy.require(actor(request), "purposes.manage")
    purpose = Purpose.objects.get(pk=purpose_id)
    services.purpose_delete(
        actor=actor(request),
        purpose=purpose,
        expected_version=expected_version(request, purpose),  # type: ignore[arg-type]
        via="api",
    )
    return Status(204, None)


class TextListOut(BaseModel):
    items: list[TextOut]


@router.get(
    "/{purpose_id}/texts", response={200: TextListOut, **READ_ERRORS}, summary="Consent texts"
)
def purpose_texts(request: HttpRequest, purpose_id: ObjectId) -> dict[str, Any]:
    """Every version of the purpose's consent text, newest first."""
    from rapport.consent.selectors.purposes import purpose_texts as texts

    purpose = selectors.purpose_get(actor=actor(request), purpose_id=purpose_id)
    return {"items": [text_out(t) for t in texts(actor=actor(request), purpose=purpose)]}
