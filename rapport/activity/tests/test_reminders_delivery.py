"""Reminders delivered in the app and by mail to a real SMTP server, in each user's
time zone: one mail each or one digest a day, exactly once, even with two runs and a
worker that died half-way."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from rapport.activity.models import Notification, Reminder, ReminderDigest
from rapport.activity.services import reminders
from rapport.activity.services import tasks as tasks_service
from rapport.activity.tests.tasks_support import Inbox, smtp_fixture  # noqa: F401 (fixture)
from rapport.core import schedule

pytestmark = pytest.mark.django_db
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
UTC = dt.UTC


def _user_with_mail(user, zone: str = "", digest: bool = False):
    user.email = f"{user.username}@example.com"
    user.time_zone = zone
    user.reminder_digest = digest
    user.save()
    return user


def _task(actor, title: str, due_at: str, remind_before: int = 15):
    return tasks_service.task_create(
        actor=actor, data={"title": title, "due_at": due_at, "remind_before": remind_before}
    )


def test_a_due_reminder_is_one_notification_and_one_mail_in_the_users_zone(bob, smtp: Inbox):
    _user_with_mail(bob, "America/New_York")
    # 14:00 UTC on 9 March 2026 is 10:00 in New York (EDT since 8 March, UTC-4).
    task = _task(bob, "Call Ann", "2026-03-09T14:00:00Z", remind_before=30)
    before = reminders.reminders_deliver(now=dt.datetime(2026, 3, 9, 13, 0, tzinfo=UTC))
    assert before.notified == 0 and not smtp.messages
    at = dt.datetime(2026, 3, 9, 13, 31, tzinfo=UTC)
    first = reminders.reminders_deliver(now=at)
    second = reminders.reminders_deliver(now=at + dt.timedelta(minutes=1))
    assert (first.notified, first.mailed, second.notified, second.mailed) == (1, 1, 0, 0)
    note = Notification.objects.get(user=bob)
    assert note.kind == Notification.Kind.REMINDER and note.task == task
    assert note.url == f"/activity/tasks/{task.pk}/"
    [mail] = smtp.to("bob@example.com")
    assert mail["Subject"] == "Reminder: Task due: Call Ann"
    assert mail["From"] == "Rapport <rapport@crm.example.com>"
    body = Inbox.text(mail)
    assert "Due: Mon 09 Mar 2026, 10:00 EDT" in body
    assert "America/New_York" in body


def _ago(delta: dt.timedelta) -> dt.datetime:
    return timezone.now() - delta


def test_a_reminder_claimed_by_a_worker_that_died_is_mailed_once_later(bob, smtp: Inbox):
    _user_with_mail(bob)
    _task(bob, "Renewal", "2026-05-01T10:00:00Z", remind_before=0)
    at = dt.datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    reminders._notify_due(at)
    # a worker claimed the mail a minute ago and was killed before sending it
    Reminder.objects.update(email_claimed_at=_ago(dt.timedelta(minutes=1)))
    soon = reminders.reminders_deliver(now=at + dt.timedelta(minutes=1))
    assert soon.mailed == 0 and not smtp.messages  # the claim is still fresh
    # once the claim is older than any live worker holds one, the mail goes out
    stale = reminders.claim_stale_after()
    Reminder.objects.update(email_claimed_at=_ago(stale + dt.timedelta(seconds=1)))
    later = reminders.reminders_deliver(now=at + dt.timedelta(minutes=6))
    assert later.mailed == 1 and len(smtp.messages) == 1
    assert reminders.reminders_deliver(now=at + dt.timedelta(minutes=20)).mailed == 0
    assert len(smtp.messages) == 1
    assert Notification.objects.count() == 1


def test_a_claim_goes_stale_only_after_the_longest_a_live_worker_can_take(settings):
    """Five minutes, or ten SMTP timeouts when that is longer: each step of sending one
    mail may wait EMAIL_TIMEOUT."""
    settings.EMAIL_TIMEOUT = 10
    assert reminders.claim_stale_after() == dt.timedelta(minutes=5)
    settings.EMAIL_TIMEOUT = 60
    assert reminders.claim_stale_after() == dt.timedelta(minutes=10)


def test_a_mail_the_server_refused_is_tried_again(bob, smtp: Inbox, settings):
    _user_with_mail(bob)
    _task(bob, "Renewal", "2026-05-01T10:00:00Z", remind_before=0)
    at = dt.datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    good_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    down = reminders.reminders_deliver(now=at)
    assert (down.notified, down.mailed, down.failed) == (1, 0, 1)
    settings.EMAIL_PORT = good_port
    up = reminders.reminders_deliver(now=at + dt.timedelta(minutes=1))
    assert up.mailed == 1 and len(smtp.messages) == 1


def test_two_duty_runs_deliver_each_reminder_once(bob, alice, smtp: Inbox, settings):
    """The periodic duty enqueues delivery (run inline in tests); running the duties
    again, as a second worker would, delivers nothing twice."""
    _user_with_mail(bob)
    _user_with_mail(alice)
    _task(bob, "One", "2000-01-01T10:00:00Z", remind_before=0)
    _task(alice, "Two", "2000-01-01T10:00:00Z", remind_before=0)
    started = schedule.run_due_duties()
    assert "activity.reminders.deliver" in started
    reminders.reminders_deliver()  # a second worker's task arriving late
    schedule.run_due_duties(now=dt.datetime.now(UTC) + dt.timedelta(minutes=2))
    assert Notification.objects.filter(kind="reminder").count() == 2
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == [
        "alice@example.com",
        "bob@example.com",
    ]


def test_the_digest_is_one_mail_at_eight_in_the_users_zone(bob, alice, smtp: Inbox):
    _user_with_mail(bob, "America/New_York", digest=True)
    _user_with_mail(alice)  # one mail per reminder
    # Reminders for New York's Tuesday 3 November 2026 (EST, UTC-5) at 09:45 and 16:45.
    _task(bob, "Morning call", "2026-11-03T15:00:00Z", remind_before=15)
    _task(bob, "Afternoon call", "2026-11-03T22:00:00Z", remind_before=15)
    _task(bob, "Next week", "2026-11-10T15:00:00Z", remind_before=15)
    _task(alice, "Alice's", "2026-11-03T15:00:00Z", remind_before=15)
    # 07:59 in New York: no digest yet
    reminders.reminders_deliver(now=dt.datetime(2026, 11, 3, 12, 59, tzinfo=UTC))
    assert not smtp.to("bob@example.com")
    eight = dt.datetime(2026, 11, 3, 13, 0, tzinfo=UTC)
    assert reminders.reminders_deliver(now=eight).digests == 1
    reminders.reminders_deliver(now=eight + dt.timedelta(minutes=1))
    [digest] = smtp.to("bob@example.com")
    assert digest["Subject"] == "Your reminders for Tue 03 Nov 2026"
    body = Inbox.text(digest)
    assert "09:45  Task due: Morning call" in body
    assert "16:45  Task due: Afternoon call" in body
    assert "Next week" not in body
    assert "America/New_York" in body
    # the day's reminders still arrive in the app at their time, and no single mails
    evening = dt.datetime(2026, 11, 3, 23, 0, tzinfo=UTC)
    reminders.reminders_deliver(now=evening)
    assert Notification.objects.filter(user=bob, kind="reminder").count() == 2
    assert len(smtp.to("bob@example.com")) == 1
    assert len(smtp.to("alice@example.com")) == 1
    assert ReminderDigest.objects.get(user=bob).reminder_count == 2


def test_a_digest_whose_worker_died_is_sent_once_by_the_next(bob, smtp: Inbox):
    _user_with_mail(bob, "UTC", digest=True)
    _task(bob, "Call", "2026-11-03T15:00:00Z", remind_before=0)
    eight = dt.datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    digest = ReminderDigest.objects.create(
        user=bob, day=dt.date(2026, 11, 3), claimed_at=_ago(dt.timedelta(minutes=1))
    )
    assert reminders.reminders_deliver(now=eight + dt.timedelta(minutes=1)).digests == 0
    stale = reminders.claim_stale_after() + dt.timedelta(seconds=1)
    ReminderDigest.objects.filter(pk=digest.pk).update(claimed_at=_ago(stale))
    assert reminders.reminders_deliver(now=eight + dt.timedelta(minutes=6)).digests == 1
    assert reminders.reminders_deliver(now=eight + dt.timedelta(minutes=7)).digests == 0
    assert len(smtp.messages) == 1


def test_a_reminder_at_nine_follows_dst_in_the_owners_zone(bob):
    """Birthdays remind at 09:00 the owner's time: 13:00 UTC in New York's summer,
    14:00 UTC in its winter."""
    from rapport.activity.tests.tasks_support import contact

    _user_with_mail(bob, "America/New_York")
    summer = contact(bob, "Sam Summer", birthday="1980-07-04", owner="bob")
    winter = contact(bob, "Wendy Winter", birthday="1980-12-04", owner="bob")
    reminders.reminders_plan(now=dt.datetime(2026, 7, 4, 5, 0, tzinfo=UTC))
    reminders.reminders_plan(now=dt.datetime(2026, 12, 4, 5, 0, tzinfo=UTC))
    assert Reminder.objects.get(contact=summer).remind_at == dt.datetime(2026, 7, 4, 13, tzinfo=UTC)
    assert Reminder.objects.get(contact=winter).remind_at == dt.datetime(
        2026, 12, 4, 14, tzinfo=UTC
    )


def test_the_tasks_cli_completes_and_the_worker_duty_is_registered(bob):
    names = [d.name for d in schedule.duties()]
    assert {"activity.reminders.deliver", "activity.reminders.plan"} <= set(names)
    task = _task(bob, "CLI", "2026-01-01T10:00:00Z")
    call_command("tasks", "done", str(task.pk), "--as", "bob")
    task.refresh_from_db()
    assert task.status == "done"
