"""An import or undo whose worker paused and was taken over stops writing to its batch."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks import TaskResultStatus

from rapport.contacts.models import Contact
from rapport.core import jobs
from rapport.ingest import services, undo
from rapport.ingest.models import ImportBatch, ImportChange
from rapport.ingest.tasks import run_undo

ROWS = "Name,Email\n" + "".join(f"Person {i},p{i}@example.org\n" for i in range(6))
MAPPING = {"Name": "full_name", "Email": "emails[0].address"}


def _queued(actor) -> ImportBatch:
    batch = services.import_upload(
        actor=actor, upload=io.BytesIO(ROWS.encode()), file_name="people.csv", source="Old CRM"
    )
    batch = services.import_configure(actor=actor, batch=batch, mapping=MAPPING, mode="upsert")
    services.import_start(actor=actor, batch=batch)
    return batch


def _paused(batch: ImportBatch) -> None:
    """What a long pause of its worker does to a batch: its heartbeat falls far behind."""
    ImportBatch.objects.filter(pk=batch.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))


def test_an_import_taken_over_from_a_paused_worker_is_left_to_the_new_one(
    bob, settings, monkeypatch
):
    settings.RAPPORT_JOB_STALE_SECONDS = 60
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    batch = _queued(bob)
    reported = []

    def paused(rows: int) -> None:
        reported.append(rows)
        if len(reported) == 1:  # the first worker stops here for longer than the stale period
            _paused(batch)
            services.import_run(batch_id=batch.pk)  # a second worker takes it over

    with pytest.raises(jobs.ClaimLost):
        services.import_run(batch_id=batch.pk, progress=paused)
    assert reported == [2], "the first worker stopped at its next chunk, which was rolled back"
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert (batch.processed_rows, batch.total_rows, batch.created_count) == (6, 6, 6)
    assert (batch.updated_count, batch.unchanged_count, batch.failed_count) == (0, 0, 0)
    assert Contact.objects.count() == ImportChange.objects.filter(batch=batch).count() == 6
    finished = [e["message"] for e in batch.log if e["message"].startswith("Finished")]
    assert finished == ["Finished: done."]


def test_an_undo_taken_over_from_a_paused_worker_is_left_to_the_new_one(bob, settings, monkeypatch):
    batch = services.import_run(batch_id=_queued(bob).pk)
    monkeypatch.setattr(undo, "CREATED_PAGE", 2)
    first = services.import_undo_start(actor=bob, batch=batch, enqueue=False)
    reported = []

    def paused(done: int, total: int) -> None:
        reported.append(done)
        if len(reported) == 1:  # the first worker stops here until the undo counts as stalled
            _paused(batch)
            second = services.import_undo_start(actor=bob, batch=batch, enqueue=False)
            assert run_undo.enqueue(batch_id=batch.pk, claim=second.claim).status == (
                TaskResultStatus.SUCCESSFUL
            )

    with pytest.raises(jobs.ClaimLost):
        services.import_undo_run(batch_id=batch.pk, claim=first.claim, progress=paused)
    assert reported == [2], "the first worker stopped at its next page, which was rolled back"
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.UNDONE
    assert (batch.undo_report["done"], batch.undo_report["removed"]) == (6, 6)
    assert Contact.objects.count() == 0
    undone = [e["message"] for e in batch.log if e["message"].startswith("Undone")]
    assert undone == ["Undone: 6 contacts removed, 0 restored, 0 kept."]


def test_a_queued_undo_whose_start_was_taken_over_ends_quietly_leaving_the_batch(bob, caplog):
    batch = services.import_run(batch_id=_queued(bob).pk)
    first = services.import_undo_start(actor=bob, batch=batch, enqueue=False)
    _paused(batch)  # its worker took the task, then stopped before its first write
    second = services.import_undo_start(actor=bob, batch=batch, enqueue=False)

    with caplog.at_level(logging.WARNING, logger="rapport.core.jobs"):
        result = run_undo.enqueue(batch_id=batch.pk, claim=first.claim)
    assert result.status == TaskResultStatus.SUCCESSFUL, "the task ends; nothing to retry"
    assert f"Import batch {batch.pk} was taken over" in caplog.text
    batch.refresh_from_db()
    assert (batch.status, batch.undo_report["done"], batch.heartbeat_at) == (
        ImportBatch.Status.UNDOING,
        0,
        second.heartbeat_at,
    )
    assert Contact.objects.count() == 6

    run_undo.enqueue(batch_id=batch.pk, claim=second.claim)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.UNDONE
    assert Contact.objects.count() == 0
