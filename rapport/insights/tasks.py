"""Background work of the insights area: the hourly snapshot and the monthly summary."""

from __future__ import annotations

from django_tasks import task

from rapport.core import jobs
from rapport.core.schedule import routine
from rapport.insights import services


@routine
@task()
@jobs.job_task
def take_snapshot() -> None:
    services.snapshot()


@routine
@task()
@jobs.job_task
def send_monthly_summary() -> None:
    services.send_monthly_summary()
