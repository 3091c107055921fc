"""Calendars a user subscribes to by URL."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from rapport.core.models import TimeStamped


class CalendarSubscription(TimeStamped):
    """A calendar a user subscribes to by URL (an ICS feed), refreshed in the background
    every ``refresh_minutes``; its events become the owner's meetings.

    ``url_encrypted`` is the feed's address, encrypted in the activity key store
    (``rapport.activity.keystore``): it may carry a password or a secret token. Read it
    with ``subscriptions.subscription_url``; show it with ``subscription_url_shown``
    (password hidden). ``etag`` and ``last_modified`` make the next fetch conditional.
    A failing feed says why in ``error`` and waits longer after each failure in a row
    (``consecutive_failures``) before ``next_refresh_at``. ``known_uids`` are the events
    the last good refresh saw: one gone from the feed has its coming meetings cancelled.
    """

    class Status(models.TextChoices):
        NEW = "new", "Not refreshed yet"
        OK = "ok", "Up to date"
        FAILING = "failing", "Failing"
        PAUSED = "paused", "Paused"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_subscriptions"
    )
    name = models.CharField(max_length=200)
    url_encrypted = models.TextField(editable=False)
    refresh_minutes = models.PositiveIntegerField(default=60)
    enabled = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    next_refresh_at = models.DateTimeField(null=True, blank=True)
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    known_uids = models.JSONField(default=list, blank=True)
    last_report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(
                fields=["next_refresh_at"],
                name="calendar_subscription_due",
                condition=Q(enabled=True),
            )
        ]
