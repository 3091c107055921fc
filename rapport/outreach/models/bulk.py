from __future__ import annotations

from django.conf import settings
from django.db import models

from rapport.core.models import BackgroundJob
from rapport.outreach.models.messages import MessageTemplate


class BulkSend(BackgroundJob):
    """One email sent to many contacts: the selection (``ids``, resolved when it was
    started), what to send (a template, or subject and body), the purpose and ``when``.

    It runs in the background worker, one contact after another through
    ``message_send`` (so every message goes through the contact gate), saving how far it
    got (``done``). A job whose worker died is taken over by the next one and goes on
    from there; each message carries the idempotency key ``bulk-<job>-<contact>``, so a
    contact done before the crash is never sent to again. Per-recipient outcomes are
    the job's OutboundMessage rows (``bulk_job_id``); contacts no message could be made
    for (no email address) are in ``skipped`` as ``{"id", "name", "message"}``.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    purpose = models.SlugField(max_length=50)
    channel = models.CharField(max_length=10, default="email")
    template = models.ForeignKey(
        MessageTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject = models.CharField(max_length=500, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    when = models.CharField(max_length=20, default="now")
    base_url = models.CharField(max_length=300, blank=True)
    ids = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=list)
    error = models.TextField(blank=True)
    via = models.CharField(max_length=16, default="ui")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Bulk send {self.pk} ({self.purpose}, {self.status})"

    @property
    def title(self) -> str:
        """What was sent, as people know it: the template's name, else the subject."""
        if self.template is not None:
            return self.template.name
        return self.subject or f"Bulk send {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)
