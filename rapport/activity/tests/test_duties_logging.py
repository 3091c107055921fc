"""The worker's periodic duties are quiet when there is nothing to do: an idle run
logs at DEBUG only (the duty's start, the task queue's lines about routine tasks);
a run that delivered, planned or failed says so at INFO or WARNING."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.utils import timezone

from rapport.activity.services import tasks as tasks_service
from rapport.activity.tests.tasks_support import (  # noqa: F401 (the smtp fixture)
    Inbox,
    contact,
    smtp_fixture,
)
from rapport.core import schedule
from rapport.core.models import PeriodicRun

pytestmark = pytest.mark.django_db


def _loud(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, str]]:
    """What the worker logged at INFO or above (not the test's SMTP server, "mail.log")."""
    return [
        (r.levelname, r.name, r.getMessage())
        for r in caplog.records
        if r.levelno >= logging.INFO and r.name != "mail.log"
    ]


def _next_minute() -> None:
    """Every duty is due again, as a minute (or a quarter of an hour) later."""
    PeriodicRun.objects.update(last_run_at=timezone.now() - dt.timedelta(hours=1))


def test_an_idle_run_of_every_duty_logs_nothing_at_info(bob, caplog):
    caplog.set_level(logging.DEBUG)
    for _ in range(2):
        started = schedule.run_due_duties()
        _next_minute()
        assert {
            "activity.reminders.deliver",
            "activity.reminders.plan",
            "activity.attachments.sweep",
        } <= set(started)
    assert _loud(caplog) == []
    debug = [r.getMessage() for r in caplog.records]
    assert "Periodic duty activity.reminders.deliver started" in debug
    assert "No reminders to deliver" in debug
    assert "Reminders planned: nothing new" in debug
    assert "Attachment files: none to remove (0 looked at)" in debug
    # the queue's own lines about the routine planning task are there, at DEBUG
    queued = [
        r for r in caplog.records if r.name == "django_tasks" and "plan_reminders" in r.getMessage()
    ]
    assert queued and {r.levelname for r in queued} == {"DEBUG"}


def test_a_run_that_delivers_or_plans_says_so_at_info(bob, smtp: Inbox, caplog):
    bob.email = "bob@example.com"
    bob.save()
    tasks_service.task_create(
        actor=bob,
        data={"title": "Call Ann", "due_at": "2000-01-01T10:00:00Z", "remind_before": 0},
    )
    # tomorrow's birthday: planned now, due at 09:00 tomorrow (today's would be due at
    # once after 09:00, and the next run would deliver it)
    tomorrow = timezone.now() + dt.timedelta(days=1)
    contact(bob, "Ann Lee", birthday=f"1980-{tomorrow:%m-%d}", owner="bob")
    caplog.set_level(logging.DEBUG)
    schedule.run_due_duties()
    loud = _loud(caplog)
    assert (
        "INFO",
        "rapport.activity.services.reminders",
        "Reminders: 1 delivered in the app, 1 mailed, 0 digests sent, 0 mails failed",
    ) in loud
    assert any(m.startswith("Reminders planned: 1 new") for _, _, m in loud)
    assert len(smtp.messages) == 1
    # nothing else is loud, not even the task queue's lines about the runs
    assert all(name == "rapport.activity.services.reminders" for _, name, _ in loud)
    # the next minute is idle again (the birthday's reminder is not due until tomorrow)
    caplog.clear()
    _next_minute()
    schedule.run_due_duties()
    assert [m for _, _, m in _loud(caplog) if "delivered" in m] == []


def test_a_mail_that_fails_is_a_warning(bob, settings, caplog):
    bob.email = "bob@example.com"
    bob.save()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    tasks_service.task_create(
        actor=bob,
        data={"title": "Call Ann", "due_at": "2000-01-01T10:00:00Z", "remind_before": 0},
    )
    caplog.set_level(logging.DEBUG)
    schedule.run_due_duties()
    loud = _loud(caplog)
    assert any(level == "WARNING" and "could not be mailed" in m for level, _, m in loud)
    assert any(level == "INFO" and "1 mails failed" in m for level, _, m in loud)
