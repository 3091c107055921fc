"""/api/v1/contacts/bulk: one action on many contacts, chosen by ids or by a filter."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status

from rapport.contacts import selectors
from rapport.contacts.api._http import READ_ERRORS, VIA, WRITE_ERRORS, ObjectId, actor, aware
from rapport.contacts.models import BulkJob, Contact
from rapport.contacts.schemas import MAX_ID, InputSchema
from rapport.contacts.selectors import SORTS
from rapport.contacts.services import bulk
from rapport.core.errors import InvalidInput

bulk_router = Router(tags=["contacts"])


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
    custom: dict[str, str] = Field(
        {}, description="`<key>` (or `<key>__gte`, `<key>__lte`) → value, as `custom.<key>=`."
    )
    sort: Literal[tuple(SORTS)] | None = None  # type: ignore[valid-type]


class BulkIn(InputSchema):
    action: Literal["tag", "untag", "set_owner", "set_stage", "delete"] = Field(
        description="What to do to every selected contact."
    )
    value: str = Field(
        "",
        max_length=200,
        description="The tag name (tag, untag), a username or empty for nobody (set_owner), "
        "a lifecycle stage (set_stage); unused by delete.",
    )
    ids: list[int] | None = Field(
        None,
        max_length=bulk.MAX_SELECTION,
        description="The contacts to change. Give either `ids` or `filter`.",
    )
    filter: BulkFilter | None = Field(
        None, description="Every contact the list shows for this search and these filters."
    )


class BulkFailureOut(Schema):
    id: int
    name: str
    message: str


class BulkJobOut(Schema):
    id: int
    action: str
    value: str
    status: Literal["queued", "running", "done", "failed"] = Field(
        description="queued and running: poll GET /contacts/bulk/{id} until done or failed."
    )
    total: int = Field(description="Contacts selected.")
    done: int = Field(description="Contacts handled so far.")
    changed: int = Field(description="Contacts changed (or deleted).")
    failures: list[BulkFailureOut] = Field(description="Contacts that could not be changed.")
    error: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def job_out(job: BulkJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "action": job.action,
        "value": job.value,
        "status": job.status,
        "total": job.total,
        "done": job.done,
        "changed": job.changed,
        "failures": job.failures,
        "error": job.error,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


@bulk_router.post(
    "",
    response={200: BulkJobOut, 202: BulkJobOut, **WRITE_ERRORS},
    summary="Change or delete many contacts",
)
def start_bulk(request: HttpRequest, payload: BulkIn, response: HttpResponse) -> Any:
    """Tag, untag, set the owner or lifecycle stage of, or delete the contacts given by
    `ids` or matched by `filter`. Each contact changes as a PATCH would, with its own
    history entry. Up to 200 contacts are done before the answer (200); more run in the
    background (202, with `Location` to poll)."""
    if (payload.ids is None) == (payload.filter is None):
        raise InvalidInput.single("ids", "Give either ids or filter.")
    spec = payload.filter
    filters = None
    if spec is not None:
        filters = selectors.ContactFilters(
            tags=spec.tag,
            owner=spec.owner,
            organization=spec.organization,
            lifecycle_stage=spec.lifecycle_stage,
            country=spec.country,
            created_after=aware(spec.created_after),
            created_before=aware(spec.created_before),
            updated_after=aware(spec.updated_after),
            updated_before=aware(spec.updated_before),
            custom=spec.custom,
        )
    job = bulk.contacts_bulk_start(
        actor=actor(request),
        action=payload.action,
        value=payload.value,
        ids=payload.ids,
        q=spec.q if spec else "",
        filters=filters,
        sort=(spec.sort or "") if spec else "",
        via=VIA,
    )
    if job.is_active:
        response["Location"] = f"{request.path.rstrip('/')}/{job.pk}"
        return Status(202, job_out(job))
    return job_out(job)


@bulk_router.get("/{job_id}", response={200: BulkJobOut, **READ_ERRORS}, summary="A bulk action")
def get_bulk(request: HttpRequest, job_id: ObjectId) -> Any:
    """A bulk action's status and progress, for who started it (or an admin)."""
    return job_out(bulk.bulk_job_get(actor=actor(request), job_id=job_id))
