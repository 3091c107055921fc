"""Subject access exports: everything Rapport holds about a person, as one ZIP archive.

The archive holds ``index.html`` (a page a person can read in any browser: every value
escaped, no script, nothing loaded from anywhere), ``data/<area>.json`` per area (the
same records, for machines), the files (attachments, photo) under ``files/<area>/``,
and ``manifest.json`` listing every member with its SHA-256.

An archive up to ``RAPPORT_PRIVACY_EXPORT_INLINE_BYTES`` is handed over at once; a
larger one is built in the background and kept on the server for
``RAPPORT_PRIVACY_EXPORT_DAYS`` days (``SubjectExport``). Either way the export is
logged: who exported whom, when and how; never what.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import secrets
import tempfile
import zipfile
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from rapport.contacts.models import Contact
from rapport.core import jobs, policy
from rapport.core.errors import InvalidInput
from rapport.core.subjects import Exported, Subject, providers
from rapport.privacy.documents import render_document
from rapport.privacy.models import ErasureLog, Mode, SubjectExport
from rapport.privacy.services.subjects import subject_of

logger = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^\w.\- ]+")


class ArchiveTooLarge(Exception):
    """The archive grew past the limit for handing it over at once."""


@dataclass
class _Member:
    path: str
    size: int
    sha256: str


class _Archive:
    """A ZIP being written, with the manifest of what went into it."""

    def __init__(self, out: IO[bytes], limit: int | None) -> None:
        self.out = out
        self.zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED)
        self.limit = limit
        self.members: list[_Member] = []
        self.taken: set[str] = set()

    def _check(self) -> None:
        if self.limit is not None and self.out.tell() > self.limit:
            raise ArchiveTooLarge

    def unique(self, path: str) -> str:
        stem, dot, ext = path.rpartition(".")
        candidate, n = path, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{stem} ({n}).{ext}" if dot and "/" not in ext else f"{path} ({n})"
        self.taken.add(candidate)
        return candidate

    def add_bytes(self, path: str, data: bytes) -> None:
        path = self.unique(path)
        self.zip.writestr(path, data)
        self.members.append(_Member(path, len(data), hashlib.sha256(data).hexdigest()))
        self._check()

    def add_stream(self, path: str, source: IO[bytes]) -> str:
        path = self.unique(path)
        digest = hashlib.sha256()
        size = 0
        with self.zip.open(path, "w", force_zip64=True) as target:
            for chunk in iter(lambda: source.read(1024 * 1024), b""):
                digest.update(chunk)
                size += len(chunk)
                target.write(chunk)
                self._check()
        self.members.append(_Member(path, size, digest.hexdigest()))
        return path

    def close(self) -> None:
        self.zip.close()


def _safe_name(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name.replace("/", "_").replace("\\", "_")).strip(". ")
    return cleaned[:120] or "file"


def _json(value: Any) -> bytes:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


def subject_export_write(
    subject: Subject, out: IO[bytes], *, limit: int | None = None, name: str = ""
) -> dict[str, int]:
    """Write the person's archive to ``out``; returns the number of records per area.

    Raises ArchiveTooLarge as soon as more than ``limit`` bytes were written.
    """
    archive = _Archive(out, limit)
    generated = timezone.now()
    parts: list[tuple[str, str, Exported, dict[str, str]]] = []
    counts: dict[str, int] = {}
    try:
        for part in providers():
            exported = part.export(subject)
            sections = {k: v for k, v in exported.sections.items() if v not in (None, [], {})}
            files: dict[str, str] = {}
            for item in exported.files:
                try:
                    with item.open() as handle:
                        files[item.name] = archive.add_stream(
                            f"files/{part.name}/{_safe_name(item.name)}", handle
                        )
                except FileNotFoundError:
                    continue
            if sections or files:
                archive.add_bytes(
                    f"data/{part.name}.json",
                    _json({"area": part.label, "sections": sections, "files": files}),
                )
                parts.append((part.name, part.label, Exported(sections), files))
                counts[part.name] = sum(
                    len(v) if isinstance(v, list) else 1 for v in sections.values()
                ) + len(files)
        page = render_document(
            "archive_index.html",
            {
                "name": name,
                "contact_id": subject.contact_id,
                "merged_ids": subject.contact_ids[1:],
                "generated": generated,
                "parts": [
                    {
                        "name": part_name,
                        "label": label,
                        "sections": [
                            (title, render_value(value))
                            for title, value in exported.sections.items()
                        ],
                        "files": sorted(files.values()),
                    }
                    for part_name, label, exported, files in parts
                ],
            },
        )
        archive.add_bytes("index.html", page.encode())
        manifest = {
            "generated_at": generated,
            "contact_id": subject.contact_id,
            "merged_contact_ids": list(subject.contact_ids[1:]),
            "records_per_area": counts,
            "members": [vars(m) for m in archive.members],
        }
        archive.add_bytes("manifest.json", _json(manifest))
    finally:
        archive.close()
    return counts


# -- the readable page -------------------------------------------------------------------


def _scalar(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list | tuple)


def render_value(value: Any) -> SafeString:
    """Any JSON-able value as HTML: dicts as definition lists, lists of flat records as
    tables, the rest nested; every text escaped."""
    if isinstance(value, dict):
        if not value:
            return mark_safe('<p class="empty">None.</p>')  # noqa: S308 (constant)
        return format_html(
            "<dl>{}</dl>",
            format_html_join(
                "", "<dt>{}</dt><dd>{}</dd>", ((str(k), render_value(v)) for k, v in value.items())
            ),
        )
    if isinstance(value, list | tuple):
        if not value:
            return mark_safe('<p class="empty">None.</p>')  # noqa: S308 (constant)
        if all(isinstance(v, dict) and all(_is_scalar(x) for x in v.values()) for v in value):
            columns = list(dict.fromkeys(k for row in value for k in row))
            return format_html(
                "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>",
                format_html_join("", '<th scope="col">{}</th>', ((str(c),) for c in columns)),
                format_html_join(
                    "",
                    "<tr>{}</tr>",
                    (
                        (
                            format_html_join(
                                "", "<td>{}</td>", ((_scalar(row.get(c)),) for c in columns)
                            ),
                        )
                        for row in value
                    ),
                ),
            )
        if all(_is_scalar(v) for v in value):
            return format_html(
                "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((_scalar(v),) for v in value))
            )
        return format_html(
            '<ol class="records">{}</ol>',
            format_html_join("", "<li>{}</li>", ((render_value(v),) for v in value)),
        )
    text = _scalar(value)
    if "\n" in text:
        return format_html("<pre>{}</pre>", text)
    return format_html("{}", text)


# -- handing it over, or building it in the background -------------------------------------


def _display_name(contact_id: int) -> str:
    return str(
        Contact.objects.filter(pk=contact_id).values_list("display_name", flat=True).first() or ""
    )


def subject_export_start(
    *, actor: Any, contact_id: int, via: str = "ui", background: bool = False
) -> tuple[SubjectExport, IO[bytes] | None]:
    """Export everything about the contact: the archive at once (an open file, at its
    start) when it is small enough and ``background`` is not asked, else a queued
    ``SubjectExport`` built by the worker (and None).

    Logged either way. Raises NotPermitted unless the actor may export, Contact.DoesNotExist,
    InvalidInput for a merged-away id.
    """
    policy.require(actor, "privacy.export")
    subject = subject_of(contact_id)
    by = actor if getattr(actor, "pk", None) else None
    if not background:
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024**2)  # noqa: SIM115 (returned open)
        try:
            counts = subject_export_write(
                subject,
                spool,
                limit=int(settings.RAPPORT_PRIVACY_EXPORT_INLINE_BYTES),
                name=_display_name(contact_id),
            )
        except ArchiveTooLarge:
            spool.close()
        else:
            size = spool.tell()
            spool.seek(0)
            digest = hashlib.file_digest(spool, "sha256").hexdigest()  # type: ignore[arg-type]
            spool.seek(0)
            job = _delivered(by, contact_id, via, size, counts, digest)
            return job, spool  # type: ignore[return-value]
    job = SubjectExport.objects.create(contact_id=contact_id, requested_by=by, via=via)
    from rapport.privacy.tasks import build_export

    transaction.on_commit(lambda: build_export.enqueue(export_id=job.pk))
    return job, None


def _delivered(
    by: Any, contact_id: int, via: str, size: int, counts: dict[str, int], digest: str = ""
) -> SubjectExport:
    now = timezone.now()
    return SubjectExport.objects.create(
        contact_id=contact_id,
        requested_by=by,
        via=via,
        status=SubjectExport.Status.DELIVERED,
        started_at=now,
        finished_at=now,
        size=size,
        sha256=digest,
        sections=counts,
    )


def subject_export_to(
    *, actor: Any, contact_id: int, out: IO[bytes], via: str = "cli"
) -> SubjectExport:
    """Write the contact's archive to ``out`` (a file the caller opened), whatever its
    size, and log it. Raises as ``subject_export_start``."""
    policy.require(actor, "privacy.export")
    subject = subject_of(contact_id)
    start = out.tell()
    counts = subject_export_write(subject, out, name=_display_name(contact_id))
    by = actor if getattr(actor, "pk", None) else None
    return _delivered(by, contact_id, via, out.tell() - start, counts)


def subject_export_run(*, export_id: int) -> SubjectExport:
    """Build a queued export's archive and keep it until it expires (the background
    task). A contact erased meanwhile fails the export, saying so."""
    claim = jobs.job_claim(
        SubjectExport,
        export_id,
        startable=(SubjectExport.Status.QUEUED,),
        running=SubjectExport.Status.RUNNING,
        started_at=timezone.now(),
    )
    job = SubjectExport.objects.get(pk=export_id)
    if claim is None:
        return job
    with jobs.job_heartbeat(claim):
        try:
            subject = subject_of(job.contact_id)
        except (Contact.DoesNotExist, InvalidInput) as exc:
            claim.update(
                status=SubjectExport.Status.FAILED, error=str(exc), finished_at=timezone.now()
            )
            return SubjectExport.objects.get(pk=export_id)
        with tempfile.TemporaryFile() as out:
            counts = subject_export_write(subject, out, name=_display_name(job.contact_id))
            size = out.tell()
            out.seek(0)
            digest = hashlib.file_digest(out, "sha256").hexdigest()
            out.seek(0)
            stored = SubjectExport(pk=job.pk)
            name = f"{job.pk}-{secrets.token_hex(8)}.zip"
            stored.file.save(name, File(out), save=False)
        days = int(settings.RAPPORT_PRIVACY_EXPORT_DAYS)
        try:
            claim.update(
                status=SubjectExport.Status.DONE,
                file=stored.file.name,
                size=size,
                sha256=digest,
                sections=counts,
                finished_at=timezone.now(),
                expires_at=timezone.now() + dt.timedelta(days=days),
            )
        except jobs.ClaimLost:
            stored.file.storage.delete(str(stored.file.name))
            raise
    # erased while the archive was being built: it must not outlive them
    erased = ErasureLog.objects.filter(
        contact_id=job.contact_id, mode=Mode.ERASE, at__gte=job.created_at
    ).exists()
    if erased or not Contact.objects.filter(pk=job.contact_id).exists():
        stored.file.storage.delete(str(stored.file.name))
        SubjectExport.objects.filter(pk=job.pk).update(
            file="", status=SubjectExport.Status.REMOVED, error="The person was erased meanwhile."
        )
    return SubjectExport.objects.get(pk=export_id)


def export_stopped_message(job: SubjectExport) -> str:
    return f"The process building this export stopped ({jobs.last_heard(job)}); ask again."


def subject_export_get(*, actor: Any, export_id: int) -> SubjectExport:
    """One export as logged; raises NotPermitted, SubjectExport.DoesNotExist."""
    policy.require(actor, "privacy.export")
    return SubjectExport.objects.select_related("requested_by").get(pk=export_id)


def subject_export_file(*, actor: Any, export_id: int) -> tuple[SubjectExport, IO[bytes]]:
    """The stored archive of a finished export, opened; the download is noted.

    Raises NotPermitted, SubjectExport.DoesNotExist, InvalidInput when it is not ready,
    expired or was removed.
    """
    job = subject_export_get(actor=actor, export_id=export_id)
    if job.status != SubjectExport.Status.DONE or not job.file:
        raise InvalidInput.single(
            "export", f"This export is {job.get_status_display().lower()}; there is no file."
        )
    handle = job.file.storage.open(str(job.file.name), "rb")
    SubjectExport.objects.filter(pk=job.pk).update(downloaded_at=timezone.now())
    return job, handle


def exports_expire(*, now: dt.datetime | None = None) -> int:
    """Delete the archives whose time is up (the log stays); returns how many."""
    now = now or timezone.now()
    done = 0
    for job in SubjectExport.objects.filter(
        status=SubjectExport.Status.DONE, expires_at__lte=now
    ).exclude(file=""):
        job.file.storage.delete(str(job.file.name))
        SubjectExport.objects.filter(pk=job.pk).update(file="", status=SubjectExport.Status.REMOVED)
        done += 1
    if done:
        logger.info("Subject access archives past their days deleted: %s", done)
    return done
