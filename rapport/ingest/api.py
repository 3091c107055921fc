"""Imports over the API: upload a file, adjust its mapping, preview, start, poll, undo.

Thin on purpose: the import services validate, check permissions and do the work; a
batch runs in the background and is polled with GET /imports/{id}.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from ninja import Field as SchemaField
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from rapport.contacts.api._http import READ_ERRORS, WRITE_ERRORS, ObjectId, actor
from rapport.core.errors import InvalidInput
from rapport.ingest import checking, selectors, services
from rapport.ingest.models import ImportBatch, ImportRowError
from rapport.ingest.schemas import (
    BatchChange,
    BatchOut,
    BatchPage,
    PreviewRow,
    RowErrorPage,
)
from rapport.ingest.views import failed_rows_response

router = Router(tags=["imports"])


def batch_out(request: HttpRequest, batch: ImportBatch) -> dict[str, Any]:
    base = f"{request.path.split('/imports')[0]}/imports/{batch.pk}"
    return {
        "id": batch.pk,
        "status": batch.status,
        "file_name": batch.file_name,
        "source": batch.source,
        "file_format": batch.file_format,
        "encoding": batch.encoding,
        "delimiter": batch.delimiter,
        "headers": batch.headers,
        "mapping": batch.mapping,
        "mode": batch.mode,
        "dry_run": batch.dry_run,
        "counts": {
            "created": batch.created_count,
            "updated": batch.updated_count,
            "unchanged": batch.unchanged_count,
            "failed": batch.failed_count,
        },
        "processed_rows": batch.processed_rows,
        "total_rows": batch.total_rows,
        "created_by": batch.created_by.username if batch.created_by else None,
        "created_at": batch.created_at,
        "started_at": batch.started_at,
        "finished_at": batch.finished_at,
        "undone_at": batch.undone_at,
        "undo": _undo_out(batch),
        "row_check": _check_out(batch),
        "error": batch.error,
        "log": [
            {"at": str(e.get("at", "")), "message": str(e.get("message", ""))} for e in batch.log
        ],
        "links": {
            "self": base,
            "page": reverse("ingest:import_detail", args=[batch.pk]),
            "preview": f"{base}/preview",
            "start": f"{base}/start",
            "undo": f"{base}/undo",
            "errors": f"{base}/errors",
            "failed_rows": f"{base}/failed-rows.csv",
        },
    }


def _check_out(batch: ImportBatch) -> dict[str, Any] | None:
    check = batch.row_check or {}
    if batch.status != ImportBatch.Status.PENDING or check.get("mapping") != (
        checking.mapping_key(batch)
    ):
        return None
    return {key: value for key, value in check.items() if key != "mapping"}


def _undo_out(batch: ImportBatch) -> dict[str, Any] | None:
    report = batch.undo_report
    if not report:
        return None
    return {
        "total": int(report.get("total", 0)),
        "done": int(report.get("done", 0)),
        "removed": int(report.get("removed", 0)),
        "restored": int(report.get("restored", 0)),
        "kept_count": int(report.get("kept_count", 0)),
        "kept": [str(line) for line in report.get("kept", [])],
    }


def _batch(request: HttpRequest, batch_id: int) -> ImportBatch:
    return selectors.batch_get(actor=actor(request), batch_id=batch_id)


def _mapping(text: str | None) -> dict[str, str] | None:
    if text is None or not text.strip():
        return None
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidInput.single("mapping", "Must be a JSON object of column → field.") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise InvalidInput.single("mapping", "Must be a JSON object of column → field.")
    return data


class ListParams(Schema):
    cursor: str | None = None
    limit: int = SchemaField(25, ge=1, le=200)


@router.get("", response={200: BatchPage, **READ_ERRORS}, summary="List imports")
def list_imports(request: HttpRequest, params: Query[ListParams]) -> dict[str, Any]:
    """Newest first."""
    page = selectors.batch_list(actor=actor(request), cursor=params.cursor, limit=params.limit)
    return {
        "items": [batch_out(request, b) for b in page.items],
        "next_cursor": page.next_cursor,
    }


@router.post("", response={201: BatchOut, **WRITE_ERRORS}, summary="Upload a file to import")
def create_import(
    request: HttpRequest,
    response: HttpResponse,
    file: File[UploadedFile],
    source: Form[str] = "",
    encoding: Form[str | None] = None,
    mapping: Form[str | None] = None,
    mode: Form[str | None] = None,
    dry_run: Form[bool | None] = None,
    start: Form[bool] = False,
) -> Status[dict[str, Any]]:
    """Multipart upload (field `file`: CSV/TSV, XLSX or vCard, at most 1 GB).

    The format, encoding, delimiter and columns are detected and a mapping is proposed
    (known exports such as Google or Outlook are mapped completely). `mapping` (a JSON
    object of column → field), `mode` and `dry_run` change it; with `start=true` the
    import starts at once. Poll the batch until `status` is `done`. Invalid input gets
    422 and nothing is kept.
    """
    who = actor(request)
    wanted = _mapping(mapping)
    kept: list[ImportBatch] = []
    file.seek(0)  # the request parsing may have read it already
    try:
        with transaction.atomic():
            batch = services.import_upload(
                actor=who,
                upload=file,
                file_name=file.name or "upload",
                source=source,
                encoding=(encoding or "").strip() or None,
            )
            kept.append(batch)
            if wanted is not None or mode is not None or dry_run is not None:
                services.import_configure(
                    actor=who, batch=batch, mapping=wanted, mode=mode, dry_run=dry_run
                )
            if start:
                services.import_start(actor=who, batch=batch)
    except InvalidInput:
        for batch in kept:  # its row was rolled back; the stored file goes too
            batch.file.delete(save=False)
        raise
    batch = _batch(request, batch.pk)
    response["Location"] = f"{request.path.rstrip('/')}/{batch.pk}"
    return Status(201, batch_out(request, batch))


@router.get("/{batch_id}", response={200: BatchOut, **READ_ERRORS}, summary="Read an import")
def get_import(request: HttpRequest, batch_id: ObjectId) -> dict[str, Any]:
    """Poll this while the import runs: `processed_rows` and `counts` grow as it goes."""
    return batch_out(request, _batch(request, batch_id))


@router.patch("/{batch_id}", response={200: BatchOut, **WRITE_ERRORS}, summary="Change an import")
def patch_import(request: HttpRequest, batch_id: ObjectId, payload: BatchChange) -> dict[str, Any]:
    """Mapping, mode, dry run or encoding of an import that has not started yet."""
    batch = _batch(request, batch_id)
    services.import_configure(
        actor=actor(request),
        batch=batch,
        mapping=payload.mapping,
        mode=payload.mode,
        dry_run=payload.dry_run,
        encoding=(payload.encoding or "").strip() or None,
        save_as=payload.save_as or "",
    )
    return batch_out(request, _batch(request, batch_id))


@router.get(
    "/{batch_id}/preview",
    response={200: list[PreviewRow], **WRITE_ERRORS},
    summary="Preview an import",
)
def preview_import(request: HttpRequest, batch_id: ObjectId) -> list[dict[str, Any]]:
    """The first 10 rows as they would be stored, with the problems each would have."""
    batch = _batch(request, batch_id)
    rows = services.import_preview(actor=actor(request), batch=batch)
    return [
        {
            "row": row.row_number,
            "data": json.loads(json.dumps(row.data, default=str)),
            "errors": [{"column": c, "value": v, "reason": r} for c, v, r in row.errors],
            "warnings": [{"column": c, "value": v, "reason": r} for c, v, r in row.warnings],
        }
        for row in rows
    ]


@router.post(
    "/{batch_id}/check", response={202: BatchOut, **WRITE_ERRORS}, summary="Check every row"
)
def check_import(request: HttpRequest, batch_id: ObjectId) -> Status[dict[str, Any]]:
    """Check every row of a pending import with its current mapping, in the background.

    Poll `GET /imports/{id}`: `row_check` says how many rows will import and how many
    will fail, with the first failures. Changing the mapping makes the check stale
    (`row_check` is null again); ask again.
    """
    batch = _batch(request, batch_id)
    checking.import_check_start(actor=actor(request), batch=batch)
    return Status(202, batch_out(request, _batch(request, batch_id)))


@router.post(
    "/{batch_id}/start", response={202: BatchOut, **WRITE_ERRORS}, summary="Start an import"
)
def start_import(request: HttpRequest, batch_id: ObjectId) -> Status[dict[str, Any]]:
    """Start a configured import, or resume an interrupted or stalled one."""
    batch = _batch(request, batch_id)
    services.import_start(actor=actor(request), batch=batch)
    return Status(202, batch_out(request, _batch(request, batch_id)))


@router.post("/{batch_id}/undo", response={202: BatchOut, **WRITE_ERRORS}, summary="Undo an import")
def undo_import(request: HttpRequest, batch_id: ObjectId) -> Status[dict[str, Any]]:
    """Queue the removal of the contacts it created and the restoring of the fields it
    changed; a background worker does it.

    Answers 202 with the batch (status `undoing`): poll `GET /imports/{id}` and follow
    `undo.done` of `undo.total` until the status is `undone`. Whatever was edited after
    the import is left alone and listed in `undo.kept`. An undo whose worker died may be
    started again and carries on where it stopped.
    """
    batch = _batch(request, batch_id)
    services.import_undo_start(actor=actor(request), batch=batch)
    return Status(202, batch_out(request, _batch(request, batch_id)))


class ErrorParams(Schema):
    cursor: str | None = None
    limit: int = SchemaField(100, ge=1, le=200)


def _error_out(error: ImportRowError) -> dict[str, Any]:
    return {
        "row": error.row_number,
        "column": error.column,
        "value": error.value,
        "reason": error.reason,
        "severity": error.severity,
    }


@router.get(
    "/{batch_id}/errors",
    response={200: RowErrorPage, **READ_ERRORS},
    summary="Rows an import could not take",
)
def import_errors(
    request: HttpRequest, batch_id: ObjectId, params: Query[ErrorParams]
) -> dict[str, Any]:
    """In file order: row number, column, value and reason (several per row possible).

    `severity` is `error` for a row that was not imported, `warning` for a value left out
    of a row that was (a website that is not one, a birthday without a year)."""
    batch = _batch(request, batch_id)
    page = selectors.batch_error_page(
        actor=actor(request), batch=batch, cursor=params.cursor, limit=params.limit
    )
    return {"items": [_error_out(e) for e in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/{batch_id}/failed-rows.csv",
    response={**READ_ERRORS},
    summary="Failed rows as CSV",
    openapi_extra={"responses": {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}},
)
def import_failed_rows(request: HttpRequest, batch_id: ObjectId) -> StreamingHttpResponse:
    """The failed rows as they were in the file plus an "Import errors" column (UTF-8 with
    a BOM for Excel; cells that would run as formulas start with an apostrophe)."""
    return failed_rows_response(_batch(request, batch_id))
