"""Telling users of what concerns them: mentions, reminders, tasks given to them."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from rapport.activity.models import Interaction, Notification, Participant


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


def unread_count(*, user: Any) -> int:
    if not getattr(user, "pk", None):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


@transaction.atomic
def notifications_mark_read(*, user: Any, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (the given ones, or all); return how many."""
    query = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        query = query.filter(Q(pk__in=ids))
    return query.update(read_at=timezone.now())
