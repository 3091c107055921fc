"""Telling users of what concerns them: mentions, reminders, tasks given to them, mail
to them that could not be delivered."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from rapport.activity.models import Interaction, Notification, Participant, Reminder, Task


def _interaction_url(interaction: Interaction) -> str:
    contact_id = (
        Participant.objects.filter(interaction=interaction, contact__isnull=False)
        .values_list("contact_id", flat=True)
        .first()
    )
    if contact_id:
        return reverse("contacts:detail", args=[contact_id]) + f"#interaction-{interaction.pk}"
    return reverse("activity:interaction", args=[interaction.pk])


def notify_mention(*, user_id: int, interaction: Interaction, actor: Any) -> Notification:
    """Tell a user they were mentioned (``@name``) in an interaction."""
    who = str(actor) if getattr(actor, "pk", None) else "Someone"
    what = interaction.subject or interaction.body[:80]
    return Notification.objects.create(
        user_id=user_id,
        kind=Notification.Kind.MENTION,
        title=f"{who} mentioned you: {what}"[:300],
        body=interaction.body[:2000],
        url=_interaction_url(interaction),
        interaction=interaction,
    )


def task_url(task: Task) -> str:
    return reverse("activity:task_edit", args=[task.pk])


def notify_task_assigned(*, task: Task, actor: Any) -> Notification | None:
    """Tell a user a task was given to them by someone else."""
    if not task.assignee_id:
        return None
    who = str(actor) if getattr(actor, "pk", None) else "Someone"
    return Notification.objects.create(
        user_id=task.assignee_id,
        kind=Notification.Kind.TASK_ASSIGNED,
        title=f"{who} gave you a task: {task.title}"[:300],
        body=task.notes[:2000],
        url=task_url(task),
        task=task,
    )


def notify_reminder(*, reminder: Reminder, body: str = "") -> Notification:
    """The in-app side of a reminder falling due (called once per reminder, in the
    transaction that claims it)."""
    if reminder.task_id:
        url = reverse("activity:task_edit", args=[reminder.task_id])
    elif reminder.contact_id:
        url = reverse("contacts:detail", args=[reminder.contact_id])
    else:
        url = ""
    return Notification.objects.create(
        user_id=reminder.user_id,
        kind=Notification.Kind.REMINDER,
        title=reminder.text[:300] or "Reminder",
        body=body[:2000],
        url=url,
        task_id=reminder.task_id,
        contact_id=reminder.contact_id,
    )


def notify_mail_failed(
    *,
    user_id: int,
    what: str,
    address: str,
    reply: str,
    url: str = "",
    task_id: int | None = None,
    contact_id: int | None = None,
) -> Notification:
    """Tell a user that a mail to them (``what``: "The reminder mail “…”", "Your
    reminder digest for …") could not be delivered because the server refused it for
    good, in the server's own words (``reply``). Called once per mail given up."""
    return Notification.objects.create(
        user_id=user_id,
        kind=Notification.Kind.MAIL_FAILED,
        title=f"{what} could not be delivered"[:300],
        body=(
            f"The mail server refused the mail to {address} and said: {reply}\n"
            "It will not be sent again. If the address is wrong, ask an administrator "
            "to correct it."
        )[:2000],
        url=url,
        task_id=task_id,
        contact_id=contact_id,
    )


def unread_count(*, user: Any) -> int:
    """How many of the user's notifications are unread: one COUNT on the partial index
    of unread notifications."""
    if not getattr(user, "pk", None):
        return 0
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


@transaction.atomic
def notifications_mark_read(*, user: Any, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (the given ones, or all); return how many."""
    query = Notification.objects.filter(user_id=user.pk, read_at__isnull=True)
    if ids is not None:
        query = query.filter(Q(pk__in=[i for i in ids if isinstance(i, int) and 0 < i < 2**63]))
    return query.update(read_at=timezone.now())


def notification_list(
    *, user: Any, cursor: str | None = None, limit: int = 50, unread: bool = False
) -> tuple[list[Notification], str | None]:
    """The user's own notifications, newest first, one keyset page at a time."""
    from rapport.core.cursor import decode_cursor, encode_cursor
    from rapport.core.errors import InvalidInput

    if not 1 <= limit <= 200:
        raise InvalidInput.single("limit", "Must be between 1 and 200.")
    query = Notification.objects.filter(user_id=user.pk)
    if unread:
        query = query.filter(read_at__isnull=True)
    if cursor:
        created, pk = decode_cursor(cursor, 2)
        moment = parse_datetime(str(created)) if isinstance(created, str) else None
        if moment is None or not isinstance(pk, int):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        query = query.filter(Q(created_at__lt=moment) | Q(created_at=moment, pk__lt=pk))
    rows = list(query.order_by("-created_at", "-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1].created_at.isoformat(), rows[-1].pk]) if more else None
    return rows, next_cursor
