"""Outbound messages: the templates admins write, and every message Rapport sent, queued
or was stopped from sending (one row per recipient)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from rapport.contacts.models import Contact


class MessageTemplate(models.Model):
    """An email template admins define: subject and body (plain text, optionally HTML)
    in a default language, with translations. Rendered with Django's template language
    over a restricted context (the contact's fields and the message's links)."""

    key = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    purpose = models.SlugField(max_length=50, blank=True)
    language = models.CharField(max_length=16, default="en")
    subject = models.CharField(max_length=500)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class MessageTemplateTranslation(models.Model):
    """A template's subject and body in one more language."""

    template = models.ForeignKey(
        MessageTemplate, on_delete=models.CASCADE, related_name="translations"
    )
    language = models.CharField(max_length=16)
    subject = models.CharField(max_length=500)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)

    class Meta:
        ordering = ["language"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "language"], name="outreach_template_language_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template_id} ({self.language})"


class OutboundMessage(models.Model):
    """One message to one contact on one channel for one purpose, from the moment it is
    asked for: sent, blocked by the gate, queued until the gate allows it (re-checked at
    delivery), blocked at delivery, or failed. ``message_id`` is the RFC 5322
    Message-ID it went out with (without angle brackets); ``interaction_id`` the
    timeline entry that logs it.

    Queued rows are claimed by a worker (``claimed_at``, ``claim``) before sending; a
    claim older than the stale period is taken over, so a killed worker's message is
    sent by another."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        BLOCKED = "blocked", "Blocked"
        BLOCKED_AT_DELIVERY = "blocked_at_delivery", "Blocked at delivery"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        SINGLE = "single", "One person"
        BULK = "bulk", "Bulk"

    contact = models.ForeignKey(
        Contact, null=True, on_delete=models.SET_NULL, related_name="outbound_messages"
    )
    channel = models.CharField(max_length=10, default="email")
    purpose = models.SlugField(max_length=50)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SINGLE)
    template = models.ForeignKey(
        MessageTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    language = models.CharField(max_length=16, blank=True)
    to_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    reasons = models.JSONField(default=list, blank=True)
    # the preference page and one-click unsubscribe links it carries
    links = models.JSONField(default=dict, blank=True)
    next_allowed_at = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    next_try_at = models.DateTimeField(null=True, blank=True)
    tries = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=1000, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)
    message_id = models.CharField(max_length=300, blank=True)
    interaction_id = models.BigIntegerField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=16, default="ui")
    bulk_job_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_try_at"], name="outreach_message_due"),
            models.Index(fields=["contact", "created_at"], name="outreach_message_contact"),
            models.Index(fields=["bulk_job_id", "contact"], name="outreach_message_bulk"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                name="outreach_message_idempotency",
                condition=models.Q(idempotency_key__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.status} {self.channel} to {self.contact_id} ({self.purpose})"
