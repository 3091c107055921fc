"""Reads of import batches for the pages and the API: lists, one batch, samples, errors.

Anyone who may see contacts may see the batches that brought them in ("contacts.view");
changing or running a batch is a service ("imports.run").
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from rapport.contacts.models import Contact
from rapport.contacts.selectors import MAX_LIMIT, Page
from rapport.core import policy
from rapport.core.cursor import decode_cursor, encode_cursor
from rapport.core.errors import InvalidInput
from rapport.ingest import services
from rapport.ingest.models import ImportBatch, ImportRowError

ACTIVE = (ImportBatch.Status.QUEUED, ImportBatch.Status.RUNNING, ImportBatch.Status.UNDOING)


def batch_list(*, actor: Any, cursor: str | None = None, limit: int = 25) -> Page:
    """Batches newest first, one keyset page at a time (never OFFSET).

    Raises NotPermitted, or InvalidInput for a bad ``cursor`` or ``limit``.
    """
    policy.require(actor, "contacts.view")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.single("limit", f"Must be between 1 and {MAX_LIMIT}.")
    rows = ImportBatch.objects.select_related("created_by").order_by("-id")
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        if not isinstance(after, int):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        rows = rows.filter(id__lt=after)
    items = list(rows[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    return Page(items=items, next_cursor=encode_cursor([items[-1].pk]) if more else None)


def batch_get(*, actor: Any, batch_id: int) -> ImportBatch:
    """One batch; raises NotPermitted, or ImportBatch.DoesNotExist for an unknown id."""
    policy.require(actor, "contacts.view")
    return ImportBatch.objects.select_related("created_by").get(pk=batch_id)


def batch_samples(*, batch: ImportBatch, rows: int = 3) -> dict[str, list[str]]:
    """The first non-empty values of each column, to show beside the mapping.

    Raises InvalidInput (``file``) when the kept file cannot be read any more.
    """
    samples: dict[str, list[str]] = {h: [] for h in batch.headers}
    table = services.open_table(batch)
    for seen, (_, cells) in enumerate(table.rows):
        if seen >= rows * 5 or all(len(v) >= rows for v in samples.values()):
            break
        if cells is None:
            continue
        for header, cell in zip(batch.headers, cells, strict=False):
            value = (cell or "").strip()
            if value and len(samples[header]) < rows:
                samples[header].append(value[:80] + ("…" if len(value) > 80 else ""))
    return samples


def batch_preset(batch: ImportBatch) -> str:
    """The known export format (Google, Outlook…) the headers match, for people; or ''."""
    from rapport.ingest import presets

    if batch.file_format == "vcard" or not batch.headers:
        return ""
    found = presets.detect_preset(batch.headers)
    return presets.preset_label(found[0]) if found else ""


def batch_errors(
    *,
    batch: ImportBatch,
    limit: int | None = None,
    severity: str = ImportRowError.Severity.ERROR,
) -> list[ImportRowError]:
    """The batch's row errors (or warnings: values left out of imported rows) in file
    order, the first ``limit`` of them."""
    rows = batch.row_errors.filter(severity=severity).order_by("row_number", "id")
    return list(rows[:limit] if limit else rows)


def batch_contacts(*, batch: ImportBatch, limit: int = 20) -> tuple[list[Contact], int]:
    """Contacts the batch created or updated that still exist (the first ``limit``), and how many."""
    ids = batch.changes.values_list("contact_id", flat=True)
    found = Contact.objects.filter(pk__in=ids)
    return list(found.order_by("sort_name", "id")[:limit]), found.count()


def batch_is_active(batch: ImportBatch) -> bool:
    """Queued, running or being undone, and still reporting: the page keeps polling."""
    from rapport.ingest.undo import undo_is_stalled

    return batch.status in ACTIVE and not services.is_stalled(batch) and not undo_is_stalled(batch)


def batch_can_resume(batch: ImportBatch) -> bool:
    """Interrupted, or running with a worker that stopped reporting."""
    return batch.status == ImportBatch.Status.INTERRUPTED or services.is_stalled(batch)


def batch_can_undo(batch: ImportBatch) -> bool:
    """Finished and not undone; or being undone by a worker that died (to carry on)."""
    return (
        not batch.dry_run
        and batch.status not in (ImportBatch.Status.UNDONE, ImportBatch.Status.PENDING)
        and not batch_is_active(batch)
    )


def batch_error_page(
    *, actor: Any, batch: ImportBatch, cursor: str | None = None, limit: int = 100
) -> Page:
    """The batch's row errors in file order, one keyset page at a time."""
    policy.require(actor, "contacts.view")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.single("limit", f"Must be between 1 and {MAX_LIMIT}.")
    rows = batch.row_errors.order_by("row_number", "id")
    if cursor:
        row_number, error_id = decode_cursor(cursor, 2)
        if not (isinstance(row_number, int) and isinstance(error_id, int)):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        rows = rows.filter(Q(row_number__gt=row_number) | Q(row_number=row_number, id__gt=error_id))
    items = list(rows[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    last = items[-1] if items else None
    return Page(
        items=items,
        next_cursor=encode_cursor([last.row_number, last.pk]) if more and last else None,
    )
