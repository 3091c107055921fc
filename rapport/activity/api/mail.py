"""Mail over the API: upload .eml/.mbox files to log, poll the import, keep the
never-log list, review the people you correspond with. Thin: services do the work."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile

from rapport.activity.mail import correspondents, imports, rules
from rapport.activity.models import CorrespondentSuggestion, MailImport, NeverLog
from rapport.contacts.api._http import READ_ERRORS, WRITE_ERRORS, ObjectId, actor

router = Router(tags=["mail"])


def import_out(request: HttpRequest, job: MailImport) -> dict[str, Any]:
    return {
        "id": job.pk,
        "status": job.status,
        "file_name": job.file_name,
        "file_format": job.file_format,
        "size": job.size,
        "processed": job.processed,
        "counts": {
            "stored": job.stored_count,
            "joined": job.joined_count,
            "skipped": job.skipped_count,
            "failed": job.failed_count,
        },
        "skipped": dict(job.skipped),
        "problems": list(job.problems),
        "error": job.error,
        "created_by": job.created_by.username if job.created_by else None,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "links": {"self": f"{request.path.split('/mail/')[0]}/mail/imports/{job.pk}"},
    }


class ImportOut(Schema):
    id: int
    status: str
    file_name: str
    file_format: str
    size: int
    processed: int
    counts: dict[str, int]
    skipped: dict[str, int]
    problems: list[dict[str, Any]]
    error: str
    created_by: str | None
    created_at: Any
    started_at: Any
    finished_at: Any
    links: dict[str, str]


@router.post("/import", response={201: ImportOut, **WRITE_ERRORS}, summary="Upload mail to log")
def create_import(
    request: HttpRequest, response: HttpResponse, file: File[UploadedFile]
) -> Status[dict[str, Any]]:
    """Multipart upload (field `file`: one `.eml` message or an `.mbox` mailbox).

    The file is kept and its messages are logged in the background: poll
    `GET /mail/imports/{id}` until `status` is `done`. `counts` say how many were
    stored, already known (`joined`), skipped (by reason in `skipped`) or failed;
    `problems` lists the first failures with the message number, Message-ID and reason.
    """
    job = imports.mail_import_upload(
        actor=actor(request), upload=file, file_name=file.name or "mail"
    )
    job = imports.mail_import_get(actor=actor(request), job_id=job.pk)
    response["Location"] = f"{request.path.rsplit('/import', 1)[0]}/imports/{job.pk}"
    return Status(201, import_out(request, job))


@router.get("/imports", response={200: list[ImportOut], **READ_ERRORS}, summary="List mail imports")
def list_imports(request: HttpRequest) -> list[dict[str, Any]]:
    """Your recent mail imports (admins: everyone's), newest first."""
    return [import_out(request, j) for j in imports.mail_import_list(actor=actor(request))]


@router.get(
    "/imports/{job_id}", response={200: ImportOut, **READ_ERRORS}, summary="Read a mail import"
)
def get_import(request: HttpRequest, job_id: ObjectId) -> dict[str, Any]:
    return import_out(request, imports.mail_import_get(actor=actor(request), job_id=job_id))


@router.post(
    "/imports/{job_id}/resume",
    response={202: ImportOut, **WRITE_ERRORS},
    summary="Resume an import",
)
def resume_import(request: HttpRequest, job_id: ObjectId) -> Status[dict[str, Any]]:
    """Carry on with an interrupted import from the first message it had not logged."""
    job = imports.mail_import_get(actor=actor(request), job_id=job_id)
    imports.mail_import_resume(actor=actor(request), job=job)
    return Status(
        202, import_out(request, imports.mail_import_get(actor=actor(request), job_id=job_id))
    )


class NeverLogIn(Schema):
    pattern: str


class NeverLogOut(Schema):
    id: int
    pattern: str
    created_by: str | None
    created_at: Any


def _never_out(entry: NeverLog) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "pattern": entry.pattern,
        "created_by": entry.created_by.username if entry.created_by else None,
        "created_at": entry.created_at,
    }


@router.get(
    "/never-log", response={200: list[NeverLogOut], **READ_ERRORS}, summary="The never-log list"
)
def list_never_log(request: HttpRequest) -> list[dict[str, Any]]:
    """Addresses and domains whose mail is never logged."""
    return [_never_out(e) for e in rules.never_log_list(actor=actor(request))]


@router.post(
    "/never-log",
    response={201: NeverLogOut, **WRITE_ERRORS},
    summary="Never log an address or domain",
)
def add_never_log(request: HttpRequest, payload: NeverLogIn) -> Status[dict[str, Any]]:
    """Admins only. `pattern`: an address (`hr@example.com`) or a domain (`example.com`,
    `@example.com`; subdomains match too)."""
    return Status(
        201, _never_out(rules.never_log_add(actor=actor(request), pattern=payload.pattern))
    )


@router.delete(
    "/never-log/{entry_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove a never-log entry",
)
def remove_never_log(request: HttpRequest, entry_id: ObjectId) -> Status[None]:
    rules.never_log_remove(actor=actor(request), entry_id=entry_id)
    return Status(204, None)


class CorrespondentOut(Schema):
    id: int
    address: str
    name: str
    message_count: int
    first_seen_at: Any
    last_seen_at: Any
    status: str
    contact_id: int | None


def _correspondent_out(s: CorrespondentSuggestion) -> dict[str, Any]:
    return {
        "id": s.pk,
        "address": s.address,
        "name": s.name,
        "message_count": s.message_count,
        "first_seen_at": s.first_seen_at,
        "last_seen_at": s.last_seen_at,
        "status": s.status,
        "contact_id": s.contact_id,
    }


@router.get(
    "/correspondents",
    response={200: list[CorrespondentOut], **READ_ERRORS},
    summary="People you correspond with",
)
def list_correspondents(request: HttpRequest, status: str = "open") -> list[dict[str, Any]]:
    """People in logged or skipped mail who are no contact, most messages first."""
    return [
        _correspondent_out(s)
        for s in correspondents.correspondent_list(actor=actor(request), status=status)
    ]
