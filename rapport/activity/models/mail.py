"""Where mail comes from: uploaded files being imported, each user's IMAP mailboxes and
the place of every message in them, the never-log list, and message ids of threads."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from rapport.activity.models.interactions import Interaction, Thread
from rapport.core.models import BackgroundJob, TimeStamped


class NeverLog(models.Model):
    """An address (``ana@example.com``) or a whole domain (``hr.example.com`` or
    ``@example.com``) whose mail is never logged: a message goes unlogged when every
    outside participant matches, and a matching address is never kept as a participant."""

    pattern = models.CharField(max_length=320, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pattern"]

    def __str__(self) -> str:
        return self.pattern


class MailImport(BackgroundJob):
    """One uploaded ``.eml`` or ``.mbox`` file logged message by message in the background.

    ``offset`` and ``processed`` (the byte where the next message starts and how many
    messages came before it) advance in the same transaction as the messages they cover,
    so a run whose worker died resumes exactly there. ``problems`` keeps the first
    messages that could not be logged: ``{"number", "message_id", "reason"}``.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted"

    file_name = models.CharField(max_length=255)
    file = models.FileField(upload_to="mail-imports/%Y/%m/", blank=True)
    # A file read where it is instead of a stored copy (the command line's own files).
    path = models.CharField(max_length=1000, blank=True)
    size = models.BigIntegerField(default=0)
    file_format = models.CharField(max_length=10)  # eml or mbox
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    offset = models.BigIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    stored_count = models.PositiveIntegerField(default=0)
    joined_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=dict, blank=True)  # reason -> count
    problems = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Mail import {self.pk}: {self.file_name}"


class MailMessageRef(models.Model):
    """A Message-ID known to Rapport and the thread it belongs to: the id of a message
    read (``seen``) or only named by another's References / In-Reply-To (a phantom
    parent, which a message arriving later with that id joins)."""

    message_key = models.CharField(max_length=500, unique=True)
    thread = models.ForeignKey(
        Thread, null=True, blank=True, on_delete=models.CASCADE, related_name="message_refs"
    )
    seen = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.message_key


class Mailbox(TimeStamped):
    """A user's own IMAP mailbox, synced in the background into email interactions.

    ``password_encrypted`` holds the (app) password encrypted with the mailbox key (see
    ``rapport.activity.mail.imap.passwords``); it is never shown again once entered.
    ``folders`` are the folder names to sync; empty means INBOX and the Sent folder
    found on the server. ``status`` says in one word how syncing goes and
    ``last_error`` in words what went wrong; after a failure the next attempt waits
    (``next_attempt_at``), doubling with each ``consecutive_failures``. A running sync
    holds the mailbox through ``claim`` and keeps ``heartbeat_at`` fresh, so one mailbox
    never syncs twice at once and a sync whose worker died is taken over.
    """

    class Security(models.TextChoices):
        SSL = "ssl", "SSL/TLS (IMAPS, usually port 993)"
        STARTTLS = "starttls", "STARTTLS (usually port 143)"
        NONE = "none", "None (plain text; only on a trusted network)"

    class Status(models.TextChoices):
        OK = "ok", "OK"
        SYNCING = "syncing", "Syncing"
        ERROR = "error", "Needs attention"
        BACKING_OFF = "backing_off", "Retrying later"
        DISABLED = "disabled", "Paused"

    class Policy(models.TextChoices):
        # the values of rapport.activity.mail.intake.Policy
        KNOWN = "known", "Log messages with at least one known contact"
        METADATA = "metadata", "Metadata only (no bodies or attachments)"
        OFF = "off", "Off (sync nothing)"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mailboxes"
    )
    name = models.CharField(max_length=100)
    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField(default=993)
    security = models.CharField(max_length=10, choices=Security.choices, default=Security.SSL)
    username = models.CharField(max_length=320)
    password_encrypted = models.TextField(editable=False)
    policy = models.CharField(max_length=10, choices=Policy.choices, default=Policy.KNOWN)
    folders = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OK)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    claim = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["owner_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="mailbox_name_per_owner")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="mailbox_due")]

    def __str__(self) -> str:
        return self.name

    @property
    def sync_stopped(self) -> bool:
        """Marked syncing, but the process syncing it stopped reporting (killed, out of
        memory): the next sync takes it over."""
        from rapport.core import jobs

        return jobs.job_is_stale(self, running=self.Status.SYNCING)


class MailboxFolder(models.Model):
    """One folder of a mailbox as last synced: where the sync stands (``uidvalidity``,
    ``highest_uid``, ``highest_modseq`` when the server has CONDSTORE) and what came of
    its messages. ``reconcile_report`` says, in words, what the last comparison of the
    server's UIDs with the recorded ones found."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folder_states")
    name = models.CharField(max_length=500)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    highest_uid = models.BigIntegerField(default=0)
    highest_modseq = models.BigIntegerField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    reconcile_report = models.TextField(blank=True)
    seen = models.PositiveIntegerField(default=0)
    stored = models.PositiveIntegerField(default=0)
    joined = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["mailbox_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "name"], name="mailbox_folder_unique")
        ]

    def __str__(self) -> str:
        return f"{self.mailbox} / {self.name}"


class MailboxMessage(models.Model):
    """What became of one message (one UID) of a synced folder: recorded in the same
    transaction as its capture, so a sync resumes exactly where it stopped and the
    reconcile step can tell which of the server's messages were never seen."""

    folder = models.ForeignKey(MailboxFolder, on_delete=models.CASCADE, related_name="messages")
    uid = models.BigIntegerField()
    message_id = models.CharField(max_length=500, blank=True)
    outcome = models.CharField(max_length=10)  # stored, joined, skipped, failed
    reason = models.TextField(blank=True)
    interaction = models.ForeignKey(
        Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["folder_id", "uid"]
        constraints = [
            models.UniqueConstraint(fields=["folder", "uid"], name="mailbox_message_unique")
        ]
        indexes = [
            models.Index(
                fields=["folder", "-id"],
                name="mailbox_message_failed",
                condition=Q(outcome="failed"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.folder} UID {self.uid}: {self.outcome}"
