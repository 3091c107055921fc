"""Privacy requests in the API: subject access exports, erasures with their preview,
re-admissions, retention policies with dry and real runs, the records of processing.

A contact id that was merged into another answers 422 naming the one to ask about; an
unknown one 404. An erasure needs the ``confirmation`` of its preview (GET first).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.serializers.json import DjangoJSONEncoder
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from ninja import Field, Query, Router, Schema, Status

from rapport.contacts.api._http import READ_ERRORS, WRITE_ERRORS, ObjectId, actor
from rapport.privacy import records, selectors, services, suppression
from rapport.privacy.models import ErasureLog, RetentionPolicy, RetentionRun, SubjectExport
from rapport.privacy.services.exports import subject_export_get

router = Router(tags=["privacy"])
contact_router = Router(tags=["privacy"])

VIA = "api"
_ZIP = {"application/zip": {"schema": {"type": "string", "format": "binary"}}}


class ExportOut(Schema):
    id: int
    contact_id: int
    status: str
    requested_by: str | None
    via: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    expires_at: dt.datetime | None
    size: int
    sha256: str
    records_per_area: dict[str, int]
    error: str
    file_url: str | None


def _export_out(request: HttpRequest, job: SubjectExport) -> dict[str, Any]:
    ready = job.status == SubjectExport.Status.DONE and bool(job.file)
    return {
        "id": job.pk,
        "contact_id": job.contact_id,
        "status": job.status,
        "requested_by": job.requested_by.username if job.requested_by else None,
        "via": job.via,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "expires_at": job.expires_at,
        "size": job.size,
        "sha256": job.sha256,
        "records_per_area": job.sections,
        "error": job.error,
        "file_url": f"/api/v1/privacy/exports/{job.pk}/file" if ready else None,
    }


def _archive_response(handle: Any, contact_id: int, export_id: int) -> FileResponse:
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"rapport-subject-{contact_id}-{dt.date.today().isoformat()}.zip",
        content_type="application/zip",
    )
    response["X-Rapport-Export"] = str(export_id)
    response["Cache-Control"] = "no-store"
    return response


@contact_router.post(
    "/contacts/{contact_id}/subject-export",
    response={202: ExportOut, **READ_ERRORS},
    summary="Export everything about a person",
    openapi_extra={"responses": {200: {"description": "The archive.", "content": _ZIP}}},
)
def subject_export(request: HttpRequest, contact_id: ObjectId, background: bool = False) -> Any:
    """A ZIP of JSON files per area, the files (attachments, photo) and a readable
    `index.html`. A small archive comes back at once (200, `X-Rapport-Export` names the
    log entry); a larger one, or any with `background=true`, is built by the worker:
    202 with the export to poll, whose `file_url` downloads it once `status` is `done`.
    Admins only."""
    job, handle = services.subject_export_start(
        actor=actor(request), contact_id=contact_id, via=VIA, background=background
    )
    if handle is not None:
        return _archive_response(handle, contact_id, job.pk)
    return Status(202, _export_out(request, job))


@router.get("/exports/{export_id}", response={200: ExportOut, **READ_ERRORS}, summary="An export")
def export_get(request: HttpRequest, export_id: ObjectId) -> dict[str, Any]:
    return _export_out(request, subject_export_get(actor=actor(request), export_id=export_id))


@router.get(
    "/exports/{export_id}/file",
    response={**READ_ERRORS},
    summary="Download an export built in the background",
    openapi_extra={"responses": {200: {"description": "The archive.", "content": _ZIP}}},
)
def export_file(request: HttpRequest, export_id: ObjectId) -> Any:
    job, handle = services.subject_export_file(actor=actor(request), export_id=export_id)
    return _archive_response(handle, job.contact_id, job.pk)


class PartOut(Schema):
    area: str
    label: str
    counts: dict[str, int]


class ErasurePreviewOut(Schema):
    contact_id: int
    merged_ids: list[int]
    mode: str
    total: int
    areas: list[PartOut]
    suppression: dict[str, int]
    confirmation: str = Field(description="Send it back with the erasure; valid for an hour.")


class ErasurePreviewParams(Schema):
    mode: Literal["erase", "anonymise"] = "erase"


@contact_router.get(
    "/contacts/{contact_id}/erasure",
    response={200: ErasurePreviewOut, **READ_ERRORS},
    summary="What an erasure would remove",
)
def erasure_preview(
    request: HttpRequest, contact_id: ObjectId, params: Query[ErasurePreviewParams]
) -> dict[str, Any]:
    """Counts per area of what erasing (or anonymising) the person would remove, and the
    confirmation token the erasure needs. Changes nothing. Admins only."""
    preview = services.erasure_preview(
        actor=actor(request), contact_id=contact_id, mode=params.mode
    )
    return {
        "contact_id": preview.contact_id,
        "merged_ids": list(preview.merged_ids),
        "mode": preview.mode,
        "total": preview.total,
        "areas": [{"area": p.name, "label": p.label, "counts": p.shown} for p in preview.parts],
        "suppression": {"emails": preview.suppress_emails, "phones": preview.suppress_phones},
        "confirmation": preview.confirmation,
    }


class ErasureIn(Schema):
    confirmation: str = Field(max_length=1000)
    reason: str = Field(
        ErasureLog.Reason.REQUEST, json_schema_extra={"enum": list(ErasureLog.Reason.values)}
    )
    note: str = Field("", max_length=500, description="Never the person's details: it is kept.")
    suppress: bool = Field(True, description="Keep them from being added again (erasure only).")
    mode: Literal["erase", "anonymise"] = "erase"

    model_config = {"extra": "forbid"}


class ErasureOut(Schema):
    id: int
    contact_id: int
    merged_ids: list[int]
    mode: str
    reason: str
    note: str
    actor: str | None
    via: str
    at: dt.datetime
    counts: dict[str, dict[str, int]]
    suppressed: int


def _erasure_out(log: ErasureLog) -> dict[str, Any]:
    return {
        "id": log.pk,
        "contact_id": log.contact_id,
        "merged_ids": log.merged_ids,
        "mode": log.mode,
        "reason": log.reason,
        "note": log.note,
        "actor": log.actor.username if log.actor else None,
        "via": log.via,
        "at": log.at,
        "counts": log.counts,
        "suppressed": log.suppressed,
    }


@contact_router.post(
    "/contacts/{contact_id}/erasure",
    response={200: ErasureOut, **READ_ERRORS},
    summary="Erase (or anonymise) a person",
)
def erase(request: HttpRequest, contact_id: ObjectId, payload: ErasureIn) -> dict[str, Any]:
    """Removes the person's data everywhere, as the preview showed, in one transaction,
    and returns the log (counts, no data). A missing, altered or expired confirmation
    gets 422 and changes nothing. Admins only."""
    log = services.contact_erase(
        actor=actor(request),
        contact_id=contact_id,
        confirmation=payload.confirmation,
        reason=payload.reason,
        note=payload.note,
        suppress=payload.suppress,
        mode=payload.mode,
        via=VIA,
    )
    return _erasure_out(log)


@router.get("/erasures", response={200: list[ErasureOut], **READ_ERRORS}, summary="Erasure log")
def erasures(request: HttpRequest) -> list[dict[str, Any]]:
    return [_erasure_out(log) for log in selectors.erasure_list(actor=actor(request))]


class ReadmissionIn(Schema):
    email: str = Field("", max_length=320)
    phone: str = Field("", max_length=64)
    consent: str = Field(max_length=500, description="How the person gave consent again.")

    model_config = {"extra": "forbid"}


class ReadmissionOut(Schema):
    id: int
    removed: int
    erased_on: dt.date | None
    consent: str
    actor: str | None
    at: dt.datetime


@router.post(
    "/readmissions", response={201: ReadmissionOut, **WRITE_ERRORS}, summary="Re-admit someone"
)
def readmit(request: HttpRequest, payload: ReadmissionIn) -> Any:
    """Take an erased person's address or number off the suppression list, with new
    consent (logged, without the value). 422 when it is not on the list."""
    done = suppression.suppression_readmit(
        actor=actor(request),
        email=payload.email,
        phone=payload.phone,
        consent=payload.consent,
        via=VIA,
    )
    return Status(
        201,
        {
            "id": done.pk,
            "removed": done.removed,
            "erased_on": done.erased_on,
            "consent": done.consent,
            "actor": done.actor.username if done.actor else None,
            "at": done.at,
        },
    )


class PolicyIn(Schema):
    name: str = Field(max_length=100)
    description: str = Field("", max_length=500)
    filters: str = Field(
        max_length=2000,
        description="The contact list's filters as a query string; dates may be relative "
        "(-24m, -2y, -6w, -90d).",
    )
    action: Literal["anonymise", "erase"] = "anonymise"
    enabled: bool = True

    model_config = {"extra": "forbid"}


class PolicyPatch(Schema):
    name: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=500)
    filters: str | None = Field(None, max_length=2000)
    action: Literal["anonymise", "erase"] | None = None
    enabled: bool | None = None

    model_config = {"extra": "forbid"}


class PolicyOut(Schema):
    id: int
    name: str
    description: str
    filters: str
    action: str
    enabled: bool
    created_by: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


def _policy_out(p: RetentionPolicy) -> dict[str, Any]:
    return {
        "id": p.pk,
        "name": p.name,
        "description": p.description,
        "filters": p.filters,
        "action": p.action,
        "enabled": p.enabled,
        "created_by": p.created_by.username if p.created_by else None,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


class RunOut(Schema):
    id: int
    policy: int | None
    policy_name: str
    action: str
    dry_run: bool
    trigger: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    matched: int
    processed: int
    failed: int
    counts: dict[str, dict[str, int]]
    sample: list[dict[str, Any]]
    error: str


def _run_out(run: RetentionRun) -> dict[str, Any]:
    names = selectors.contact_names(run.sample_ids) if run.sample_ids else {}
    return {
        "id": run.pk,
        "policy": run.policy_id,
        "policy_name": run.policy_name,
        "action": run.action,
        "dry_run": run.dry_run,
        "trigger": run.trigger,
        "status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "matched": run.matched,
        "processed": run.processed,
        "failed": run.failed,
        "counts": run.counts,
        "sample": [{"id": pk, "name": names.get(pk, "")} for pk in run.sample_ids],
        "error": run.error,
    }


@router.get(
    "/retention-policies", response={200: list[PolicyOut], **READ_ERRORS}, summary="Policies"
)
def policies(request: HttpRequest) -> list[dict[str, Any]]:
    return [_policy_out(p) for p in selectors.retention_policy_list(actor=actor(request))]


@router.post(
    "/retention-policies", response={201: PolicyOut, **WRITE_ERRORS}, summary="Add a policy"
)
def policy_create(request: HttpRequest, payload: PolicyIn) -> Any:
    made = services.retention_policy_save(actor=actor(request), data=payload.dict())
    return Status(201, _policy_out(made))


@router.get(
    "/retention-policies/{policy_id}", response={200: PolicyOut, **READ_ERRORS}, summary="A policy"
)
def policy_get(request: HttpRequest, policy_id: ObjectId) -> dict[str, Any]:
    return _policy_out(selectors.retention_policy_get(actor=actor(request), policy_id=policy_id))


@router.patch(
    "/retention-policies/{policy_id}",
    response={200: PolicyOut, **WRITE_ERRORS},
    summary="Change a policy",
)
def policy_update(request: HttpRequest, policy_id: ObjectId, payload: PolicyPatch) -> Any:
    current = selectors.retention_policy_get(actor=actor(request), policy_id=policy_id)
    data = {k: v for k, v in payload.dict().items() if v is not None}
    return _policy_out(
        services.retention_policy_save(actor=actor(request), data=data, retention=current)
    )


@router.delete(
    "/retention-policies/{policy_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a policy",
)
def policy_delete(request: HttpRequest, policy_id: ObjectId) -> Any:
    current = selectors.retention_policy_get(actor=actor(request), policy_id=policy_id)
    services.retention_policy_delete(actor=actor(request), retention=current)
    return Status(204, None)


class RunIn(Schema):
    dry_run: bool = Field(True, description="Only count (and sample) what it would do.")

    model_config = {"extra": "forbid"}


@router.post(
    "/retention-policies/{policy_id}/runs",
    response={201: RunOut, **WRITE_ERRORS},
    summary="Run a policy now (or dry)",
)
def policy_run(request: HttpRequest, policy_id: ObjectId, payload: RunIn) -> Any:
    """A dry run (the default) counts the contacts it would handle now and names up to
    ten; `dry_run: false` anonymises or erases them. Either way the run is logged."""
    current = selectors.retention_policy_get(actor=actor(request), policy_id=policy_id)
    run = services.retention_run(
        actor=actor(request),
        retention=current,
        trigger=RetentionRun.Trigger.API,
        dry_run=payload.dry_run,
    )
    return Status(201, _run_out(run))


@router.get(
    "/retention-runs", response={200: list[RunOut], **READ_ERRORS}, summary="Retention run log"
)
def runs(request: HttpRequest) -> list[dict[str, Any]]:
    return [_run_out(run) for run in selectors.retention_run_list(actor=actor(request))]


class RecordsParams(Schema):
    format: Literal["json", "csv", "html"] = "json"


_RECORD_TYPES = {
    "application/json": {"schema": {"type": "object"}},
    "text/csv": {"schema": {"type": "string"}},
    "text/html": {"schema": {"type": "string"}},
}


@router.get(
    "/records",
    response={**READ_ERRORS},
    summary="Records of processing (GDPR Art. 30)",
    openapi_extra={"responses": {200: {"description": "The record.", "content": _RECORD_TYPES}}},
)
def processing_records(request: HttpRequest, params: Query[RecordsParams]) -> Any:
    record = records.processing_record(actor=actor(request))
    if params.format == "csv":
        response = HttpResponse(records.record_csv(record), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="records-of-processing.csv"'
        return response
    if params.format == "html":
        response = HttpResponse(
            records.record_html(record), content_type="text/html; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="records-of-processing.html"'
        return response
    return JsonResponse(records.record_json(record), encoder=DjangoJSONEncoder)
