"""The check of every row before an import starts: how many will import, how many fail.

The preview shows the first rows; this reads the whole file in the background, through
the same mapping and the same contact validation as the import (a bad optional value is
left out with a warning, as the import does), and keeps a summary on the batch
(``ImportBatch.row_check``): rows checked so far, how many would import, how many would
fail, and the first failures. Nothing is written but that summary.

What the check cannot know before the start is whom a row matches: a row in update mode
that matches nobody, or an id another contact already holds, is only found by the run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from rapport.contacts import services as contact_services
from rapport.core import policy
from rapport.core.errors import InvalidInput, NotAdmitted
from rapport.ingest import services
from rapport.ingest.models import ImportBatch
from rapport.ingest.records import build_record, contact_data, drop_optional

# The failures kept to show (the run reports them all).
FIRST_FAILURES = 50
# Rows checked between two saves of the progress.
PROGRESS_EVERY = 500
# A check that reported nothing for this long lost its worker; asking again restarts it.
STALLED_SECONDS = 120


def mapping_key(batch: ImportBatch) -> str:
    """What the check's result depends on: a check of another mapping is stale."""
    text = json.dumps([batch.mapping, batch.mode, batch.encoding, batch.source], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def import_check_start(*, actor: Any, batch: ImportBatch) -> ImportBatch:
    """Queue the check of every row of a pending batch with its current mapping.

    A check already done or under way for the same mapping is kept. Raises NotPermitted,
    or InvalidInput (``status``) once the batch has started.
    """
    policy.require(actor, "imports.run")
    if batch.status != ImportBatch.Status.PENDING:
        raise InvalidInput.single("status", "This import has already started.")
    key = mapping_key(batch)
    if batch.row_check.get("mapping") == key and not _restartable(batch.row_check):
        return batch
    batch.row_check = {"mapping": key, "state": "queued", "checked": 0, "at": _now()}
    ImportBatch.objects.filter(pk=batch.pk).update(row_check=batch.row_check)
    from rapport.ingest.tasks import run_check

    by = getattr(actor, "pk", None)
    transaction.on_commit(lambda: run_check.enqueue(batch_id=batch.pk, actor_id=by))
    return batch


def _now() -> str:
    return timezone.now().isoformat()


def _restartable(check: dict[str, Any]) -> bool:
    """Failed, or queued or running with no word from its worker for a while."""
    if check.get("state") == "failed":
        return True
    if check.get("state") not in ("queued", "running"):
        return False
    try:
        at = dt.datetime.fromisoformat(str(check.get("at")))
    except ValueError:
        return True
    return (timezone.now() - at).total_seconds() > STALLED_SECONDS


def _save(batch: ImportBatch, key: str, summary: dict[str, Any]) -> bool:
    """Save the summary unless the mapping changed meanwhile; False when it did."""
    return bool(
        ImportBatch.objects.filter(
            pk=batch.pk, status=ImportBatch.Status.PENDING, row_check__mapping=key
        ).update(row_check={"mapping": key, **summary, "at": _now()})
    )


def import_check_run(*, batch_id: int, actor_id: int | None) -> dict[str, Any]:
    """Check every row of the batch as ``actor_id`` would import it; returns the summary
    it saved (see the module)."""
    actor = get_user_model().objects.filter(pk=actor_id).first()
    batch = ImportBatch.objects.get(pk=batch_id)
    key = batch.row_check.get("mapping", "")
    if key != mapping_key(batch) or batch.status != ImportBatch.Status.PENDING:
        return dict(batch.row_check)  # the mapping changed since: a newer check is queued
    summary: dict[str, Any] = {
        "state": "running",
        "checked": 0,
        "will_import": 0,
        "will_fail": 0,
        "warned": 0,
        "failures": [],
        "warnings": [],
    }
    try:
        table = services.open_table(batch)
        for row_number, cells in table.rows:
            summary["checked"] += 1
            if cells is None:
                reason = table.take_problem(row_number)
                _fail(summary, row_number, [("", "", reason)])
            else:
                _check_row(
                    summary,
                    row_number,
                    build_record(batch.mapping, batch.headers, cells),
                    batch,
                    actor,
                )
            if summary["checked"] % PROGRESS_EVERY == 0 and not _save(batch, key, summary):
                return summary
    except InvalidInput as exc:
        summary.update(state="failed", error=exc.errors[0].message)
        _save(batch, key, summary)
        return summary
    summary["state"] = "done"
    _save(batch, key, summary)
    return summary


def _check_row(
    summary: dict[str, Any], row_number: int, record: Any, batch: ImportBatch, actor: Any
) -> None:
    if record.empty:
        summary["checked"] -= 1
        return
    for attempt in range(2):
        try:
            contact_services.contact_clean(actor=actor, data=contact_data(record, batch.source))
            break
        except NotAdmitted as exc:
            _fail(summary, row_number, services.suppressed_errors(record, exc.errors))
            return
        except InvalidInput as exc:
            # An id someone already has means the row updates them: not a failure.
            errors = [e for e in exc.errors if not e.path.startswith("external_ids")]
            if not errors:
                break
            if attempt or not drop_optional(record, errors):
                _fail(summary, row_number, services._row_errors(record, InvalidInput(errors)))
                return
    summary["will_import"] += 1
    if record.warnings:
        summary["warned"] += 1
        if len(summary["warnings"]) < FIRST_FAILURES:
            column, value, reason = record.warnings[0]
            summary["warnings"].append(
                {"row": row_number, "column": column, "value": value[:200], "reason": reason}
            )


def _fail(summary: dict[str, Any], row_number: int, errors: list[tuple[str, str, str]]) -> None:
    summary["will_fail"] += 1
    if len(summary["failures"]) < FIRST_FAILURES:
        for column, value, reason in errors[:3]:
            summary["failures"].append(
                {"row": row_number, "column": column, "value": value[:200], "reason": reason}
            )
