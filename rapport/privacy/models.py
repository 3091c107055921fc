"""Privacy requests and what they leave behind: erasures (counts, never the data), the
suppression list of keyed hashes, re-admissions, subject access exports, retention
policies with their runs, and which contacts were anonymised.

Contacts are referred to by id as plain integers, not foreign keys: these records
outlive the contact (an erasure log names a contact that no longer exists), and a
merge must not move them to another person.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from rapport.core.models import BackgroundJob, TimeStamped


class Mode(models.TextChoices):
    ERASE = "erase", "Erase"
    ANONYMISE = "anonymise", "Anonymise"


class RetentionRun(models.Model):
    """One run of one retention policy, real or dry: what triggered it, how many
    contacts matched, how many were handled, and the counts per area (no names).

    ``sample_ids`` holds up to SAMPLE contact ids of a dry run; pages show their
    current names, the log keeps none.
    """

    SAMPLE = 10

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Daily schedule"
        UI = "ui", "By hand (web)"
        API = "api", "API"
        CLI = "cli", "Command line"

    policy = models.ForeignKey(
        "RetentionPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    policy_name = models.CharField(max_length=100)
    action = models.CharField(max_length=10, choices=Mode.choices)
    filters = models.CharField(max_length=2000, blank=True)
    dry_run = models.BooleanField(default=False)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    matched = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    sample_ids = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        kind = "dry run" if self.dry_run else "run"
        return f"{self.policy_name} {kind} {self.started_at:%Y-%m-%d %H:%M}"


class ErasureLog(models.Model):
    """One erasure or anonymisation of a contact: which contact (its id, and the ids
    merged into it), how, who asked and why, and how many records each area removed
    (``counts``: provider → phrase → number). Never the person's details."""

    class Reason(models.TextChoices):
        REQUEST = "request", "The person asked to be erased (GDPR Art. 17)"
        CONSENT_WITHDRAWN = "consent_withdrawn", "Consent withdrawn, no other basis"
        OBJECTION = "objection", "The person objected to processing"
        UNLAWFUL = "unlawful", "The data was processed unlawfully"
        LEGAL_OBLIGATION = "legal_obligation", "A legal obligation requires it"
        RETENTION = "retention", "Retention period ended"
        OTHER = "other", "Other (see note)"

    contact_id = models.BigIntegerField(db_index=True)
    merged_ids = models.JSONField(default=list, blank=True)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.ERASE)
    reason = models.CharField(max_length=20, choices=Reason.choices, default=Reason.REQUEST)
    note = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=16, default="ui")
    at = models.DateTimeField(auto_now_add=True)
    counts = models.JSONField(default=dict)
    suppressed = models.PositiveIntegerField(default=0)
    retention_run = models.ForeignKey(
        RetentionRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="erasures"
    )

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} of contact #{self.contact_id} on {self.at:%Y-%m-%d}"

    @property
    def total(self) -> int:
        return sum(n for counts in self.counts.values() for n in counts.values())


class Suppression(models.Model):
    """An email address or phone number of an erased person, kept only as a keyed hash
    (HMAC-SHA256, see ``privacy.suppression``): a new contact, an imported row or a
    sign-up carrying it is refused until an admin re-admits the person with new
    consent. ``key_id`` names the key the hash was made with (a changed key makes
    older entries unmatchable; the suppression page says so)."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email address"
        PHONE = "phone", "Phone number"

    kind = models.CharField(max_length=5, choices=Kind.choices)
    digest = models.CharField(max_length=64, unique=True)
    key_id = models.CharField(max_length=16)
    erased_on = models.DateField()
    erasure = models.ForeignKey(
        ErasureLog, null=True, blank=True, on_delete=models.SET_NULL, related_name="suppressions"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} erased on {self.erased_on}"


class Readmission(models.Model):
    """An admin's deliberate re-admission of someone erased, with new consent: which
    entries went (how many, from which erasure), who, when and on what grounds. Not
    the address or number itself."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=16, default="ui")
    at = models.DateTimeField(auto_now_add=True)
    consent = models.CharField(max_length=500)
    removed = models.PositiveIntegerField(default=0)
    erased_on = models.DateField(null=True, blank=True)
    erasure = models.ForeignKey(
        ErasureLog, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"Re-admission of {self.removed} entries on {self.at:%Y-%m-%d}"


class SubjectExport(BackgroundJob):
    """One subject access export: the log of who exported whom and when (always), and
    for one built in the background the archive kept until ``expires_at``.

    ``file`` is empty for an export handed over at once, and once the archive
    expired or the person was erased. ``sections`` counts the records per area.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Being built"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"
        DELIVERED = "delivered", "Handed over at once"
        REMOVED = "removed", "Removed"

    contact_id = models.BigIntegerField(db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=16, default="ui")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file = models.FileField(upload_to="privacy-exports/", blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    sections = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Export of contact #{self.contact_id} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class RetentionPolicy(TimeStamped):
    """A rule: contacts matching ``filters`` (the contact list's filters, as its query
    string, where dates may be relative: ``not_contacted_since=-24m``) are anonymised
    or erased, daily by the worker, when ``enabled``. Runs act as ``created_by``,
    who must still be allowed to."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=500, blank=True)
    filters = models.CharField(max_length=2000)
    action = models.CharField(max_length=10, choices=Mode.choices, default=Mode.ANONYMISE)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return self.name


class Anonymised(models.Model):
    """A contact row kept for statistics after its personal data was removed; retention
    policies pass over it."""

    contact_id = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(auto_now_add=True)
    erasure = models.ForeignKey(
        ErasureLog, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"contact #{self.contact_id} anonymised {self.at:%Y-%m-%d}"
