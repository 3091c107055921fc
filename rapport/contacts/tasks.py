"""Background tasks of the contacts area: they only call services."""

from __future__ import annotations

from django_tasks import task

from rapport.contacts.services.bulk import bulk_run
from rapport.core import jobs


@task()
@jobs.job_task
def run_bulk(job_id: int) -> None:
    bulk_run(job_id=job_id)
