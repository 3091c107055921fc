"""Imports as undoable batches: the file, its mapping, its counts, its log and every change."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from rapport.core.models import BackgroundJob


class SavedMapping(models.Model):
    """A column mapping someone saved to reuse for files with the same columns."""

    name = models.CharField(max_length=100, unique=True)
    mapping = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImportBatch(BackgroundJob):
    """One file imported once. Counts and the log are kept; the batch can be undone.

    ``processed_rows`` is advanced in the same transaction as the rows it covers, so an
    interrupted import resumes exactly after the last committed chunk.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted"
        UNDOING = "undoing", "Being undone"
        UNDONE = "undone", "Undone"

    class Mode(models.TextChoices):
        CREATE = "create", "Create new contacts only"
        UPDATE = "update", "Update existing contacts only"
        UPSERT = "upsert", "Update existing, create the rest"

    source = models.CharField(max_length=100)
    file_name = models.CharField(max_length=255)
    file = models.FileField(upload_to="imports/%Y/%m/")
    checksum = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField(default=0)
    file_format = models.CharField(max_length=10)
    encoding = models.CharField(max_length=40, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.UPSERT)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    log = models.JSONField(default=list)
    created_organization_ids = models.JSONField(default=list)
    created_affiliation_ids = models.JSONField(default=list)
    # The status the batch had when an undo was asked for, so a failed undo can go back.
    status_before_undo = models.CharField(max_length=12, blank=True)
    # {"total", "done", "removed", "restored", "kept_count", "kept": [first lines]}
    undo_report = models.JSONField(default=dict, blank=True)
    # The check of every row before the start: {"mapping", "state", "checked", "will_import",
    # "will_fail", "warned", "failures": [{row, column, value, reason}], "error"}
    row_check = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} · {self.file_name}"


class ImportRowError(models.Model):
    """A row that did not land, or a value left out of a row that did: where, which
    column and value, and why. ``severity`` tells them apart: an error means the row was
    not imported; a warning means the row was, without that value."""

    class Severity(models.TextChoices):
        ERROR = "error", "Error"
        WARNING = "warning", "Warning"

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField()
    column = models.CharField(max_length=255, blank=True)
    value = models.TextField(blank=True)
    reason = models.TextField()
    row = models.JSONField(default=list)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.ERROR)

    class Meta:
        ordering = ["row_number", "id"]
        indexes = [models.Index(fields=["batch", "row_number"])]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.reason}"


class ImportChange(models.Model):
    """What one row did to one contact, with the values it replaced, so undo can restore them."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="changes")
    contact_id = models.BigIntegerField(db_index=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    version_after = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [models.Index(fields=["batch", "action"])]

    def __str__(self) -> str:
        return f"{self.action} contact {self.contact_id}"
