"""Merges of contacts or organizations, kept whole so each can be undone exactly."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Kind(models.TextChoices):
    CONTACT = "contact", "Contacts"
    ORGANIZATION = "organization", "Organizations"


class Merge(models.Model):
    """One merge of ``merged_ids`` into ``survivor_id``, and (once undone) its undoing.

    ``snapshot`` is the full state before the merge: every column of the survivor and
    the merged records (``records``), and of every row that pointed at them (``rows``,
    by model label, ids included), plus the state of the survivor right after the merge
    (``after``), which tells an unmerge what was edited since. ``moved`` lists each row
    the merge re-pointed: model label, row id, column, the record it came from and, for
    values such as emails, the value's key (a row re-created by a later edit is found
    by it). ``removed`` lists rows deleted as duplicates (restored from ``snapshot``).
    ``choices`` maps each picked field to the record its value came from; ``names``
    each record's name at the time, for lists that outlive the records.
    """

    kind = models.CharField(max_length=16, choices=Kind.choices)
    survivor_id = models.BigIntegerField(db_index=True)
    merged_ids = models.JSONField(default=list)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=16, default="ui")
    at = models.DateTimeField(auto_now_add=True)
    choices = models.JSONField(default=dict, blank=True)
    names = models.JSONField(default=dict, blank=True)
    snapshot = models.JSONField(default=dict)
    moved = models.JSONField(default=list)
    removed = models.JSONField(default=list)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undo_notes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["kind", "survivor_id"], name="merge_kind_survivor")]

    def __str__(self) -> str:
        merged = ", ".join(f"#{pk}" for pk in self.merged_ids)
        return f"{self.get_kind_display()} {merged} into #{self.survivor_id}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None


class Redirect(models.Model):
    """A merged-away record's id and the record it was merged into.

    Chains are followed when resolving (A into B, then B into C: A resolves to C), so a
    later merge never rewrites an earlier one's redirects and each unmerge removes only
    its own.
    """

    kind = models.CharField(max_length=16, choices=Kind.choices)
    old_id = models.BigIntegerField()
    new_id = models.BigIntegerField()
    merge = models.ForeignKey(Merge, on_delete=models.CASCADE, related_name="redirects")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "old_id"], name="redirect_one_per_old_id")
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.old_id} → #{self.new_id}"


class RetiredExternalId(models.Model):
    """An id in another system that a merged-away contact had and the survivor could not
    take over, because it already had an id from the same source (one per source).

    ``contact_id`` is the merged-away contact; it resolves through redirects to whoever
    holds its data now, so a re-import carrying the old id can still find the survivor.
    """

    source = models.CharField(max_length=100)
    value = models.CharField(max_length=200)
    contact_id = models.BigIntegerField()
    merge = models.ForeignKey(Merge, on_delete=models.CASCADE, related_name="retired_ids")

    class Meta:
        indexes = [models.Index(fields=["source", "value"], name="retired_external_id")]

    def __str__(self) -> str:
        return f"{self.source}:{self.value} (was contact #{self.contact_id})"
