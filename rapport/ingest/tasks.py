"""Background tasks of the import area: they only call services."""

from __future__ import annotations

from django_tasks import task

from rapport.core import jobs
from rapport.ingest.services import import_run, import_undo_run


@task()
@jobs.job_task
def run_import(batch_id: int) -> None:
    import_run(batch_id=batch_id)


@task()
@jobs.job_task
def run_undo(batch_id: int, claim: int) -> None:
    import_undo_run(batch_id=batch_id, claim=claim)


@task()
def run_check(batch_id: int, actor_id: int | None) -> None:
    from rapport.ingest.checking import import_check_run

    import_check_run(batch_id=batch_id, actor_id=actor_id)
