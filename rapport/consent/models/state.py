"""What is derived from the ledger and may be deleted: each person's data key, the
current state per contact, purpose and channel, and sign-up attempts for throttling."""

from __future__ import annotations

from django.db import models

from rapport.consent.models.purposes import Purpose
from rapport.consent.vocabulary import Status


class ConsentSubject(models.Model):
    """A person's data key (crypto-shredding) and the contact their ledger rows now
    belong to.

    ``contact_id`` is the id in the ledger rows; ``current_contact_id`` is where they
    count now (the survivor after a merge). ``sealed_key`` is a Fernet key, itself
    encrypted with the server's key (RAPPORT_CONSENT_KEY or one derived from
    SECRET_KEY). Deleting the row (``consent_subject_forget``) makes the person's
    evidence in the ledger unreadable for good.
    """

    contact_id = models.BigIntegerField(unique=True)
    current_contact_id = models.BigIntegerField(db_index=True)
    # the contacts it was merged into, in order (undoing a merge steps back one)
    merge_path = models.JSONField(default=list, blank=True)
    sealed_key = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"subject {self.contact_id}"


class ConsentState(models.Model):
    """The state of one contact, purpose and channel as the ledger says now.

    Written in the same transaction as every append, rebuilt by ``rapport consent
    rebuild``. ``since`` is when the deciding event was given; a granted state lapses
    at ``valid_until`` and at ``since`` plus the purpose's retention (computed when
    asked, so a changed retention applies at once). No row: nothing recorded.
    """

    contact_id = models.BigIntegerField()
    purpose = models.ForeignKey(Purpose, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=Status.choices)
    since = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    event_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact_id", "purpose", "channel"], name="consent_state_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["purpose", "channel", "status", "contact_id"], name="consent_state_bulk"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.purpose_id} {self.channel}: {self.status}"


class ConsentContactState(models.Model):
    """Contact-wide states: restriction of processing (blocks every purpose) and
    objection to direct marketing (blocks every marketing purpose). A row exists only
    while one of them is in force."""

    contact_id = models.BigIntegerField(primary_key=True)
    restricted_since = models.DateTimeField(null=True, blank=True)
    restricted_event_id = models.BigIntegerField(null=True, blank=True)
    marketing_objection_since = models.DateTimeField(null=True, blank=True)
    marketing_objection_event_id = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"contact {self.contact_id}"


class SignupAttempt(models.Model):
    """One use of a public sign-up form, counted per client address and per email
    address for throttling. ``key`` is a keyed hash, never the address itself; rows
    older than a day are removed as new ones come."""

    key = models.CharField(max_length=64)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["key", "at"], name="consent_signup_key_at")]

    def __str__(self) -> str:
        return f"{self.key[:8]} at {self.at}"
