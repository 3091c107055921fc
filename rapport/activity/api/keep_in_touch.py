"""Keep-in-touch cadences: per contact or per tag, "every N days"."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel, ConfigDict

from rapport.activity.models import KeepInTouch
from rapport.activity.services import keep_in_touch as services
from rapport.contacts.api._http import READ_ERRORS, WRITE_ERRORS, ObjectId, actor, sent
from rapport.core import policy

router = Router(tags=["keep-in-touch"])


class CadenceIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact_id: Any = Field(None, description="The contact (or give tag / tag_id).")
    tag: Any = Field(None, description="A tag's name: everyone with it.")
    tag_id: Any = None
    every_days: Any = Field(None, description="Reach out at least every so many days (1–3650).")


class CadenceChange(Schema):
    model_config = ConfigDict(extra="forbid")

    every_days: Any = None


class CadenceOut(BaseModel):
    id: int
    contact_id: int | None
    tag_id: int | None
    tag: str | None
    every_days: int
    created_at: dt.datetime


class CadencePage(BaseModel):
    items: list[CadenceOut]
    next_cursor: str | None


class CadenceParams(Schema):
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


def cadence_out(c: KeepInTouch) -> dict[str, Any]:
    return {
        "id": c.pk,
        "contact_id": c.contact_id,
        "tag_id": c.tag_id,
        "tag": c.tag.name if c.tag_id and c.tag else None,
        "every_days": c.every_days,
        "created_at": c.created_at,
    }


@router.get("", response={200: CadencePage, **READ_ERRORS}, summary="List cadences")
def list_cadences(request: HttpRequest, params: Query[CadenceParams]) -> dict[str, Any]:
    rows, next_cursor = services.keep_in_touch_list(
        actor=actor(request), cursor=params.cursor, limit=params.limit
    )
    return {"items": [cadence_out(c) for c in rows], "next_cursor": next_cursor}


@router.post("", response={201: CadenceOut, **WRITE_ERRORS}, summary="Set a cadence")
def set_cadence(request: HttpRequest, payload: CadenceIn, response: HttpResponse) -> Status[Any]:
    """Set the cadence of a contact or a tag (changing it when there is one already);
    every contact it covers gets its reach-out day recomputed."""
    cadence = services.keep_in_touch_set(actor=actor(request), data=sent(payload))
    response["Location"] = f"{request.path.rstrip('/')}/{cadence.pk}"
    return Status(201, cadence_out(cadence))


def _get(request: HttpRequest, cadence_id: int) -> KeepInTouch:
    policy.require(actor(request), "contacts.view")
    return KeepInTouch.objects.select_related("tag").get(pk=cadence_id)


@router.get("/{cadence_id}", response={200: CadenceOut, **READ_ERRORS}, summary="Read a cadence")
def get_cadence(request: HttpRequest, cadence_id: ObjectId) -> dict[str, Any]:
    return cadence_out(_get(request, cadence_id))


@router.patch(
    "/{cadence_id}", response={200: CadenceOut, **WRITE_ERRORS}, summary="Change a cadence"
)
def change_cadence(
    request: HttpRequest, cadence_id: ObjectId, payload: CadenceChange
) -> dict[str, Any]:
    cadence = services.keep_in_touch_update(
        actor=actor(request), cadence=_get(request, cadence_id), data=sent(payload)
    )
    return cadence_out(_get(request, cadence.pk))


@router.delete("/{cadence_id}", response={204: None, **WRITE_ERRORS}, summary="Remove a cadence")
def remove_cadence(request: HttpRequest, cadence_id: ObjectId) -> Status[None]:
    services.keep_in_touch_remove(actor=actor(request), cadence=_get(request, cadence_id))
    return Status(204, None)
