"""The privacy app's own part in privacy requests (see ``rapport.core.subjects``):
subject access archives kept on the server for a while after being built in the
background. An erasure deletes them; the log of who exported whom and when stays."""

from __future__ import annotations

import functools

from django.db import transaction
from django.db.models import QuerySet

from rapport.core.subjects import Counts, DataCategory, Exported, Subject, SubjectProvider
from rapport.privacy.models import SubjectExport


def _stored(subject: Subject) -> QuerySet[SubjectExport]:
    return SubjectExport.objects.filter(contact_id__in=subject.contact_ids).exclude(file="")


def export(subject: Subject) -> Exported:
    return Exported(
        sections={
            "Earlier exports of their data": list(
                SubjectExport.objects.filter(contact_id__in=subject.contact_ids)
                .order_by("created_at")
                .values("created_at", "via", "status")
            )
        }
    )


def preview(subject: Subject) -> Counts:
    return {"stored export archives": _stored(subject).count()}


def erase(subject: Subject) -> Counts:
    counts = preview(subject)
    for job in _stored(subject):
        transaction.on_commit(functools.partial(job.file.storage.delete, str(job.file.name)))
    _stored(subject).update(file="", status=SubjectExport.Status.REMOVED)
    return counts


PROVIDER = SubjectProvider(
    name="exports",
    label="Stored exports",
    export=export,
    preview=preview,
    erase=erase,
    order=100,
    categories=(
        DataCategory(
            "Subject access archives",
            "copies of everything above, kept for a few days for download",
            "uploaded files under privacy-exports/",
        ),
    ),
)
