"""Background tasks of mail capture: they only call services."""

from __future__ import annotations

from django_tasks import task

from rapport.core import jobs


@task()
@jobs.job_task
def run_mail_import(job_id: int) -> None:
    from rapport.activity.mail.imports import mail_import_run

    mail_import_run(job_id=job_id)
