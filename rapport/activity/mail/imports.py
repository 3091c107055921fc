"""Mail files imported in the background: an uploaded (or named) ``.eml`` or ``.mbox``
becomes a ``MailImport`` job that logs its messages one by one through ``mail_capture``.

Messages are stored in chunks, each in one transaction together with the job's new
byte offset, counts and problems: a worker killed mid-file resumes at the first message
of the chunk it had not committed, so nothing is stored twice and nothing is missed
(and a message stored twice would only be "joined": capture is idempotent anyway).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rapport.activity.mail.intake import (
    CaptureRun,
    mail_capture,
    read_mail,
)
from rapport.activity.mail.mbox import MAX_MESSAGE_BYTES, MboxMessage, looks_like_mbox, read_mbox
from rapport.activity.models import Interaction, MailImport
from rapport.activity.services.attachments import atomic_with_files
from rapport.core import jobs, policy
from rapport.core.errors import InvalidInput, NotPermitted

logger = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024 * 1024
CHUNK = 200
MAX_PROBLEMS = 500
STARTABLE = (MailImport.Status.QUEUED, MailImport.Status.INTERRUPTED)


def _is_mail(head: bytes) -> bool:
    text = head.lstrip(b"\r\n\t ")
    return looks_like_mbox(head) or bool(re.match(rb"[!-9;-~]+[ \t]*:", text))


def _format(head: bytes, file_name: str) -> str:
    if looks_like_mbox(head) or file_name.lower().endswith((".mbox", ".mbx", ".mbs")):
        return "mbox"
    return "eml"


def mail_import_upload(*, actor: Any, upload: IO[bytes], file_name: str) -> MailImport:
    """Keep an uploaded mail file (streamed to disk, never whole in memory) and queue its
    import. Raises NotPermitted, or InvalidInput on ``file`` (empty, too large, not
    mail)."""
    policy.require(actor, "mail.import")
    file_name = Path(file_name or "mail").name[:255] or "mail"
    upload.seek(0)
    head = upload.read(4096)
    if not head.strip():
        raise InvalidInput.single("file", "The file is empty.")
    if not _is_mail(head):
        raise InvalidInput.single(
            "file", "This is not a mail file (.eml or .mbox): it does not start with mail headers."
        )
    size = 0
    upload.seek(0)
    for chunk in iter(lambda: upload.read(1024 * 1024), b""):
        size += len(chunk)
        if size > MAX_BYTES:
            raise InvalidInput.single("file", "The file is larger than 10 GB.")
    upload.seek(0)
    job = MailImport(
        file_name=file_name,
        size=size,
        file_format=_format(head, file_name),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    digest = hashlib.sha256(head).hexdigest()[:12]
    job.file.save(f"{digest}-{file_name}", File(upload), save=False)
    job.save()
    _enqueue(job)
    return job


def mail_import_from_path(*, actor: Any, path: Path) -> MailImport:
    """A job reading a file where it lies (the command line): no copy is made."""
    policy.require(actor, "mail.import")
    if not path.is_file():
        raise InvalidInput.single("file", f"{path}: no such file.")
    with path.open("rb") as handle:
        head = handle.read(4096)
    if not head.strip():
        raise InvalidInput.single("file", f"{path}: the file is empty.")
    if not _is_mail(head):
        raise InvalidInput.single("file", f"{path}: not a mail file (.eml or .mbox).")
    return MailImport.objects.create(
        file_name=path.name[:255],
        path=str(path.resolve())[:1000],
        size=path.stat().st_size,
        file_format=_format(head, path.name),
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def _enqueue(job: MailImport) -> None:
    from rapport.activity.mail.tasks import run_mail_import

    transaction.on_commit(lambda: run_mail_import.enqueue(job_id=job.pk))


def mail_import_resume(*, actor: Any, job: MailImport) -> MailImport:
    """Queue an interrupted import (or one whose worker died) to carry on."""
    policy.require(actor, "mail.import")
    if job.status == MailImport.Status.RUNNING and jobs.job_is_live(
        job, running=MailImport.Status.RUNNING
    ):
        raise InvalidInput.single("status", "This import is still running.")
    if job.status not in (*STARTABLE, MailImport.Status.RUNNING):
        raise InvalidInput.single("status", f"This import is {job.get_status_display().lower()}.")
    _enqueue(job)
    return job


def mail_import_stopped_message(job: MailImport) -> str:
    """What ``jobs_recover`` records on an import whose worker died."""
    return (
        f"The process running this import stopped after {job.processed} messages "
        f"({jobs.last_heard(job)}); it carries on from there when resumed."
    )


def mail_import_get(*, actor: Any, job_id: int) -> MailImport:
    """One import: its own for members, any for admins. Raises MailImport.DoesNotExist."""
    policy.require(actor, "mail.import")
    job = MailImport.objects.select_related("created_by").get(pk=job_id)
    if job.created_by_id != getattr(actor, "pk", None) and not policy.sees_all_private(actor):
        raise MailImport.DoesNotExist
    return job


def mail_import_list(*, actor: Any, limit: int = 20) -> list[MailImport]:
    policy.require(actor, "mail.import")
    qs = MailImport.objects.select_related("created_by")
    if not policy.sees_all_private(actor):
        qs = qs.filter(created_by=actor)
    return list(qs[:limit])


def _messages(job: MailImport, handle: IO[bytes]) -> Any:
    if job.file_format == "mbox":
        yield from read_mbox(handle, offset=job.offset, number=job.processed)
        return
    if job.processed:
        return
    raw = handle.read(MAX_MESSAGE_BYTES + 1)
    yield MboxMessage(1, 0, len(raw), raw, len(raw) > MAX_MESSAGE_BYTES)


def _open(job: MailImport) -> IO[bytes]:
    if job.path:
        return Path(job.path).open("rb")
    return job.file.open("rb")


Progress = Callable[[MailImport], None]


def mail_import_run(
    *, job_id: int, progress: Progress | None = None, chunk: int = CHUNK
) -> MailImport:
    """Run (or resume) an import to its end. Called by the background task and the CLI.
    Raises InvalidInput when another live process runs it or it has finished."""
    job = MailImport.objects.select_related("created_by").get(pk=job_id)
    claim = jobs.job_claim(
        MailImport,
        job.pk,
        startable=STARTABLE,
        running=MailImport.Status.RUNNING,
        started_at=job.started_at or timezone.now(),
    )
    job.refresh_from_db()
    if claim is None and job.status == MailImport.Status.RUNNING:
        raise InvalidInput.single(
            "status",
            f"Mail import {job.pk} is still running in another process ({jobs.last_heard(job)}).",
        )
    if claim is None:
        raise InvalidInput.single(
            "status", f"Mail import {job.pk} is {job.get_status_display().lower()}."
        )
    actor = job.created_by
    if not policy.can(actor, "mail.import"):
        claim.update(
            status=MailImport.Status.FAILED,
            error="The user who started this import may no longer import mail.",
            finished_at=timezone.now(),
        )
        raise NotPermitted("The user who started this import may no longer import mail.")
    with jobs.job_heartbeat(claim):
        try:
            with _open(job) as handle:
                _run(claim, job, actor, handle, progress, chunk)
        except jobs.ClaimLost:
            raise
        except OSError as exc:
            claim.update(
                status=MailImport.Status.FAILED,
                error=f"The file could not be read: {exc}",
                finished_at=timezone.now(),
            )
            return MailImport.objects.get(pk=job.pk)
        except Exception as exc:
            claim.update(
                status=MailImport.Status.INTERRUPTED,
                error=f"Stopped after {job.processed} messages: {exc}",
                finished_at=timezone.now(),
            )
            logger.exception("Mail import %s stopped", job.pk)
            raise
        claim.update(status=MailImport.Status.DONE, error="", finished_at=timezone.now())
    job.refresh_from_db()
    return job


def _run(
    claim: jobs.Claim,
    job: MailImport,
    actor: Any,
    handle: IO[bytes],
    progress: Progress | None,
    chunk: int,
) -> None:
    run = CaptureRun(deferred=True)
    pending: list[MboxMessage] = []
    for message in _messages(job, handle):
        pending.append(message)
        if len(pending) >= chunk:
            _chunk(claim, job, actor, run, pending)
            pending = []
            if progress is not None:
                progress(job)
    if pending:
        _chunk(claim, job, actor, run, pending)
        if progress is not None:
            progress(job)


def _chunk(
    claim: jobs.Claim, job: MailImport, actor: Any, run: CaptureRun, messages: list[MboxMessage]
) -> None:
    readings = [None if m.too_large else read_mail(m.raw) for m in messages]
    # the chunk's addresses and stored Message-IDs looked up at once
    run.prepare(readings)
    mark = run.mark()
    try:
        # All at once first (no savepoint per message); if any message fails to store,
        # the chunk is redone message by message so that one stops only itself.
        with atomic_with_files():
            counts, skipped, problems = _capture_all(job, actor, run, messages, readings, False)
            _advance(claim, job, run, messages, counts, skipped, problems)
    except jobs.ClaimLost:
        raise
    except Exception:  # noqa: BLE001
        run.rewind(mark)
        with atomic_with_files():
            counts, skipped, problems = _capture_all(job, actor, run, messages, readings, True)
            _advance(claim, job, run, messages, counts, skipped, problems)
    for key in counts:
        setattr(job, f"{key}_count", getattr(job, f"{key}_count") + counts[key])


def _capture_all(
    job: MailImport,
    actor: Any,
    run: CaptureRun,
    messages: list[MboxMessage],
    readings: list[Any],
    isolated: bool,
) -> tuple[dict[str, int], dict[str, int], list[dict[str, Any]]]:
    counts = {"stored": 0, "joined": 0, "skipped": 0, "failed": 0}
    skipped: dict[str, int] = dict(job.skipped)
    problems: list[dict[str, Any]] = []
    for message, mail in zip(messages, readings, strict=True):
        if mail is None:
            counts["failed"] += 1
            reason = f"The message is larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB."
            problems.append(_problem(job, message, "", reason))
            continue
        outcome = mail_capture(
            message.raw,
            owner=actor,
            source=Interaction.Source.UPLOAD,
            run=run,
            parsed=mail,
            isolated=isolated,
        )
        counts[outcome.status] += 1
        if outcome.status == "skipped":
            skipped[outcome.reason] = skipped.get(outcome.reason, 0) + 1
        elif outcome.status == "failed":
            problems.append(_problem(job, message, outcome.message_id, outcome.reason))
    run.flush()
    return counts, skipped, problems


def _advance(
    claim: jobs.Claim,
    job: MailImport,
    run: CaptureRun,
    messages: list[MboxMessage],
    counts: dict[str, int],
    skipped: dict[str, int],
    problems: list[dict[str, Any]],
) -> None:
    """Record the chunk's progress in the chunk's transaction: it lands with the messages."""
    room = max(0, MAX_PROBLEMS - len(job.problems))
    job.problems = [*job.problems, *problems[:room]]
    job.skipped = skipped
    job.offset = messages[-1].end
    job.processed = messages[-1].number
    claim.update(
        offset=job.offset,
        processed=job.processed,
        stored_count=F("stored_count") + counts["stored"],
        joined_count=F("joined_count") + counts["joined"],
        skipped_count=F("skipped_count") + counts["skipped"],
        failed_count=F("failed_count") + counts["failed"],
        skipped=skipped,
        problems=job.problems,
        heartbeat_at=timezone.now(),
    )


def _problem(job: MailImport, message: MboxMessage, message_id: str, reason: str) -> dict[str, Any]:
    return {
        "file": job.file_name,
        "number": message.number,
        "offset": message.start,
        "message_id": message_id,
        "reason": reason[:500],
    }
