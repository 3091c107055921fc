"""Merges: merge contacts or organizations, list and read merges, undo one, compare first."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from rapport.contacts.api._http import READ_ERRORS, VIA, WRITE_ERRORS, ObjectId, actor
from rapport.merges import selectors, services
from rapport.merges.models import Merge
from rapport.merges.services._merge import MAX_MERGED

router = Router(tags=["merges"])


class MergeIn(Schema):
    survivor: int = Field(description="The id of the record that is kept.")
    merged: list[int] = Field(
        max_length=MAX_MERGED, description="The ids of the records merged into it."
    )
    choices: dict[str, int] = Field(
        default_factory=dict,
        description=(
            "Field name → id of the record whose value is kept (see GET /merges/proposal); "
            "fields not given take the most recently updated valid, non-blank value."
        ),
    )

    model_config = {"extra": "forbid"}


class MergeOut(Schema):
    id: int
    kind: str
    survivor: int
    merged: list[int]
    names: dict[str, str]
    choices: dict[str, int]
    actor: str | None
    via: str
    at: Any
    undone_at: Any = None
    undone_by: str | None = None
    undo_notes: list[str] = []


class MergePage(Schema):
    items: list[MergeOut]
    next_cursor: str | None


class MergeListParams(Schema):
    kind: str | None = None
    cursor: str | None = None
    limit: int = 25


class ProposalParams(Schema):
    kind: str = Field(description="contact or organization")
    ids: str = Field(
        max_length=MAX_MERGED * 21, description="Comma-separated ids; the first is the survivor."
    )


class ProposedFieldOut(Schema):
    name: str
    label: str
    values: dict[str, str]
    differ: bool
    default: int
    reason: str
    choosable: bool


class ProposalOut(Schema):
    kind: str
    survivor: int
    ids: list[int]
    fields: list[ProposedFieldOut]


def merge_out(merge: Merge) -> dict[str, Any]:
    return {
        "id": merge.pk,
        "kind": merge.kind,
        "survivor": merge.survivor_id,
        "merged": merge.merged_ids,
        "names": merge.names,
        "choices": merge.choices,
        "actor": merge.actor.username if merge.actor else None,
        "via": merge.via,
        "at": merge.at,
        "undone_at": merge.undone_at,
        "undone_by": merge.undone_by.username if merge.undone_by else None,
        "undo_notes": merge.undo_notes,
    }


def _created(request: HttpRequest, response: HttpResponse, merge: Merge) -> Status[dict[str, Any]]:
    response["Location"] = f"/api/v1/merges/{merge.pk}"
    merge = selectors.merge_get(actor=actor(request), merge_id=merge.pk)
    return Status(201, merge_out(merge))


@router.post("/contacts", response={201: MergeOut, **WRITE_ERRORS}, summary="Merge contacts")
def merge_contacts(
    request: HttpRequest, payload: MergeIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    """Everything the merged contacts have moves to the survivor; their ids redirect to it."""
    merge = services.contacts_merge(
        actor=actor(request),
        survivor_id=payload.survivor,
        merged_ids=payload.merged,
        choices=payload.choices,
        via=VIA,
    )
    return _created(request, response, merge)


@router.post(
    "/organizations", response={201: MergeOut, **WRITE_ERRORS}, summary="Merge organizations"
)
def merge_organizations(
    request: HttpRequest, payload: MergeIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    merge = services.organizations_merge(
        actor=actor(request),
        survivor_id=payload.survivor,
        merged_ids=payload.merged,
        choices=payload.choices,
        via=VIA,
    )
    return _created(request, response, merge)


@router.get(
    "/proposal", response={200: ProposalOut, **READ_ERRORS}, summary="Compare records to merge"
)
def merge_proposal(request: HttpRequest, params: Query[ProposalParams]) -> dict[str, Any]:
    """Each field's values side by side, whether they differ and the default pick."""
    proposal = selectors.merge_proposal(
        actor=actor(request), kind=params.kind, ids=[p for p in params.ids.split(",") if p]
    )
    return {
        "kind": proposal.kind,
        "survivor": proposal.survivor_id,
        "ids": proposal.ids,
        "fields": [
            {
                "name": f.name,
                "label": f.label,
                "values": {str(k): v for k, v in f.values.items()},
                "differ": f.differ,
                "default": f.default,
                "reason": f.reason,
                "choosable": f.choosable,
            }
            for f in proposal.fields
        ],
    }


@router.get("", response={200: MergePage, **READ_ERRORS}, summary="List merges")
def list_merges(request: HttpRequest, params: Query[MergeListParams]) -> dict[str, Any]:
    """Newest first."""
    page = selectors.merge_list(
        actor=actor(request), cursor=params.cursor, kind=params.kind, limit=params.limit
    )
    return {"items": [merge_out(m) for m in page.items], "next_cursor": page.next_cursor}


@router.get("/{merge_id}", response={200: MergeOut, **READ_ERRORS}, summary="Read a merge")
def get_merge(request: HttpRequest, merge_id: ObjectId) -> dict[str, Any]:
    return merge_out(selectors.merge_get(actor=actor(request), merge_id=merge_id))


@router.post("/{merge_id}/undo", response={200: MergeOut, **WRITE_ERRORS}, summary="Undo a merge")
def undo_merge(request: HttpRequest, merge_id: ObjectId) -> dict[str, Any]:
    """The merged records come back with their ids; edits made since are kept (see docs)."""
    selectors.merge_get(actor=actor(request), merge_id=merge_id)  # 404 for an unknown id
    merge = services.merge_undo(actor=actor(request), merge_id=merge_id, via=VIA)
    return merge_out(selectors.merge_get(actor=actor(request), merge_id=merge.pk))
