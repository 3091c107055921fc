"""/api/v1/segments and /api/v1/lists: saved segments (CRUD, exact count, members a page
at a time, why a contact is in), ad-hoc queries (preview, parse to the builder's tree,
render a tree to text) and static lists (CRUD, add and remove members)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from rapport.contacts.api._http import (
    READ_ERRORS,
    VIA,
    WRITE_ERRORS,
    ObjectId,
    actor,
    aware,
    expected_version,
)
from rapport.contacts.schemas import MAX_ID, InputSchema
from rapport.core.errors import InvalidInput
from rapport.segments import selectors, services
from rapport.segments.models import ContactList, ListMember, Segment
from rapport.segments.query import TreeError, from_json, render, to_json

router = Router(tags=["segments"])
lists_router = Router(tags=["lists"])


class SegmentIn(InputSchema):
    name: Any = None
    query: Any = Field(None, description="The query as text (docs/segments.md).")
    tree: Any = Field(None, description="Or the query as the builder's JSON tree.")
    description: Any = None
    shared: Any = None


class SegmentOut(BaseModel):
    id: int
    name: str
    description: str
    query: str
    tree: dict[str, Any]
    shared: bool
    owner: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class QueryIn(InputSchema):
    query: Any = None
    tree: Any = None
    limit: int = Field(10, ge=0, le=selectors.MAX_PAGE)


class MemberOut(BaseModel):
    id: int
    name: str
    email: str | None
    stage: str
    owner: str | None
    score: int | None = Field(None, description="The value of the score sorted by, if any.")


class MembersOut(BaseModel):
    items: list[MemberOut]
    next_cursor: str | None


class PreviewOut(BaseModel):
    query: str
    tree: dict[str, Any]
    count: int
    sample: list[MemberOut]


class CountOut(BaseModel):
    count: int


class ParsedOut(BaseModel):
    query: str
    tree: dict[str, Any]


class ExplainOut(BaseModel):
    contact: int
    holds: bool
    explanation: dict[str, Any]


class MembersParams(Schema):
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=selectors.MAX_PAGE)
    sort: str = Field("", max_length=60, description=f"Sort by {selectors.SORT_HELP}.")


class ExplainParams(Schema):
    contact: int = Field(..., ge=1, le=MAX_ID)


def _etag(obj: Segment | ContactList) -> str:
    return f'"{obj.pk}-{obj.version}"'


def _segment_out(segment: Segment) -> dict[str, Any]:
    try:
        tree = to_json(selectors.query_tree(segment.query))
    except InvalidInput:
        tree = {}  # saved before a limit it now exceeds: shown as text only
    return {
        "id": segment.pk,
        "name": segment.name,
        "description": segment.description,
        "query": segment.query,
        "tree": tree,
        "shared": segment.shared,
        "owner": segment.owner.username if segment.owner_id and segment.owner else None,
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
    }


def _visible(request: HttpRequest, pk: int) -> Segment:
    return get_object_or_404(
        selectors.segments_visible(actor(request)).select_related("owner"), pk=pk
    )


def _query_text(payload: InputSchema) -> str:
    data = payload.model_dump(exclude_unset=True)
    if data.get("tree") is not None:
        try:
            text = render(from_json(data["tree"], "tree"))
        except TreeError as exc:
            raise InvalidInput.single("tree", str(exc)) from None
        selectors.query_tree(text)  # the limits of the text apply to a tree too
        return text
    if not isinstance(data.get("query"), str):
        raise InvalidInput.single("query", "Send the query as text (query) or as a tree.")
    return str(data["query"])


@router.get("", response=list[SegmentOut], summary="The segments you may see")
def segment_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        _segment_out(s) for s in selectors.segments_visible(actor(request)).select_related("owner")
    ]


@router.post("", response={201: SegmentOut, **WRITE_ERRORS}, summary="Save a segment")
def segment_create(request: HttpRequest, response: HttpResponse, payload: SegmentIn) -> Status:
    segment = services.segment_create(
        actor=actor(request), data=payload.model_dump(exclude_unset=True), via=VIA
    )
    response["ETag"] = _etag(segment)
    return Status(201, _segment_out(segment))


@router.post("/preview", response={200: PreviewOut, **READ_ERRORS}, summary="Count a query now")
def segment_preview(request: HttpRequest, payload: QueryIn) -> dict[str, Any]:
    """The exact count of the contacts a query selects, and the first of them (``limit``)."""
    text = _query_text(payload)
    matching = selectors.query_matching(actor(request), text)
    tree = selectors.query_tree(text)
    sample = list(matching.select_related("owner").order_by("sort_name", "pk")[: payload.limit])
    return {
        "query": render(tree),
        "tree": to_json(tree),
        "count": matching.count(),
        "sample": selectors.members_out(sample),
    }


@router.post("/parse", response={200: ParsedOut, **READ_ERRORS}, summary="Text or tree, both ways")
def segment_parse(request: HttpRequest, payload: QueryIn) -> dict[str, Any]:
    """A query's canonical text and its tree, from either (what the builder and the text
    box exchange). Only the syntax is checked, not the fields."""
    tree = selectors.query_tree(_query_text(payload))
    return {"query": render(tree), "tree": to_json(tree)}


@router.get("/{segment_id}", response={200: SegmentOut, **READ_ERRORS})
def segment_get(
    request: HttpRequest, response: HttpResponse, segment_id: ObjectId
) -> dict[str, Any]:
    segment = _visible(request, segment_id)
    response["ETag"] = _etag(segment)
    return _segment_out(segment)


@router.patch("/{segment_id}", response={200: SegmentOut, **WRITE_ERRORS})
def segment_update(
    request: HttpRequest, response: HttpResponse, segment_id: ObjectId, payload: SegmentIn
) -> dict[str, Any]:
    segment = _visible(request, segment_id)
    updated = services.segment_update(
        actor=actor(request),
        segment=segment,
        data=payload.model_dump(exclude_unset=True),
        expected_version=expected_version(request, segment),
        via=VIA,
    )
    response["ETag"] = _etag(updated)
    return _segment_out(updated)


@router.delete("/{segment_id}", response={204: None, **WRITE_ERRORS})
def segment_delete(request: HttpRequest, segment_id: ObjectId) -> Status:
    segment = _visible(request, segment_id)
    services.segment_delete(
        actor=actor(request), segment=segment,
        expected_version=expected_version(request, segment), via=VIA,
    )  # fmt: skip
    return Status(204, None)


@router.get("/{segment_id}/count", response={200: CountOut, **READ_ERRORS})
def segment_count(request: HttpRequest, segment_id: ObjectId) -> dict[str, Any]:
    """The exact number of members now."""
    segment = _visible(request, segment_id)
    return {"count": selectors.query_count(actor(request), segment.query)}


@router.get("/{segment_id}/members", response={200: MembersOut, **READ_ERRORS})
def segment_members(
    request: HttpRequest, segment_id: ObjectId, params: Query[MembersParams]
) -> dict[str, Any]:
    """The members, by name or by a score (``sort``), a page at a time: pass
    ``next_cursor`` back as ``cursor`` (with the same ``sort``)."""
    segment = _visible(request, segment_id)
    page = selectors.query_members(
        actor(request), segment.query, cursor=params.cursor, limit=params.limit,
        sort=params.sort,
    )  # fmt: skip
    return {"items": selectors.members_out(page.items), "next_cursor": page.next_cursor}


class ChangeOut(BaseModel):
    contact: int
    name: str
    change: str
    at: dt.datetime


class ChangesParams(Schema):
    since: dt.datetime = Field(..., description="From when (ISO 8601).")


@router.get("/{segment_id}/changes", response={200: list[ChangeOut], **READ_ERRORS})
def segment_changes(
    request: HttpRequest, segment_id: ObjectId, params: Query[ChangesParams]
) -> list[dict[str, Any]]:
    """Who entered and who left since ``since``, as recorded (after contact changes within
    a minute or so, and at least every 15 minutes), newest first."""
    segment = _visible(request, segment_id)
    since = aware(params.since)
    return [
        {"contact": c.contact_id, "name": c.name, "change": c.what, "at": c.at}
        for c in selectors.segment_changes(segment, since=since)
    ]


@router.get("/{segment_id}/explain", response={200: ExplainOut, **READ_ERRORS})
def segment_explain(
    request: HttpRequest, segment_id: ObjectId, params: Query[ExplainParams]
) -> dict[str, Any]:
    """Why a contact is in the segment, or not: each clause, and whether it holds."""
    segment = _visible(request, segment_id)
    found = selectors.query_explain(actor(request), segment.query, params.contact)
    return {"contact": params.contact, "holds": found.holds, "explanation": found.as_dict()}


# -- lists ------------------------------------------------------------------------------------


class ListIn(InputSchema):
    name: Any = None
    description: Any = None
    shared: Any = None


class ListOut(BaseModel):
    id: int
    name: str
    description: str
    shared: bool
    owner: str | None
    size: int


class IdsIn(InputSchema):
    ids: list[int] = Field(..., max_length=services.MAX_LIST_ADD)


class AddIn(InputSchema):
    ids: list[int] | None = Field(
        None, max_length=services.MAX_LIST_ADD, description="Contact ids."
    )
    query: str | None = Field(
        None, max_length=10_000, description="Or every contact a segment query selects."
    )
    import_batch: int | None = Field(
        None, description="Or every contact an import created or updated."
    )


class ChangedOut(BaseModel):
    changed: int
    size: int


def _list_out(found: ContactList) -> dict[str, Any]:
    return {
        "id": found.pk,
        "name": found.name,
        "description": found.description,
        "shared": found.shared,
        "owner": found.owner.username if found.owner_id and found.owner else None,
        "size": ListMember.objects.filter(list=found).count(),
    }


def _visible_list(request: HttpRequest, pk: int) -> ContactList:
    return get_object_or_404(selectors.lists_visible(actor(request)).select_related("owner"), pk=pk)


@lists_router.get("", response=list[ListOut], summary="The lists you may see")
def list_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        _list_out(found)
        for found in selectors.lists_visible(actor(request)).select_related("owner")
    ]


@lists_router.post("", response={201: ListOut, **WRITE_ERRORS})
def list_create(request: HttpRequest, response: HttpResponse, payload: ListIn) -> Status:
    found = services.list_create(
        actor=actor(request), data=payload.model_dump(exclude_unset=True), via=VIA
    )
    response["ETag"] = _etag(found)
    return Status(201, _list_out(found))


@lists_router.get("/{list_id}", response={200: ListOut, **READ_ERRORS})
def list_get(request: HttpRequest, list_id: ObjectId) -> dict[str, Any]:
    return _list_out(_visible_list(request, list_id))


@lists_router.delete("/{list_id}", response={204: None, **WRITE_ERRORS})
def list_delete(request: HttpRequest, list_id: ObjectId) -> Status:
    services.list_delete(
        actor=actor(request), contact_list=_visible_list(request, list_id), via=VIA
    )
    return Status(204, None)


@lists_router.get("/{list_id}/members", response={200: MembersOut, **READ_ERRORS})
def list_members(
    request: HttpRequest, list_id: ObjectId, params: Query[MembersParams]
) -> dict[str, Any]:
    found = _visible_list(request, list_id)
    page = selectors.query_members(
        actor(request), f"in:{render_name(found.name)}", cursor=params.cursor,
        limit=params.limit, sort=params.sort,
    )  # fmt: skip
    return {"items": selectors.members_out(page.items), "next_cursor": page.next_cursor}


@lists_router.post("/{list_id}/members", response={200: ChangedOut, **WRITE_ERRORS})
def list_add(request: HttpRequest, list_id: ObjectId, payload: AddIn) -> dict[str, Any]:
    """Add contacts by id, every contact a query selects, or the contacts of an import
    (one of ``ids``, ``query``, ``import_batch``); those already in it stay once."""
    found = _visible_list(request, list_id)
    given = [k for k in ("ids", "query", "import_batch") if getattr(payload, k) is not None]
    if len(given) != 1:
        raise InvalidInput.single("ids", "Send one of ids, query or import_batch.")
    if payload.ids is not None:
        added = services.list_add(
            actor=actor(request), contact_list=found, contact_ids=payload.ids, via=VIA
        )
    else:
        contacts = (
            selectors.query_matching(actor(request), payload.query)
            if payload.query is not None
            else selectors.import_contacts(actor(request), payload.import_batch)
        )
        added = services.list_add_matching(
            actor=actor(request), contact_list=found, contacts=contacts, via=VIA
        )
    return {"changed": added, "size": ListMember.objects.filter(list=found).count()}


@lists_router.post("/{list_id}/members/remove", response={200: ChangedOut, **WRITE_ERRORS})
def list_remove(request: HttpRequest, list_id: ObjectId, payload: IdsIn) -> dict[str, Any]:
    found = _visible_list(request, list_id)
    removed = services.list_remove(
        actor=actor(request), contact_list=found, contact_ids=payload.ids, via=VIA
    )
    return {"changed": removed, "size": ListMember.objects.filter(list=found).count()}


def render_name(name: str) -> str:
    from rapport.segments.query.tree import quote

    return quote(name)
