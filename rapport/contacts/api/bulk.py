"""/api/v1/contacts/bulk and /api/v1/organizations/bulk: one action on many records,
chosen by ids or by a filter. Both routers come from ``bulk_router_for``; only the
filter schema and the actions differ."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from pydantic import create_model

from rapport.contacts.api._filters import contact_filters, organization_filters
from rapport.contacts.api._http import READ_ERRORS, VIA, WRITE_ERRORS, ObjectId, actor
from rapport.contacts.models import BulkJob, Contact
from rapport.contacts.schemas import MAX_ID, InputSchema
from rapport.contacts.selectors import CONTACT_SORTS, SORTS
from rapport.contacts.services import bulk
from rapport.core.errors import InvalidInput


class BulkFilter(InputSchema):
    """The same search, filters and sort as GET /contacts takes."""

    q: str = Field("", max_length=200)
    tag: list[str] = Field([], max_length=20)
    owner: str | None = Field(None, max_length=150)
    organization: int | None = Field(None, ge=1, le=MAX_ID)
    lifecycle_stage: Literal[tuple(Contact.Lifecycle.values)] | None = None  # type: ignore[valid-type]
    country: str | None = Field(None, max_length=2)
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    contacted_after: dt.datetime | None = None
    not_contacted_since: dt.datetime | None = None
    next_step: Literal["any", "none", "overdue"] | None = None
    reach_out_due: bool = False
    custom: dict[str, str] = Field(
        {}, description="`<key>` (or `<key>__gte`, `<key>__lte`) → value, as `custom.<key>=`."
    )
    sort: Literal[tuple(CONTACT_SORTS)] | None = None  # type: ignore[valid-type]


class OrganizationBulkFilter(InputSchema):
    """The same search, filters and sort as GET /organizations takes."""

    q: str = Field("", max_length=200)
    tag: list[str] = Field([], max_length=20)
    owner: str | None = Field(None, max_length=150)
    parent: int | None = Field(None, ge=1, le=MAX_ID)
    industry: str | None = Field(None, max_length=200)
    country: str | None = Field(None, max_length=2)
    custom: dict[str, str] = Field(
        {}, description="`<key>` (or `<key>__gte`, `<key>__lte`) → value, as `custom.<key>=`."
    )
    sort: Literal[tuple(SORTS)] | None = None  # type: ignore[valid-type]


def _bulk_in(kind: str, filter_schema: type[InputSchema]) -> type[InputSchema]:
    """The request body of POST /<kind>/bulk."""
    actions = BulkJob.ACTIONS[kind]
    singular = kind.removesuffix("s")
    stage = ", a lifecycle stage (set_stage)" if "set_stage" in actions else ""
    fields: dict[str, Any] = {
        "action": (
            Literal[actions],  # type: ignore[valid-type]
            Field(description=f"What to do to every selected {singular}."),
        ),
        "value": (
            str,
            Field(
                "",
                max_length=200,
                description="The tag name (tag, untag), a username or empty for nobody "
                f"(set_owner){stage}; unused by delete.",
            ),
        ),
        "ids": (
            list[int] | None,
            Field(
                None,
                max_length=bulk.MAX_SELECTION,
                description=f"The {kind} to change. Give either `ids` or `filter`.",
            ),
        ),
        "filter": (
            filter_schema | None,
            Field(
                None, description=f"Every {singular} the list shows for this search and filters."
            ),
        ),
        "expected_count": (
            int | None,
            Field(
                None,
                ge=0,
                le=bulk.MAX_SELECTION,
                description=f"How many {kind} the caller expects `ids` or `filter` to "
                "select (as a list's `count` said); when another number does, nothing is "
                "done and the answer is 412.",
            ),
        ),
    }
    name = "BulkIn" if kind == "contacts" else f"{kind.title()}BulkIn"
    schema: type[InputSchema] = create_model(name, __base__=InputSchema, **fields)
    return schema


class BulkFailureOut(Schema):
    id: int
    name: str
    message: str


class BulkJobOut(Schema):
    id: int
    action: str
    value: str
    status: Literal["queued", "running", "done", "failed"] = Field(
        description="queued and running: poll its `Location` until done or failed."
    )
    kind: Literal["contacts", "organizations"]
    total: int = Field(description="Records selected.")
    done: int = Field(description="Records handled so far.")
    changed: int = Field(description="Records changed (or deleted).")
    failed: int = Field(description="Records that could not be changed.")
    failures: list[BulkFailureOut] = Field(
        description="The first 100 records that could not be changed, with the reason."
    )
    error: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def job_out(job: BulkJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "kind": job.kind,
        "action": job.action,
        "value": job.value,
        "status": job.status,
        "total": job.total,
        "done": job.done,
        "changed": job.changed,
        "failed": job.failed,
        "failures": job.failures,
        "error": job.error,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def bulk_router_for(
    kind: str, filter_schema: type[InputSchema], to_filters: Callable[[Any, dict[str, str]], Any]
) -> Router:
    """POST /<kind>/bulk and GET /<kind>/bulk/{id} for one kind of record."""
    router = Router(tags=[kind])
    body = _bulk_in(kind, filter_schema)
    actions = BulkJob.ACTIONS[kind]
    changes = ", ".join(a for a in actions if a != "delete")

    def start_bulk(request: HttpRequest, payload: Any, response: HttpResponse) -> Any:
        if (payload.ids is None) == (payload.filter is None):
            raise InvalidInput.single("ids", "Give either ids or filter.")
        spec = payload.filter
        job = bulk.bulk_start(
            kind=kind,
            actor=actor(request),
            action=payload.action,
            value=payload.value,
            ids=payload.ids,
            q=spec.q if spec else "",
            filters=to_filters(spec, spec.custom) if spec is not None else None,
            sort=(spec.sort or "") if spec else "",
            via=VIA,
            expected_count=payload.expected_count,
        )
        if job.is_active:
            response["Location"] = f"{request.path.rstrip('/')}/{job.pk}"
            return Status(202, job_out(job))
        return job_out(job)

    start_bulk.__annotations__["payload"] = body  # the kind's own schema
    router.post(
        "",
        response={200: BulkJobOut, 202: BulkJobOut, **WRITE_ERRORS},
        summary=f"Change or delete many {kind}",
        operation_id=f"{kind}_bulk_start",
        description=f"Run one of {changes} or delete on the {kind} given by `ids` or "
        "matched by `filter`. Each one changes as a PATCH would, with its own history "
        f"entry. Up to {bulk.BACKGROUND_ABOVE} are done before the answer (200); more run "
        "in the background (202, with `Location` to poll). With `expected_count`, another "
        "number selected is a 412 and nothing is done.",
    )(start_bulk)

    @router.get(
        "/{job_id}",
        response={200: BulkJobOut, **READ_ERRORS},
        summary=f"A bulk action on {kind}",
        operation_id=f"{kind}_bulk_get",
        description="A bulk action's status and progress, for who started it (or an admin).",
    )
    def get_bulk(request: HttpRequest, job_id: ObjectId) -> Any:
        return job_out(bulk.bulk_job_get(actor=actor(request), job_id=job_id, kind=kind))

    return router


bulk_router = bulk_router_for("contacts", BulkFilter, contact_filters)
organizations_bulk_router = bulk_router_for(
    "organizations", OrganizationBulkFilter, organization_filters
)
