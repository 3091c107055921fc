"""Data quality: per-contact facts kept for fast audits, confirmations, daily snapshots and
enrichment suggestions waiting for a person's decision."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from rapport.contacts.models import Contact


class ContactQuality(models.Model):
    """What the audit knows about one contact, kept so a report never loops over contacts.

    ``facts`` is a bit set (see ``rules.Fact``): which fields are filled, which values look
    invalid, whether the contact was ever confirmed. ``version`` is the contact's version
    when the row was computed; a row whose version differs (or a contact without a row)
    is recomputed by ``services.quality_refresh`` in bulk SQL. Staleness depends on the
    day, so it is not stored: ``last_touched`` (last change or confirmation) is compared
    with the cut-off when a report is made.
    """

    contact = models.OneToOneField(
        Contact, primary_key=True, on_delete=models.CASCADE, related_name="quality"
    )
    version = models.PositiveIntegerField()
    facts = models.IntegerField()
    last_touched = models.DateTimeField()
    source = models.CharField(max_length=100, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        # Covering indexes: the report groups by facts (per source) and reads the
        # last change, without touching the rows.
        indexes = [
            models.Index(fields=["facts", "last_touched"], name="quality_facts"),
            models.Index(fields=["source", "facts", "last_touched"], name="quality_source_facts"),
        ]

    def __str__(self) -> str:
        return f"quality of contact {self.contact_id}"


class ContactVerification(models.Model):
    """Someone confirmed that the contact's details are current (resets the stale clock)."""

    contact = models.OneToOneField(
        Contact, primary_key=True, on_delete=models.CASCADE, related_name="verification"
    )
    verified_at = models.DateTimeField()
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"contact {self.contact_id} confirmed {self.verified_at:%Y-%m-%d}"


class AuditSnapshot(models.Model):
    """The audit's figures for one scope on one day, so the trend can be drawn.

    ``scope`` is "all", "source:<name>" or "batch:<id>"; writing the same day and scope
    again replaces the figures.
    """

    date = models.DateField()
    scope = models.CharField(max_length=120, default="all")
    metrics = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scope", "date"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "date"], name="audit_snapshot_one_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.date}"


class Suggestion(models.Model):
    """A change an enrichment provider proposes for one contact; applied only when accepted.

    ``field`` is what would change (organization, country, time_zone, name, phone,
    job_title);
    ``current_value`` is what the contact had when the suggestion was made: accepting
    refuses (status ``outdated``) when that is no longer so. ``payload`` carries what the
    apply step needs (an organization id, name parts).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        OUTDATED = "outdated", "Outdated"

    class Field(models.TextChoices):
        ORGANIZATION = "organization", "Organization"
        COUNTRY = "country", "Country"
        TIME_ZONE = "time_zone", "Time zone"
        NAME = "name", "Name"
        PHONE = "phone", "Phone"
        JOB_TITLE = "job_title", "Job title"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="suggestions")
    field = models.CharField(max_length=20, choices=Field.choices)
    current_value = models.CharField(max_length=300, blank=True)
    suggested_value = models.CharField(max_length=300)
    payload = models.JSONField(default=dict, blank=True)
    provider = models.CharField(max_length=50)
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # A suggestion once made (and perhaps rejected) is not made again.
            models.UniqueConstraint(
                fields=["contact", "field", "suggested_value", "provider"],
                name="suggestion_once",
            )
        ]
        indexes = [models.Index(fields=["status", "field", "id"], name="suggestion_status")]

    def __str__(self) -> str:
        return f"{self.field} → {self.suggested_value} for contact {self.contact_id}"


class RefreshMark(models.Model):
    """How far the change history (access.ChangeRecord) has been read by quality refreshes.

    One row. Contacts named by newer change records are the ones to re-check, which is
    far cheaper than comparing every contact's version on each report.
    """

    last_change_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"quality refreshed up to change {self.last_change_id}"
