"""/api/v1/views: saved views of the contact and organization lists (search, filters,
sort and columns under a name, private or shared)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from rapport.contacts.api._http import READ_ERRORS, WRITE_ERRORS, ObjectId, actor
from rapport.contacts.models import SavedView
from rapport.contacts.schemas import InputSchema
from rapport.contacts.services import saved_views

router = Router(tags=["views"])


class ViewIn(InputSchema):
    list_name: Any = Field(None, description="contacts or organizations")
    name: Any = None
    query: Any = Field("", description="The list's query string: q=…&tag=…&sort=…")
    columns: Any = Field(default_factory=list, description="Column keys, in order.")
    shared: Any = False


class ViewOut(BaseModel):
    id: int
    list_name: str
    name: str
    query: str
    columns: list[str]
    shared: bool
    owner: str | None
    url: str
    created_at: dt.datetime


class ViewParams(Schema):
    list_name: str = Field("contacts", pattern="^(contacts|organizations)$")


def _out(view: SavedView) -> dict[str, Any]:
    path = "/contacts/" if view.list_name == "contacts" else "/organizations/"
    return {
        "id": view.pk,
        "list_name": view.list_name,
        "name": view.name,
        "query": view.query,
        "columns": list(view.columns),
        "shared": view.shared,
        "owner": view.owner.username if view.owner else None,
        "url": f"{path}?{view.query + '&' if view.query else ''}view={view.pk}",
        "created_at": view.created_at,
    }


@router.get(
    "", response={200: list[ViewOut], **READ_ERRORS}, summary="Your views and the shared ones"
)
def view_list(request: HttpRequest, params: Query[ViewParams]) -> list[dict[str, Any]]:
    return [
        _out(v)
        for v in saved_views.saved_views_for(actor=actor(request), list_name=params.list_name)
    ]


@router.post("", response={201: ViewOut, **WRITE_ERRORS}, summary="Save a view")
def view_create(request: HttpRequest, payload: ViewIn) -> Status:
    view = saved_views.saved_view_create(actor=actor(request), data=payload.model_dump())
    return Status(201, _out(view))


@router.delete("/{view_id}", response={204: None, **WRITE_ERRORS})
def view_delete(request: HttpRequest, view_id: ObjectId) -> Status:
    user = actor(request)
    visible = SavedView.objects.filter(owner_id=user.pk) | SavedView.objects.filter(shared=True)
    saved_views.saved_view_delete(actor=user, view=get_object_or_404(visible, pk=view_id))
    return Status(204, None)
