"""Background tasks of outreach: they only call services. The duty registered in
``OutreachConfig.ready()`` enqueues delivery when something is due (routine: quiet in
the log unless it sent something, see ``core.schedule``)."""

from __future__ import annotations

import logging

from django_tasks import task

from rapport.core import jobs
from rapport.core.schedule import routine

logger = logging.getLogger(__name__)


@routine
@task()
def deliver_messages() -> None:
    from rapport.outreach.services.sending import messages_deliver

    messages_deliver()


def deliver_duty() -> None:
    """Every minute: enqueue delivery when a queued message is due (one indexed read),
    so an idle minute puts nothing in the queue."""
    from rapport.outreach.services.sending import messages_due

    if messages_due():
        deliver_messages.enqueue()
    else:
        logger.debug("No messages to deliver")


@task()
@jobs.job_task
def run_bulk_send(job_id: int) -> None:
    from rapport.outreach.services.bulk import bulk_send_run

    bulk_send_run(job_id=job_id)
