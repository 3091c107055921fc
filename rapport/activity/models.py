"""What happened with people: interactions and who took part, email threads, attachments,
tasks with their reminders, notifications for users, and keep-in-touch cadences."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from rapport.contacts.models import Contact, Organization, Tag
from rapport.core.models import BackgroundJob, TimeStamped


class Thread(models.Model):
    """An email conversation: the messages linked by References / In-Reply-To (or, as a
    last resort, by subject among the same people within a few weeks)."""

    subject = models.CharField(max_length=500, blank=True)
    subject_key = models.CharField(max_length=500, blank=True, db_index=True, editable=False)
    started_at = models.DateTimeField()
    last_at = models.DateTimeField()
    message_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-last_at", "-id"]

    def __str__(self) -> str:
        return self.subject or f"Thread {self.pk}"


class Interaction(TimeStamped):
    """One thing that happened: a note, call, meeting, email, message, letter or other.

    ``occurred_at`` is when it happened (a meeting's start; ``ends_at`` its end). Email
    bodies keep the new text in ``body``, with quoted replies and the signature apart;
    ``body_html`` is only ever sanitised HTML. ``external_key`` makes capture idempotent:
    ``email:<Message-ID>``, ``ical:<UID>|<RECURRENCE-ID>``, ``api:<caller's id>``; the same
    key captured twice is one interaction. ``two_way`` marks a real exchange with the
    person (what "last contacted" counts): not a note, not an unanswered call.
    """

    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        CALL = "call", "Call"
        MEETING = "meeting", "Meeting"
        EMAIL = "email", "Email"
        MESSAGE = "message", "Message"
        LETTER = "letter", "Letter"
        OTHER = "other", "Other"

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"
        INTERNAL = "internal", "Internal"

    class Outcome(models.TextChoices):
        CONNECTED = "connected", "Connected"
        VOICEMAIL = "voicemail", "Left voicemail"
        NO_ANSWER = "no_answer", "No answer"
        BUSY = "busy", "Busy"
        WRONG_NUMBER = "wrong_number", "Wrong number"

    class Source(models.TextChoices):
        MANUAL = "manual", "By hand"
        API = "api", "API"
        MAILBOX = "mailbox", "Mailbox sync"
        UPLOAD = "upload", "File upload"
        DROPBOX = "dropbox", "Drop-box address"
        CALENDAR = "calendar", "Calendar"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    direction = models.CharField(
        max_length=10, choices=Direction.choices, default=Direction.INTERNAL
    )
    occurred_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    all_day = models.BooleanField(default=False)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    channel = models.CharField(max_length=30, blank=True)  # sms, whatsapp, chat… for messages
    location = models.CharField(max_length=300, blank=True)
    cancelled = models.BooleanField(default=False)
    subject = models.CharField(max_length=500, blank=True)
    body = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    quoted = models.TextField(blank=True)
    signature = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    private = models.BooleanField(default=False)
    two_way = models.BooleanField(default=False)
    external_key = models.CharField(max_length=500, blank=True)
    message_id = models.CharField(max_length=500, blank=True)
    thread = models.ForeignKey(
        Thread, null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions"
    )
    # What the source said that has no column: In-Reply-To and References of an email,
    # the calendar's UID and sequence, a telephony system's call id.
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["occurred_at", "id"], name="interaction_occurred"),
            models.Index(
                fields=["message_id"], name="interaction_message_id", condition=~Q(message_id="")
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_key"],
                name="interaction_external_key_unique",
                condition=~Q(external_key=""),
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gte=models.F("occurred_at")),
                name="interaction_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or f"{self.get_kind_display()} {self.pk}"


class Participant(models.Model):
    """Someone who took part in an interaction, in one role.

    Points at a contact, an organization or a user when known; ``address`` (an email as
    written), ``phone`` (as written, with ``e164``) and ``name`` are always kept, so a
    participant nobody knew yet links itself when a contact with that email or number
    appears later. ``occurred_at`` repeats the interaction's time so one index serves a
    person's timeline.
    """

    class Role(models.TextChoices):
        FROM = "from", "From"
        TO = "to", "To"
        CC = "cc", "Cc"
        BCC = "bcc", "Bcc"
        ATTENDEE = "attendee", "Attendee"
        ORGANIZER = "organizer", "Organizer"
        CALLER = "caller", "Caller"
        CALLEE = "callee", "Callee"
        MENTIONED = "mentioned", "Mentioned"
        SUBJECT = "subject", "About"

    interaction = models.ForeignKey(
        Interaction, on_delete=models.CASCADE, related_name="participants"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=300, blank=True)
    address = models.CharField(max_length=320, blank=True)
    address_key = models.CharField(max_length=320, blank=True, editable=False)
    phone = models.CharField(max_length=64, blank=True)
    e164 = models.CharField(max_length=20, blank=True)
    occurred_at = models.DateTimeField(editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["contact", "-occurred_at", "-interaction"],
                name="participant_contact_time",
                condition=Q(contact__isnull=False),
            ),
            models.Index(
                fields=["organization", "-occurred_at", "-interaction"],
                name="participant_org_time",
                condition=Q(organization__isnull=False),
            ),
            models.Index(
                fields=["user", "-occurred_at"],
                name="participant_user_time",
                condition=Q(user__isnull=False),
            ),
            models.Index(
                fields=["address_key"],
                name="participant_unlinked_email",
                condition=Q(contact__isnull=True) & ~Q(address_key=""),
            ),
            models.Index(
                fields=["e164"],
                name="participant_unlinked_phone",
                condition=Q(contact__isnull=True) & ~Q(e164=""),
            ),
            models.Index(fields=["address_key"], name="participant_email"),
            models.Index(fields=["e164"], name="participant_phone"),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.name or self.address or self.phone}"


class Attachment(models.Model):
    """A file that came with an interaction. ``content_type`` is what the bytes are
    (sniffed), ``declared_type`` what the sender said; ``sha256`` spots the same file
    arriving twice."""

    interaction = models.ForeignKey(
        Interaction, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to="attachments/%Y/%m/", blank=True)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    declared_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, blank=True)
    content_id = models.CharField(max_length=300, blank=True)
    inline = models.BooleanField(default=False)
    # Kept as a name and size only: larger than the limit, or the owner chose
    # "metadata only"; ``omitted`` says which.
    omitted = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


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
    anniversary, a contact due to be reached. ``sent_at`` is set once delivered (in the
    app, and by email unless the user reads a daily digest)."""

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
                condition=Q(sent_at__isnull=False, emailed_at__isnull=True),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], name="reminder_key_unique", condition=~Q(key="")
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id} at {self.remind_at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """Something a user should see: a mention, a reminder, a task given to them. Unread
    until ``read_at``; ``url`` is where it leads."""

    class Kind(models.TextChoices):
        MENTION = "mention", "Mention"
        REMINDER = "reminder", "Reminder"
        TASK_ASSIGNED = "task_assigned", "Task assigned"
        MAILBOX = "mailbox", "Mailbox"

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


class CorrespondentSuggestion(models.Model):
    """Someone who wrote to or was written to by a user but is no contact: offered for
    review ("create contact from sender"), never created silently."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CREATED = "created", "Contact created"
        DISMISSED = "dismissed", "Dismissed"

    address_key = models.CharField(max_length=320, unique=True)
    address = models.CharField(max_length=320)
    name = models.CharField(max_length=300, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        indexes = [models.Index(fields=["status", "-last_seen_at"], name="correspondent_open")]

    def __str__(self) -> str:
        return self.address


class CalendarSubscription(TimeStamped):
    """A calendar a user subscribes to by URL (an ICS feed), refreshed in the background
    every ``refresh_minutes``; its events become the owner's meetings.

    ``url`` is kept as given, credentials in it included (not encrypted: see
    docs/calendar.md). ``etag`` and ``last_modified`` make the next fetch conditional.
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
    url = models.CharField(max_length=2000)
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


class Mailbox(TimeStamped):
    """A user's own IMAP mailbox, synced in the background into email interactions.

    ``password_encrypted`` holds the (app) password encrypted with the mailbox key (see
    ``rapport.activity.mail.imap.secrets``); it is never shown again once entered.
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


class ReminderDigest(models.Model):
    """The one mail a day of a user who chose the daily digest: which day (in their own
    time zone) it covers, when a process claimed it and when it was sent. One row per
    user and day makes two workers send it once; a claim that never reached ``sent_at``
    belonged to a process that died and is taken over."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_digests"
    )
    day = models.DateField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    reminder_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="reminder_digest_once_a_day")
        ]

    def __str__(self) -> str:
        return f"Digest for {self.user_id} on {self.day}"


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
