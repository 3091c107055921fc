"""What happened: interactions, who took part, email threads and attachments, and the
people mail was exchanged with who are no contact yet."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from rapport.contacts.models import Contact, Organization
from rapport.core.models import TimeStamped


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
    arriving twice. Files are written and deleted through ``services.attachments``,
    which keeps them in step with the rows (``file`` is indexed for its sweep)."""

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
        indexes = [models.Index(fields=["file"], name="attachment_file")]

    def __str__(self) -> str:
        return self.filename


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
