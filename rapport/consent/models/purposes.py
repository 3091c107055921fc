"""What personal data is used for (purposes, defined by admins) and the exact texts
people are shown when they agree to one."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from rapport.consent.vocabulary import LawfulBasis
from rapport.core.models import TimeStamped


class Purpose(TimeStamped):
    """One reason Rapport processes people's data ("newsletter", "sales outreach").

    ``lawful_basis`` decides what the consent gate asks of the ledger (docs/consent.md):
    ``consent`` needs a current grant; ``legitimate_interest`` is allowed unless the
    person withdrew or objected; the other bases are allowed unless processing is
    restricted. ``retention_days`` is how long a grant lasts before it lapses (None:
    until withdrawn). ``is_marketing`` purposes are all blocked by an objection to
    direct marketing. ``data_categories`` and ``recipients`` feed the records of
    processing (Art. 30). A purpose named by ledger rows is never deleted, only
    archived (``archived_at``); archived purposes allow nothing.
    """

    key = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    lawful_basis = models.CharField(max_length=24, choices=LawfulBasis.choices)
    description = models.TextField(blank=True)
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    is_marketing = models.BooleanField(default=False)
    data_categories = models.JSONField(default=list, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    # The public double opt-in form: whether it is open, and the user the contacts it
    # creates are made by (their owner, and the actor in the contacts' history).
    signup_enabled = models.BooleanField(default=False)
    signup_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ConsentText(models.Model):
    """The exact wording shown when someone agrees to a purpose, stored once.

    Ledger rows name it by ``sha256`` (of the UTF-8 body) and ``version`` (1, 2, … per
    purpose). Rows are never changed or deleted (database triggers, as for the ledger):
    a new wording is a new version.
    """

    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="texts")
    version = models.PositiveIntegerField()
    body = models.TextField()
    sha256 = models.CharField(max_length=64)
    language = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["purpose", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["purpose", "version"], name="consent_text_version"),
            models.UniqueConstraint(fields=["purpose", "sha256"], name="consent_text_once"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose_id} v{self.version}"
