"""Background tasks of mail capture: they only call services."""

from __future__ import annotations

from django_tasks import task

from rapport.core import jobs
from rapport.core.schedule import routine


@task()
@jobs.job_task
def run_mail_import(job_id: int) -> None:
    from rapport.activity.mail.imports import mail_import_run

    mail_import_run(job_id=job_id)


@routine
@task()
def sweep_attachment_files() -> None:
    from rapport.activity.services.attachments import attachment_files_sweep

    attachment_files_sweep()


def attachment_files_duty() -> None:
    """Every hour: delete attachment files no interaction holds any more (quiet in the
    log unless it deleted some; see ``services.attachments``)."""
    sweep_attachment_files.enqueue()
