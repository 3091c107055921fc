"""Background tasks of reminders: they only call services. The periodic duties
registered in ``ActivityConfig.ready()`` enqueue them; both are routine (quiet in the
log unless they did something, see ``core.schedule``)."""

from __future__ import annotations

import logging

from django_tasks import task

from rapport.activity.services import reminders
from rapport.core.schedule import routine

logger = logging.getLogger(__name__)


@routine
@task()
def deliver_reminders() -> None:
    reminders.reminders_deliver()


@routine
@task()
def plan_reminders() -> None:
    reminders.reminders_plan()


def deliver_duty() -> None:
    """Every minute: enqueue delivery when something is due (a few indexed reads), so
    an idle minute puts nothing in the queue and nothing in the log."""
    if reminders.reminders_pending():
        deliver_reminders.enqueue()
    else:
        logger.debug("No reminders to deliver")


def plan_duty() -> None:
    plan_reminders.enqueue()
