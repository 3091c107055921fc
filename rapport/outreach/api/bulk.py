"""/api/v1/messages/bulk: one email to many contacts, chosen by ids or by the contact
list's search and filters, sent in the background through the contact gate; its
progress, counts by outcome and per-recipient results (JSON or CSV); the bulk sends one
started (an admin: everyone's), newest first."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from rapport.contacts.api._filters import contact_filters
from rapport.contacts.api._http import READ_ERRORS, VIA, WRITE_ERRORS, ObjectId, actor
from rapport.contacts.api.bulk import BulkFilter
from rapport.contacts.schemas import MAX_ID, InputSchema
from rapport.core.errors import InvalidInput
from rapport.outreach.api.messages import _base_url
from rapport.outreach.models import BulkSend
from rapport.outreach.selectors.bulk import MAX_LIMIT, bulk_send_list
from rapport.outreach.services import bulk

router = Router(tags=["messages"])


class BulkSendIn(InputSchema):
    ids: list[int] | None = Field(
        None, max_length=100_000, description="The contacts. Give either `ids` or `filter`."
    )
    filter: BulkFilter | None = Field(
        None, description="Every contact the list shows for this search and filters."
    )
    purpose: Any = Field(None, description="The purpose's key (newsletter).")
    template: Any = Field(None, description="A template's key (or id); else subject and body.")
    subject: Any = ""
    body_text: Any = ""
    body_html: Any = ""
    when: Any = Field(
        "now", description="now: send or record as blocked; next_allowed: queue until allowed."
    )


class CountsOut(BaseModel):
    sent: int
    queued: int
    blocked: int
    failed: int
    skipped: int
    pending: int


class BulkSendOut(BaseModel):
    id: int
    status: str
    purpose: str
    template: str | None
    subject: str
    started_by: str | None
    when: str
    total: int
    done: int
    counts: CountsOut
    error: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    results_url: str


class BulkSendPageOut(BaseModel):
    items: list[BulkSendOut]
    next_cursor: str | None


class BulkSendParams(Schema):
    status: str | None = Field(None, description="queued, running, done or failed.")
    purpose: str | None = Field(None, description="A purpose's key (newsletter).")
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


class ResultOut(BaseModel):
    contact_id: int
    name: str
    email: str
    outcome: str
    status: str
    until: str
    sent_at: str
    message_id: str
    reasons: str


class ResultList(BaseModel):
    items: list[ResultOut]


def bulk_send_out(job: BulkSend, counts: bulk.BulkCounts | None = None) -> dict[str, Any]:
    """A bulk send as the API shows it; ``counts`` when they were read already (a page
    of the list reads them for all its jobs at once)."""
    return {
        "id": job.pk,
        "status": job.status,
        "purpose": job.purpose,
        "template": job.template.key if job.template else None,
        "subject": job.subject,
        "started_by": job.started_by.username if job.started_by else None,
        "when": job.when,
        "total": job.total,
        "done": job.done,
        "counts": (counts or bulk.bulk_send_counts(job)).as_dict(),
        "error": job.error,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "results_url": f"/api/v1/messages/bulk/{job.pk}/results",
    }


@router.post(
    "/messages/bulk",
    response={202: BulkSendOut, **WRITE_ERRORS},
    summary="Send one email to many contacts, each through the contact gate",
)
def start_bulk_send(
    request: HttpRequest, payload: BulkSendIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    """Queues the send (202, with `Location` to poll). The worker sends to each contact
    as POST /messages would, as a bulk message (List-Unsubscribe): sent, queued until the
    gate allows (`when=next_allowed`) or blocked with the gate's reasons."""
    if (payload.ids is None) == (payload.filter is None):
        raise InvalidInput.single("ids", "Give either ids or filter.")
    for i, pk in enumerate(payload.ids or []):
        if not 0 < pk <= MAX_ID:
            raise InvalidInput.single(f"ids[{i}]", "Must be a contact id.")
    spec = payload.filter
    job = bulk.bulk_send_start(
        actor=actor(request),
        purpose=payload.purpose if payload.purpose is not None else "",
        ids=payload.ids,
        q=spec.q if spec else "",
        filters=contact_filters(spec, spec.custom) if spec is not None else None,
        sort=(spec.sort or "") if spec else "",
        template=payload.template,
        subject=payload.subject,
        body_text=payload.body_text,
        body_html=payload.body_html,
        when=payload.when,
        via=VIA,
        base_url=_base_url(request),
    )
    response["Location"] = f"/api/v1/messages/bulk/{job.pk}"
    return Status(202, bulk_send_out(job))


@router.get(
    "/messages/bulk",
    response={200: BulkSendPageOut, **READ_ERRORS},
    summary="The bulk sends you started (an admin: everyone's), newest first",
)
def list_bulk_sends(request: HttpRequest, params: Query[BulkSendParams]) -> dict[str, Any]:
    """One page at a time (`next_cursor`), each with its counts by outcome; `status` and
    `purpose` keep the matching ones. A bad one, or a bad cursor, is a 422 naming it."""
    page = bulk_send_list(
        actor=actor(request),
        cursor=params.cursor,
        limit=params.limit,
        status=params.status,
        purpose=params.purpose,
    )
    return {
        "items": [bulk_send_out(entry.job, entry.counts) for entry in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get(
    "/messages/bulk/{job_id}",
    response={200: BulkSendOut, **READ_ERRORS},
    summary="A bulk send's progress and counts by outcome",
)
def get_bulk_send(request: HttpRequest, job_id: ObjectId) -> dict[str, Any]:
    return bulk_send_out(bulk.bulk_send_get(actor=actor(request), job_id=job_id))


@router.get(
    "/messages/bulk/{job_id}/results",
    response={200: ResultList, **READ_ERRORS},
    summary="Per-recipient results of a bulk send (JSON, or CSV with format=csv)",
)
def bulk_send_results(request: HttpRequest, job_id: ObjectId, format: str = "json") -> Any:
    job = bulk.bulk_send_get(actor=actor(request), job_id=job_id)
    if format == "csv":
        return csv_response(job)
    return {"items": list(bulk.bulk_send_results(job))}


def csv_response(job: BulkSend) -> StreamingHttpResponse:
    response = StreamingHttpResponse(bulk.bulk_send_csv(job), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="bulk-send-{job.pk}.csv"'
    return response
