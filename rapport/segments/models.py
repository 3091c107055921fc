"""Segments (saved queries whose members change with the data) and lists (contacts
added and removed by hand, from a search, an import or the API).

Segments and lists share one namespace of names (``in:NAME`` in a query finds either).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from rapport.contacts.models import Contact
from rapport.core.models import TimeStamped


class Segment(TimeStamped):
    name = models.CharField(max_length=100)
    name_key = models.CharField(max_length=100, unique=True, editable=False)
    description = models.TextField(blank=True)
    query = models.TextField()  # the canonical text (``query.render``)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shared = models.BooleanField(default=True)
    last_count = models.PositiveIntegerField(null=True, blank=True)
    counted_at = models.DateTimeField(null=True, blank=True)
    # set when a contact changed since the members were last recorded
    stale = models.BooleanField(default=True)

    class Meta:
        ordering = ["name_key"]

    def __str__(self) -> str:
        return self.name


class ContactList(TimeStamped):
    name = models.CharField(max_length=100)
    name_key = models.CharField(max_length=100, unique=True, editable=False)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shared = models.BooleanField(default=True)
    contacts = models.ManyToManyField(Contact, through="ListMember", related_name="+")

    class Meta:
        ordering = ["name_key"]

    def __str__(self) -> str:
        return self.name


class ListMember(models.Model):
    list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["list", "contact"], name="segments_list_member")
        ]
        indexes = [models.Index(fields=["contact", "list"], name="segments_member_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.list_id}"


class SegmentMember(models.Model):
    """One stay of a contact in a segment: when it entered, and when it left (open while
    it is a member). The history of who entered and left, and when."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="stays")
    contact_id = models.BigIntegerField()
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "contact_id"],
                condition=models.Q(left_at__isnull=True),
                name="segments_one_open_stay",
            )
        ]
        indexes = [
            models.Index(fields=["segment", "entered_at"], name="segments_stay_entered"),
            models.Index(fields=["segment", "left_at"], name="segments_stay_left"),
            models.Index(fields=["contact_id"], name="segments_stay_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.segment_id} from {self.entered_at:%Y-%m-%d}"
