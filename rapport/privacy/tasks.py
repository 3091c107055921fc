"""Background tasks of the privacy app: they only call services."""

from __future__ import annotations

from django.db import connection
from django_tasks import task

from rapport.core import jobs, search
from rapport.core.schedule import routine


@task()
@jobs.job_task
def build_export(export_id: int) -> None:
    from rapport.privacy.services.exports import subject_export_run

    subject_export_run(export_id=export_id)


@task()
def compact_search_index() -> None:
    """Rewrite the full-text index without what erasures removed (see search.compact_sql)."""
    with connection.cursor() as cursor:
        for statement in search.compact_sql(connection.vendor):
            cursor.execute(statement)


@routine
@task()
def run_retention() -> None:
    from rapport.privacy.services.retention import retention_run_all

    retention_run_all()


def retention_duty() -> None:
    """Daily: every enabled retention policy, in the background."""
    run_retention.enqueue()


def expire_duty() -> None:
    """Hourly: archives kept past their days are deleted (the log stays)."""
    from rapport.privacy.services.exports import exports_expire

    exports_expire()
