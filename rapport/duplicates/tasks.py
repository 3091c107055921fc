"""Background tasks of the duplicates area: they only call services."""

from __future__ import annotations

from django_tasks import task

from rapport.core import jobs
from rapport.duplicates.services import duplicates_scan_run


@task()
@jobs.job_task
def run_scan(scan_id: int) -> None:
    duplicates_scan_run(scan_id=scan_id)
