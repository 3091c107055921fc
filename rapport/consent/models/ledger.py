"""The consent ledger: one appended row per event, chained by hashes."""

from __future__ import annotations

from django.db import models

from rapport.consent.models.purposes import ConsentText, Purpose
from rapport.consent.vocabulary import Action, Method, Source


class ConsentEvent(models.Model):
    """One thing a person said or that happened to their consent, never changed.

    Rows are only ever inserted: BEFORE UPDATE and BEFORE DELETE triggers refuse
    anything else on SQLite and PostgreSQL (migration 0002), and ``hash`` covers the
    row's canonical content and ``prev_hash`` (the row before it, in ``seq`` order),
    so an edit made around the triggers is found by ``rapport consent verify``.

    The person is ``contact_id`` (a plain number, no foreign key: deleting the contact
    must not touch the ledger) and ``subject_key`` (a keyed hash of it). Personal
    evidence — the contact point (``point_sealed``), the IP address and user agent
    (``evidence_sealed``), the recorder's reference (``reference_sealed``) and note
    (``note_sealed``) — is encrypted with the person's own data key
    (``ConsentSubject``); forgetting the person deletes that key, and the rows keep
    verifying because the hash covers the ciphertext. ``point_key`` (a hash keyed with
    the same data key) groups rows about one address without revealing it.

    ``source_ref`` says who or what recorded the row (a user and the way in, an API
    token's owner, a sign-up form, the retention duty) and is kept in clear: it is
    about the recorder, not the person.

    Copies (``purpose_key``, ``lawful_basis``, ``text_sha256``, ``text_version``,
    ``recorded_by_name``) keep each row's meaning when purposes or users change later.
    """

    seq = models.BigIntegerField(unique=True)
    contact_id = models.BigIntegerField(db_index=True)
    subject_key = models.CharField(max_length=64)
    purpose = models.ForeignKey(
        Purpose, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    purpose_key = models.CharField(max_length=50, blank=True)
    lawful_basis = models.CharField(max_length=24, blank=True)
    channel = models.CharField(max_length=16, blank=True)  # empty: every channel
    point_key = models.CharField(max_length=64, blank=True)
    point_sealed = models.TextField(blank=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    given_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    source_ref = models.CharField(max_length=200, blank=True)
    method = models.CharField(max_length=20, choices=Method.choices)
    text = models.ForeignKey(
        ConsentText, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text_sha256 = models.CharField(max_length=64, blank=True)
    text_version = models.PositiveIntegerField(null=True, blank=True)
    evidence_sealed = models.TextField(blank=True)
    token_id = models.CharField(max_length=64, blank=True)
    # A double opt-in request: it counts only once a "confirm" row names it.
    needs_confirmation = models.BooleanField(default=False)
    confirms = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="confirmation"
    )
    recorded_by_id = models.BigIntegerField(null=True, blank=True)
    recorded_by_name = models.CharField(max_length=150, blank=True)
    # what the recorder typed (a form number, a call reference; a note): free text that
    # may name the person, so sealed like the evidence
    reference_sealed = models.TextField(blank=True)
    note_sealed = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["contact_id", "purpose", "seq"], name="consent_event_subject"),
            models.Index(fields=["recorded_at", "seq"], name="consent_event_recorded"),
            models.Index(fields=["purpose", "seq"], name="consent_event_purpose"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.purpose_key or '(all purposes)'}"


class ConsentChain(models.Model):
    """The head of the hash chain: the last row's ``seq`` and ``hash``, one row (id 1).

    Every append locks it first (SELECT … FOR UPDATE on PostgreSQL; SQLite's
    immediate transactions already let one writer in at a time), so two appends
    can never both follow the same row and fork the chain.
    """

    seq = models.BigIntegerField(default=0)
    head_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"chain at #{self.seq}"
