"""Delivering reminders: each once in the app, then by mail (one each, or the daily
digest), claimed so that any number of workers may run at once."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from rapport.activity.models import Reminder
from rapport.activity.services import notifications
from rapport.activity.services.reminders.digest import digests_due, digests_send
from rapport.activity.services.reminders.mailing import (
    Delivery,
    Mailer,
    SendFailure,
    claim_stale_after,
    free_to_mail,
    free_to_retry,
    link,
    retry_after,
    send_failure,
    wait_text,
)
from rapport.activity.services.zones import local_text, user_zone

logger = logging.getLogger("rapport.activity.services.reminders")

BATCH = 200


def _to_mail_one_by_one(now: dt.datetime) -> QuerySet[Reminder]:
    """Reminders delivered in the app and neither mailed nor given up yet, of users
    without the digest, whose back-off after a failed try (if any) is over at ``now``."""
    return Reminder.objects.filter(
        free_to_retry(now),
        sent_at__isnull=False,
        emailed_at__isnull=True,
        email_failed_at__isnull=True,
        user__reminder_digest=False,
    )


def _path(reminder: Reminder) -> str:
    """Where a reminder leads: its task, else its contact."""
    if reminder.task is not None:
        return notifications.task_url(reminder.task)
    if reminder.contact_id:
        return reverse("contacts:detail", args=[reminder.contact_id])
    return ""


def _describe(reminder: Reminder, zone: dt.tzinfo) -> str:
    """The lines a mail or notification says about a reminder, times in ``zone``."""
    lines = [reminder.text]
    task = reminder.task
    if task is not None:
        if task.due_at:
            lines.append(f"Due: {local_text(task.due_at, zone)}")
        elif task.due_date:
            lines.append(f"Due: {task.due_date:%a %d %b %Y}")
        if task.notes:
            lines.append("")
            lines.append(task.notes[:1000])
    else:
        lines.append(f"When: {local_text(reminder.remind_at, zone)}")
    return "\n".join(lines)


def _notify_due(now: dt.datetime) -> int:
    """Give every due reminder its notification, each exactly once."""
    done = 0
    while True:
        ids = list(
            Reminder.objects.filter(sent_at__isnull=True, remind_at__lte=now)
            .order_by("remind_at", "id")
            .values_list("id", flat=True)[:BATCH]
        )
        if not ids:
            return done
        for pk in ids:
            with transaction.atomic():
                if not Reminder.objects.filter(pk=pk, sent_at__isnull=True).update(sent_at=now):
                    continue  # another worker delivered it
                reminder = Reminder.objects.select_related("task", "user").get(pk=pk)
                notifications.notify_reminder(
                    reminder=reminder, body=_describe(reminder, user_zone(reminder.user))
                )
                if not reminder.user.email or not reminder.user.is_active:
                    # nobody to mail: the reminder is done with
                    Reminder.objects.filter(pk=pk).update(emailed_at=now)
                done += 1
        if len(ids) < BATCH:
            return done


def _mail_single(now: dt.datetime, delivery: Delivery, mailer: Mailer) -> None:
    """Mail each reminder delivered in the app to users without the digest, each claimed
    (``email_claimed_at``, stamped when claimed) by one conditional UPDATE right before
    its mail is sent, and recorded as mailed only while the claim is still this run's.
    A failed send is judged by ``send_failure``: refused for good, the reminder is
    marked so and its user told in a notification; else tried again after a back-off."""
    stale = claim_stale_after()
    ids = list(
        _to_mail_one_by_one(now)
        .filter(free_to_mail(timezone.now() - stale))
        .order_by("remind_at", "id")
        .values_list("id", flat=True)[:BATCH]
    )
    for pk in ids:
        claim = timezone.now()
        claimed = Reminder.objects.filter(
            free_to_mail(claim - stale),
            free_to_retry(now),
            pk=pk,
            sent_at__isnull=False,
            emailed_at__isnull=True,
            email_failed_at__isnull=True,
        ).update(email_claimed_at=claim)
        if not claimed:
            continue  # another worker has it, or it was moved or given up meanwhile
        mine = Reminder.objects.filter(pk=pk, email_claimed_at=claim)
        reminder = Reminder.objects.select_related("task", "user").get(pk=pk)
        user = reminder.user
        if not user.email or not user.is_active:
            mine.update(emailed_at=timezone.now())  # no one to mail any more
            continue
        zone = user_zone(user)
        path = _path(reminder)
        body = _describe(reminder, zone)
        if path:
            body += f"\n\nOpen: {link(path)}"
        body += f"\n\n(Times are in {zone.key}.)" if hasattr(zone, "key") else ""
        try:
            mailer.send(f"Reminder: {reminder.text}"[:200], body, user.email)
        except Exception as exc:  # noqa: BLE001 - judged below: given up or tried later
            _failed(now, delivery, reminder, mine, send_failure(exc), path)
            continue
        # Sent: record it at once. A worker killed before this line is the one way to a
        # second mail (SMTP cannot take part in a database transaction).
        if not mine.update(emailed_at=timezone.now()):
            # Moved (a task's new due time) while its mail went out: the reminder of
            # the new time is delivered and mailed in its turn.
            logger.info("Reminder %s changed while it was mailed; it is sent again", pk)
        delivery.mailed += 1


def _failed(
    now: dt.datetime,
    delivery: Delivery,
    reminder: Reminder,
    mine: QuerySet[Reminder],
    failure: SendFailure,
    path: str,
) -> None:
    """Record a failed send under this run's claim. Refused for good: given up, the user
    told why in a notification, one warning in the log. Else: the claim freed and the
    next try put off by the back-off."""
    user = reminder.user
    reply = failure.reply[:500]
    if failure.permanent:
        with transaction.atomic():
            if not mine.update(email_failed_at=timezone.now(), email_error=reply):
                return  # moved meanwhile: the new time gets its own try
            notifications.notify_mail_failed(
                user_id=user.pk,
                what=f"The reminder mail “{reminder.text[:200]}”",
                address=user.email,
                reply=reply,
                url=path,
                task_id=reminder.task_id,
                contact_id=reminder.contact_id,
            )
        logger.warning(
            "Reminder %s was not delivered: the server refused the mail to %s for good (%s); "
            "it is not tried again",
            reminder.pk,
            user.email,
            reply,
        )
        delivery.refused += 1
        return
    failures = reminder.email_failures + 1
    retry_at = now + retry_after(failures)
    mine.update(
        email_claimed_at=None, email_failures=failures, email_retry_at=retry_at, email_error=reply
    )
    logger.warning(
        "Reminder %s could not be mailed (%s); trying again in %s",
        reminder.pk,
        reply,
        wait_text(failures),
    )
    delivery.failed += 1


def reminders_pending(*, now: dt.datetime | None = None) -> bool:
    """Whether ``reminders_deliver`` would find anything to do: a reminder due in the
    app, a mail not claimed by a live worker (nor waiting out its back-off), or a digest
    due. A few indexed reads, so the periodic duty asks this every minute and enqueues
    delivery only when needed."""
    now = now or timezone.now()
    if Reminder.objects.filter(sent_at__isnull=True, remind_at__lte=now).exists():
        return True
    stale_before = timezone.now() - claim_stale_after()
    if _to_mail_one_by_one(now).filter(free_to_mail(stale_before)).exists():
        return True
    return bool(digests_due(now))


def reminders_deliver(*, now: dt.datetime | None = None) -> Delivery:
    """Deliver what is due at ``now`` (default: the clock): notifications for reminders
    whose time came, one mail per reminder to users without the digest, and the 08:00
    digest to those with it. Any number of workers may run this at once: each mail and
    digest is claimed by one conditional UPDATE, stamped with the clock when claimed,
    before it is sent (see ``claim_stale_after``). A mail the server refuses for good is
    not tried again (its user is told why); one that failed otherwise waits 1, 5, 15,
    then 60 minutes from ``now`` before the next try. Logs at INFO only when it did
    something."""
    now = now or timezone.now()
    delivery = Delivery()
    delivery.notified = _notify_due(now)
    mailer = Mailer()
    try:
        _mail_single(now, delivery, mailer)
        digests_send(now, delivery, mailer)
    finally:
        mailer.close()
    if delivery.did_anything:
        logger.info(
            "Reminders: %d delivered in the app, %d mailed, %d digests sent, %d mails failed%s",
            delivery.notified,
            delivery.mailed,
            delivery.digests,
            delivery.failed,
            f", {delivery.refused} refused for good" if delivery.refused else "",
        )
    else:
        logger.debug("Reminders: nothing due")
    return delivery
