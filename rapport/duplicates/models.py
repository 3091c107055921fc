"""Duplicate detection's records: blocking keys, the learned model, scans, the clusters
proposed for review, and the pairs people said are not duplicates."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from rapport.contacts.models import Contact, Organization
from rapport.core.models import BackgroundJob


class MatchKey(models.Model):
    """One blocking key of one contact (see matching/keys.py). The contact services keep
    a contact's keys current on every write, so the check at entry is an index lookup."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)

    # An index of the contact's values: merges do not move it; the duplicates services
    # recompute it after a merge or an unmerge.
    INDEX_OF_CONTACT = True

    class Meta:
        indexes = [models.Index(fields=["key", "contact"], name="matchkey_key_contact")]
        constraints = [
            models.UniqueConstraint(fields=["contact", "key"], name="matchkey_contact_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.key}"


class OrganizationMatchKey(models.Model):
    """One blocking key of one organization, kept current by the organization services."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)

    INDEX_OF_CONTACT = True  # an index of the record's values: merges do not move it

    class Meta:
        indexes = [models.Index(fields=["key", "organization"], name="orgkey_key_org")]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="orgkey_org_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.key}"


class LearnedModel(models.Model):
    """The match model's parameters as the last full scan learned them (one row)."""

    kind = models.CharField(max_length=20, unique=True, default="person")
    parameters = models.JSONField(default=dict)
    learned_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.kind} model of {self.learned_at:%Y-%m-%d %H:%M}"


class DuplicateScan(BackgroundJob):
    """One run of the bulk search: what it covered, how far it got, what it found."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Scope(models.TextChoices):
        ALL = "all", "All contacts"
        SEGMENT = "segment", "A filtered list"
        BATCH = "batch", "One import batch"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.ALL)
    # the search text and filters of a segment, or {"batch": id}
    scope_detail = models.JSONField(default=dict, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    phase = models.CharField(max_length=40, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    contacts = models.PositiveIntegerField(default=0)
    pairs_compared = models.PositiveBigIntegerField(default=0)
    pairs_found = models.PositiveIntegerField(default=0)
    clusters_found = models.PositiveIntegerField(default=0)
    auto_merged = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Scan {self.pk} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class DuplicateCluster(models.Model):
    """Contacts that are likely one person, waiting for (or given) a reviewer's decision."""

    class Status(models.TextChoices):
        OPEN = "open", "To review"
        MERGED = "merged", "Merged"
        DISMISSED = "dismissed", "Not duplicates"
        SKIPPED = "skipped", "Skipped"

    class Kind(models.TextChoices):
        CONTACT = "contact", "People"
        ORGANIZATION = "organization", "Organizations"

    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CONTACT)
    scan = models.ForeignKey(
        DuplicateScan, null=True, blank=True, on_delete=models.SET_NULL, related_name="clusters"
    )
    origin = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    # the highest match probability among the cluster's pairs
    confidence = models.FloatField()
    size = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-confidence", "id"]
        indexes = [models.Index(fields=["status", "-confidence", "id"], name="cluster_queue")]

    def __str__(self) -> str:
        return f"{self.size} contacts at {self.confidence:.0%}"


class DuplicatePair(models.Model):
    """Two contacts of a cluster, their match probability and why (one entry per
    comparison: field, level, weight in bits)."""

    cluster = models.ForeignKey(DuplicateCluster, on_delete=models.CASCADE, related_name="pairs")
    contact_a = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    contact_b = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField()
    explanation = models.JSONField(default=list)

    class Meta:
        ordering = ["-probability", "id"]

    def __str__(self) -> str:
        return f"{self.contact_a_id}–{self.contact_b_id}: {self.probability:.0%}"


class OrganizationPair(models.Model):
    """Two organizations of a cluster, their match probability and why."""

    cluster = models.ForeignKey(
        DuplicateCluster, on_delete=models.CASCADE, related_name="organization_pairs"
    )
    organization_a = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    organization_b = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField()
    explanation = models.JSONField(default=list)

    class Meta:
        ordering = ["-probability", "id"]

    def __str__(self) -> str:
        return f"{self.organization_a_id}–{self.organization_b_id}: {self.probability:.0%}"


class NotDuplicate(models.Model):
    """Two contacts a person said are different people; never proposed together again.
    Written with the lower id first; a merge may re-point either side, so readers
    accept both orders."""

    contact_a = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    contact_b = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact_a", "contact_b"], name="not_duplicate_unique")
        ]

    def __str__(self) -> str:
        return f"{self.contact_a_id} ≠ {self.contact_b_id}"
