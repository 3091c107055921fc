"""The daily digest: at 08:00 in their own zone, users who chose it get one mail listing
that day's reminders (and any not yet mailed), its sending claimed through a
``ReminderDigest`` row per user and day; refused for good, it is given up with its
reminders and the user told why."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from rapport.access.models import User
from rapport.activity.models import Reminder, ReminderDigest
from rapport.activity.services import notifications
from rapport.activity.services.reminders.mailing import (
    Delivery,
    Mailer,
    SendFailure,
    base_url,
    claim_stale_after,
    free_to_retry,
    link,
    retry_after,
    send_failure,
    wait_text,
)
from rapport.activity.services.zones import day_start, local_text, user_zone

logger = logging.getLogger("rapport.activity.services.reminders")

DIGEST_TIME = dt.time(8, 0)


def digests_due(now: dt.datetime) -> list[tuple[User, dt.date]]:
    """The users of the daily digest whose day's digest is due (08:00 their time has
    come) and neither sent, nor given up, nor waiting out a back-off, each with that
    day."""
    wanted: list[tuple[User, dt.date]] = []
    for user in User.objects.filter(reminder_digest=True, is_active=True).exclude(email=""):
        local = now.astimezone(user_zone(user))
        if local.time() >= DIGEST_TIME:
            wanted.append((user, local.date()))
    if not wanted:
        return []
    settled = set(
        ReminderDigest.objects.filter(
            Q(sent_at__isnull=False) | Q(failed_at__isnull=False) | Q(retry_at__gt=now),
            user_id__in=[u.pk for u, _ in wanted],
            day__in={day for _, day in wanted},
        ).values_list("user_id", "day")
    )
    return [(u, day) for u, day in wanted if (u.pk, day) not in settled]


def _claim_digest(user: User, day: dt.date, now: dt.datetime) -> dt.datetime | None:
    """Claim the sending of a user's digest of ``day`` (its row, created by the first
    worker to come); the claim's time, or None when another worker has it or sent it,
    or it was given up or waits out a back-off."""
    claim = timezone.now()
    free = Q(claimed_at__isnull=True) | Q(claimed_at__lt=claim - claim_stale_after())
    if (
        ReminderDigest.objects.filter(user=user, day=day, sent_at__isnull=True)
        .filter(free, free_to_retry(now, "retry_at"), failed_at__isnull=True)
        .update(claimed_at=claim)
    ):
        return claim
    try:
        with transaction.atomic():
            ReminderDigest.objects.create(user=user, day=day, claimed_at=claim)
    except IntegrityError:
        return None  # it exists: claimed by another worker, or sent
    return claim


def digest_text(user: User, day: dt.date, reminders: Sequence[Reminder]) -> tuple[str, str]:
    """The subject and body of a user's daily digest, times in their zone."""
    zone = user_zone(user)
    subject = f"Your reminders for {day:%a %d %b %Y}"
    lines = [
        f"{len(reminders)} reminder{'s' if len(reminders) != 1 else ''} for {day:%A %d %B %Y}:",
        "",
    ]
    start = day_start(day, zone)
    for reminder in reminders:
        local = reminder.remind_at.astimezone(zone)
        when = f"{local:%H:%M}" if reminder.remind_at >= start else f"{local:%d %b %H:%M} (earlier)"
        lines.append(f"{when}  {reminder.text}")
        task = reminder.task
        if task is not None and task.due_at:
            lines.append(f"       due {local_text(task.due_at, zone)}")
    lines += ["", f"Times are in {getattr(zone, 'key', str(zone))}."]
    if base_url():
        lines.append(f"Your notifications: {link(reverse('activity:notifications'))}")
    return subject, "\n".join(lines)


def digests_send(now: dt.datetime, delivery: Delivery, mailer: Mailer) -> None:
    """Send each digest due at ``now``, claimed first. A failed send is judged by
    ``send_failure``: refused for good, the digest and the reminders in it are given up
    and the user told why; else it is tried again after a back-off."""
    for user, day in digests_due(now):
        claim = _claim_digest(user, day, now)
        if claim is None:
            continue
        end = day_start(day + dt.timedelta(days=1), user_zone(user))
        due = list(
            Reminder.objects.filter(
                user=user, emailed_at__isnull=True, email_failed_at__isnull=True, remind_at__lt=end
            )
            .select_related("task")
            .order_by("remind_at", "id")
        )
        # A reminder moved meanwhile (new time, new day) was not in this digest as it
        # is now: whatever becomes of the digest, that reminder stays to be mailed.
        unchanged = Q(pk__in=[])
        for reminder in due:
            unchanged |= Q(pk=reminder.pk, remind_at=reminder.remind_at, user_id=user.pk)
        mine = ReminderDigest.objects.filter(user=user, day=day, claimed_at=claim)
        if due:
            subject, body = digest_text(user, day, due)
            try:
                mailer.send(subject, body, user.email)
            except Exception as exc:  # noqa: BLE001 - judged below: given up or tried later
                _failed(now, delivery, user, day, mine, unchanged, send_failure(exc))
                continue
        with transaction.atomic():
            Reminder.objects.filter(unchanged, emailed_at__isnull=True).update(
                emailed_at=timezone.now(), email_claimed_at=claim
            )
            mine.update(sent_at=timezone.now(), reminder_count=len(due))
        delivery.digests += 1 if due else 0


def _failed(
    now: dt.datetime,
    delivery: Delivery,
    user: User,
    day: dt.date,
    mine: QuerySet[ReminderDigest],
    unchanged: Q,
    failure: SendFailure,
) -> None:
    """Record a digest that was not sent, under this run's claim. Refused for good: the
    digest and its reminders given up (so the next morning's digest does not list them
    again), the user told why in a notification, one warning in the log. Else: the claim
    freed and the next try put off by the back-off."""
    reply = failure.reply[:500]
    if failure.permanent:
        with transaction.atomic():
            if not mine.update(failed_at=timezone.now(), error=reply):
                return  # taken over by another worker meanwhile
            Reminder.objects.filter(
                unchanged, emailed_at__isnull=True, email_failed_at__isnull=True
            ).update(email_failed_at=timezone.now(), email_error=reply)
            notifications.notify_mail_failed(
                user_id=user.pk,
                what=f"Your reminder digest for {day:%a %d %b %Y}",
                address=user.email,
                reply=reply,
            )
        logger.warning(
            "The digest of %s for %s was not delivered: the server refused the mail to %s "
            "for good (%s); it is not tried again",
            user,
            day,
            user.email,
            reply,
        )
        delivery.refused += 1
        return
    row = mine.first()
    failures = (row.failures if row is not None else 0) + 1
    mine.update(
        claimed_at=None, failures=failures, retry_at=now + retry_after(failures), error=reply
    )
    logger.warning(
        "The digest of %s for %s could not be mailed (%s); trying again in %s",
        user,
        day,
        reply,
        wait_text(failures),
    )
    delivery.failed += 1
