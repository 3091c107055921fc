"""The attempt log: every outbound attempt, send, block and refusal, per contact."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from rapport.contacts.models import Contact


class ContactAttempt(models.Model):
    """One time someone reached out (or tried to, or was stopped) on one channel for one
    purpose. Rows are only ever added.

    ``attempted`` (dialled, no answer), ``sent`` (delivered to the channel) and
    ``refused`` (the person was reached and said no) count toward frequency caps and
    legal attempt limits; ``refused`` also starts a legal rule's silence. ``blocked``
    records a gate refusal (its ``reasons``) and counts for nothing.
    """

    class Outcome(models.TextChoices):
        ATTEMPTED = "attempted", "Attempted"
        SENT = "sent", "Sent"
        REFUSED = "refused", "Refused by the person"
        BLOCKED = "blocked", "Blocked by the gate"

    COUNTED = ("attempted", "sent", "refused")

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="outreach_attempts")
    channel = models.CharField(max_length=10)
    purpose = models.SlugField(max_length=50, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=16, default="ui")
    note = models.CharField(max_length=500, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["contact", "at"], name="outreach_attempt_contact_at"),
            models.Index(fields=["channel", "at"], name="outreach_attempt_channel_at"),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} {self.channel} to {self.contact_id} at {self.at:%Y-%m-%d %H:%M}"
