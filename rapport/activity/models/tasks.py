"""What someone must do and be told: tasks, their reminders and the daily digest,
notifications, and keep-in-touch cadences."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from rapport.activity.models.interactions import Interaction
from rapport.contacts.models import Contact, Organization, Tag
from rapport.core.models import TimeStamped


class Task(TimeStamped):
    """Something someone must do, due on a day (``due_date``) or at a time (``due_at``).

    ``due_key`` is the moment it falls due, for ordering: ``due_at``, or the start of
    ``due_date`` in the assignee's time zone. ``recurrence`` is an RFC 5545 RRULE:
    completing a recurring task opens the next one. ``remind_before`` (minutes) asks for
    a reminder that long before it is due.
    """

    class Kind(models.TextChoices):
        TODO = "todo", "To-do"
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        MEETING = "meeting", "Meeting"

    class Priority(models.IntegerChoices):
        LOW = 1, "Low"
        NORMAL = 2, "Normal"
        HIGH = 3, "High"
        URGENT = 4, "Urgent"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    title = models.CharField(max_length=300)
    notes = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TODO)
    due_date = models.DateField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    due_key = models.DateTimeField(null=True, blank=True, editable=False)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recurrence = models.CharField(max_length=500, blank=True)
    remind_before = models.PositiveIntegerField(null=True, blank=True)
    contacts = models.ManyToManyField(Contact, blank=True, related_name="+")
    organizations = models.ManyToManyField(Organization, blank=True, related_name="+")
    interaction = models.ForeignKey(
        Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    external_key = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["due_key", "id"]
        indexes = [
            models.Index(fields=["assignee", "status", "due_key", "id"], name="task_assignee_due"),
            models.Index(fields=["status", "due_key", "id"], name="task_status_due"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_key"],
                name="task_external_key_unique",
                condition=~Q(external_key=""),
            )
        ]

    def __str__(self) -> str:
        return self.title


class Reminder(models.Model):
    """A moment to tell a user of something: a task falling due, a birthday or
    anniversary, a contact due to be reached. ``sent_at`` is set once delivered in the
    app; ``emailed_at`` once mailed (alone, or in the user's daily digest), or
    ``email_failed_at`` when the mail server refused the mail for good."""

    class Kind(models.TextChoices):
        TASK = "task", "Task"
        BIRTHDAY = "birthday", "Birthday"
        ANNIVERSARY = "anniversary", "Anniversary"
        KEEP_IN_TOUCH = "keep_in_touch", "Keep in touch"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders"
    )
    remind_at = models.DateTimeField()
    task = models.ForeignKey(
        Task, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    text = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # Set when a process starts mailing it; a claim older than a few minutes without
    # ``emailed_at`` belonged to a process that died, and the mail is tried again.
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    # A failure that may pass (a 4xx reply, no connection, a timeout) is tried again
    # from ``email_retry_at``, later after each of ``email_failures`` in a row; a reply
    # that refuses the mail for good (5xx) sets ``email_failed_at`` and it is not tried
    # again. ``email_error`` keeps the server's last reply.
    email_failures = models.PositiveSmallIntegerField(default=0)
    email_retry_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=500, blank=True)
    email_failed_at = models.DateTimeField(null=True, blank=True)
    # What it is a reminder of, so planning it twice stores it once:
    # "task:<id>", "birthday:<contact>:<year>", "anniversary:<contact>:<year>",
    # "keep_in_touch:<contact>:<reach out by>".
    key = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["remind_at", "id"]
        indexes = [
            models.Index(
                fields=["remind_at", "id"],
                name="reminder_pending",
                condition=Q(sent_at__isnull=True),
            ),
            models.Index(
                fields=["remind_at", "id"],
                name="reminder_unmailed",
                condition=Q(
                    sent_at__isnull=False, emailed_at__isnull=True, email_failed_at__isnull=True
                ),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], name="reminder_key_unique", condition=~Q(key="")
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id} at {self.remind_at:%Y-%m-%d %H:%M}"


class ReminderDigest(models.Model):
    """The one mail a day of a user who chose the daily digest: which day (in their own
    time zone) it covers, when a process claimed it and when it was sent. One row per
    user and day makes two workers send it once; a claim that never reached ``sent_at``
    belonged to a process that died and is taken over. A failure is handled as a
    reminder's mail is: tried again from ``retry_at`` when it may pass, given up
    (``failed_at``) when the server refused it for good; ``error`` is the server's reply."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_digests"
    )
    day = models.DateField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    reminder_count = models.PositiveIntegerField(default=0)
    failures = models.PositiveSmallIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="reminder_digest_once_a_day")
        ]

    def __str__(self) -> str:
        return f"Digest for {self.user_id} on {self.day}"


class Notification(models.Model):
    """Something a user should see: a mention, a reminder, a task given to them, a
    mailbox that needs attention, a mail to them that could not be delivered. Unread
    until ``read_at``; ``url`` is where it leads."""

    class Kind(models.TextChoices):
        MENTION = "mention", "Mention"
        REMINDER = "reminder", "Reminder"
        TASK_ASSIGNED = "task_assigned", "Task assigned"
        MAILBOX = "mailbox", "Mailbox"
        MAIL_FAILED = "mail_failed", "Mail not delivered"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    interaction = models.ForeignKey(
        Interaction, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    task = models.ForeignKey(
        Task, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_time"),
            models.Index(
                fields=["user"], name="notification_unread", condition=Q(read_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return self.title


class KeepInTouch(models.Model):
    """Reach out to a contact, or to everyone with a tag, at least every ``every_days``
    days; any two-way interaction starts the count again."""

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    tag = models.ForeignKey(Tag, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    every_days = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False, tag__isnull=True)
                | Q(contact__isnull=True, tag__isnull=False),
                name="keep_in_touch_one_target",
            ),
            models.UniqueConstraint(fields=["contact"], name="keep_in_touch_one_per_contact"),
            models.UniqueConstraint(fields=["tag"], name="keep_in_touch_one_per_tag"),
            models.CheckConstraint(condition=Q(every_days__gte=1), name="keep_in_touch_days"),
        ]

    def __str__(self) -> str:
        target = f"contact {self.contact_id}" if self.contact_id else f"tag {self.tag_id}"
        return f"Every {self.every_days} days: {target}"
