"""Reminder mails and digests a real SMTP server (aiosmtpd) does not take: refused for
good (5xx to the recipient or the message) they are given up, the user is told why on
their notifications page, and the log says so once; deferred (4xx) or unreachable,
they are tried again after 1, 5, 15 and then 60 minutes, not every minute."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from rapport.activity.models import Notification, Reminder, ReminderDigest
from rapport.activity.services import reminders
from rapport.activity.services import tasks as tasks_service
from rapport.activity.tests.tasks_support import Inbox, smtp_server

pytestmark = pytest.mark.django_db
UTC = dt.UTC
AT = dt.datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
UNKNOWN_USER = "550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown"
GREYLISTED = "451 4.7.1 <bob@example.com>: Recipient address rejected: Greylisted, try later"
SPAM = "554 5.7.1 Message rejected as spam"


class Picky(Inbox):
    """An SMTP server that answers RCPT with ``rcpt`` (or accepts) and DATA with
    ``data`` (or accepts), and counts every RCPT it was sent."""

    def __init__(self, *, rcpt: str = "", data: str = "") -> None:
        super().__init__()
        self.rcpt = rcpt
        self.data = data
        self.tries: list[str] = []

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.tries.append(address)
        if self.rcpt:
            return self.rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.data:
            return self.data
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def picky(settings) -> Iterator[Picky]:
    with smtp_server(settings, Picky()) as inbox:
        yield inbox  # type: ignore[misc]


@pytest.fixture
def bob_mailed(bob):
    bob.email = "bob@example.com"
    bob.time_zone = "UTC"
    bob.save()
    return bob


def _task(actor, title: str = "Renewal", due_at: str = "2026-05-01T10:00:00Z"):
    return tasks_service.task_create(
        actor=actor, data={"title": title, "due_at": due_at, "remind_before": 0}
    )


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name == "rapport.activity.services.reminders"
    ]


def _minutes(n: float) -> dt.datetime:
    return AT + dt.timedelta(minutes=n)


def test_a_reminder_mail_refused_for_good_is_given_up_and_the_user_told_why(
    bob_mailed, picky: Picky, client, caplog
):
    picky.rcpt = UNKNOWN_USER
    task = _task(bob_mailed)
    caplog.set_level(logging.INFO)
    first = reminders.reminders_deliver(now=AT)

    assert (first.notified, first.mailed, first.failed, first.refused) == (1, 0, 0, 1)
    # not tried again: not the next minute, not hours later, and nothing left to do
    for later in (1, 2, 90, 24 * 60):
        assert not reminders.reminders_pending(now=_minutes(later))
        reminders.reminders_deliver(now=_minutes(later))
    assert picky.tries == ["bob@example.com"] and picky.messages == []
    [warning] = _warnings(caplog)
    assert "not delivered" in warning and "550 5.1.1" in warning
    # the user sees it on their notifications page, with the server's reply
    note = Notification.objects.get(user=bob_mailed, kind=Notification.Kind.MAIL_FAILED)
    assert note.task == task and note.url == f"/activity/tasks/{task.pk}/"
    client.force_login(bob_mailed)
    page = client.get(reverse("activity:notifications")).content.decode()
    assert "The reminder mail “Task due: Renewal” could not be delivered" in page
    assert "The mail server refused the mail to bob@example.com and said:" in page
    assert "550 5.1.1 &lt;bob@example.com&gt;: Recipient address rejected: User unknown" in page
    assert "Mail not delivered" in page
    # the reminder itself was delivered in the app as usual
    assert Notification.objects.filter(user=bob_mailed, kind="reminder").count() == 1
    reminder = Reminder.objects.get(task=task)
    assert reminder.emailed_at is None and reminder.email_failed_at is not None
    assert reminder.email_error == UNKNOWN_USER


def test_a_message_refused_for_good_after_its_data_is_given_up(bob_mailed, picky: Picky):
    picky.data = SPAM
    _task(bob_mailed)
    assert reminders.reminders_deliver(now=AT).refused == 1
    assert reminders.reminders_deliver(now=_minutes(60)).refused == 0
    assert len(picky.tries) == 1
    note = Notification.objects.get(user=bob_mailed, kind=Notification.Kind.MAIL_FAILED)
    assert "554 5.7.1 Message rejected as spam" in note.body


def test_a_deferred_reminder_mail_is_tried_after_1_5_15_and_60_minutes(
    bob_mailed, picky: Picky, caplog
):
    picky.rcpt = GREYLISTED
    _task(bob_mailed)
    caplog.set_level(logging.INFO)
    tried_at: list[float] = []
    # every minute for two and a half hours, as the worker's duty looks
    for minute in range(0, 150):
        before = len(picky.tries)
        if reminders.reminders_pending(now=_minutes(minute)):
            delivery = reminders.reminders_deliver(now=_minutes(minute))
            assert delivery.refused == 0 and delivery.mailed == 0
        if len(picky.tries) > before:
            tried_at.append(minute)
    # 0, then 1 later, 5 after that, 15 after that, then every 60
    assert tried_at == [0, 1, 6, 21, 81, 141]
    assert len(_warnings(caplog)) == len(tried_at)
    assert (
        "451 4.7.1" in _warnings(caplog)[0] and "trying again in 1 minute" in (_warnings(caplog)[0])
    )
    assert _warnings(caplog)[1].endswith("trying again in 5 minutes")
    assert not Notification.objects.filter(kind=Notification.Kind.MAIL_FAILED).exists()
    # once the server takes it, it is mailed, once
    picky.rcpt = ""
    assert reminders.reminders_deliver(now=_minutes(200)).mailed == 0  # 141 + 60 is 201
    assert reminders.reminders_deliver(now=_minutes(201)).mailed == 1
    assert reminders.reminders_deliver(now=_minutes(300)).mailed == 0
    assert len(picky.to("bob@example.com")) == 1


def test_a_server_that_cannot_be_reached_is_tried_again_with_the_same_back_off(
    bob_mailed, picky: Picky, settings
):
    _task(bob_mailed)
    good_port = settings.EMAIL_PORT
    settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = 1, 2  # nothing listens there
    assert reminders.reminders_deliver(now=AT).failed == 1
    assert reminders.reminders_deliver(now=_minutes(1)).failed == 1
    assert not reminders.reminders_pending(now=_minutes(5))
    settings.EMAIL_PORT = good_port
    assert reminders.reminders_deliver(now=_minutes(5)).mailed == 0
    assert reminders.reminders_deliver(now=_minutes(6)).mailed == 1
    assert not Notification.objects.filter(kind=Notification.Kind.MAIL_FAILED).exists()


def test_a_digest_refused_for_good_is_given_up_with_its_reminders(bob_mailed, picky: Picky):
    bob_mailed.reminder_digest = True
    bob_mailed.save()
    picky.rcpt = UNKNOWN_USER
    _task(bob_mailed, "Morning call", "2026-11-03T09:30:00Z")
    eight = dt.datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    assert reminders.reminders_deliver(now=eight).refused == 1
    assert reminders.reminders_deliver(now=eight + dt.timedelta(minutes=1)).refused == 0
    assert not reminders.reminders_pending(now=eight + dt.timedelta(hours=1))
    assert len(picky.tries) == 1
    digest = ReminderDigest.objects.get(user=bob_mailed)
    assert digest.sent_at is None and digest.failed_at and digest.error == UNKNOWN_USER
    note = Notification.objects.get(user=bob_mailed, kind=Notification.Kind.MAIL_FAILED)
    assert note.title == "Your reminder digest for Tue 03 Nov 2026 could not be delivered"
    assert UNKNOWN_USER in note.body
    # the address works again: the next morning's digest lists only what is new
    picky.rcpt = ""
    _task(bob_mailed, "Next call", "2026-11-04T09:30:00Z")
    next_eight = eight + dt.timedelta(days=1)
    assert reminders.reminders_deliver(now=next_eight).digests == 1
    [mail] = picky.to("bob@example.com")
    body = Inbox.text(mail)
    assert "Next call" in body and "Morning call" not in body


def test_a_deferred_digest_is_sent_after_its_back_off(bob_mailed, picky: Picky):
    bob_mailed.reminder_digest = True
    bob_mailed.save()
    picky.rcpt = GREYLISTED
    _task(bob_mailed, "Morning call", "2026-11-03T09:30:00Z")
    eight = dt.datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    assert reminders.reminders_deliver(now=eight).failed == 1
    assert reminders.reminders_deliver(now=eight + dt.timedelta(minutes=1)).failed == 1
    picky.rcpt = ""
    # the second failure put the next try 5 minutes off
    assert not reminders.reminders_pending(now=eight + dt.timedelta(minutes=5))
    assert reminders.reminders_deliver(now=eight + dt.timedelta(minutes=5)).digests == 0
    assert reminders.reminders_deliver(now=eight + dt.timedelta(minutes=6)).digests == 1
    assert len(picky.to("bob@example.com")) == 1
    assert ReminderDigest.objects.get(user=bob_mailed).sent_at is not None


def test_a_task_moved_after_its_mail_was_given_up_is_mailed_at_its_new_time(
    bob_mailed, picky: Picky
):
    picky.rcpt = UNKNOWN_USER
    task = _task(bob_mailed)
    assert reminders.reminders_deliver(now=AT).refused == 1
    picky.rcpt = ""  # the address was put right
    tasks_service.task_update(actor=bob_mailed, task=task, data={"due_at": "2026-05-02T10:00:00Z"})
    assert reminders.reminders_deliver(now=AT + dt.timedelta(days=1)).mailed == 1
    assert len(picky.to("bob@example.com")) == 1
