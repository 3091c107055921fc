"""Background tasks of reminders: they only call services. The periodic duties
registered in ``ActivityConfig.ready()`` enqueue them."""

from __future__ import annotations

from django_tasks import task

from rapport.activity.services import reminders


@task()
def deliver_reminders() -> None:
    reminders.reminders_deliver()


@task()
def plan_reminders() -> None:
    reminders.reminders_plan()


def deliver_duty() -> None:
    """Every minute: enqueue delivery when something is due (a few indexed reads), so
    an idle minute puts nothing in the queue."""
    if reminders.reminders_pending():
        deliver_reminders.enqueue()


def plan_duty() -> None:
    plan_reminders.enqueue()
