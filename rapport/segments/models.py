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


class Order(TimeStamped):
    """A purchase (or any transaction) by a contact or an organization: when, how much, in
    which currency, its status, what was bought. ``external_id`` (the shop's own order
    number) makes writes idempotent: the same id again changes that order."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        FULFILLED = "fulfilled", "Fulfilled"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"

    # what counts as revenue: value, frequency and recency are computed from these
    COUNTED = ("paid", "fulfilled")

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    organization = models.ForeignKey(
        "contacts.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    ordered_at = models.DateTimeField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PAID)
    products = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True)
    # "|p:product|c:category|", folded: what queries match on every database
    labels = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["-ordered_at", "-id"]
        indexes = [
            # a contact's orders by time, with what counting them and their value reads
            # (status, currency, amount): order counts in segments and customer value never
            # visit the table
            models.Index(
                fields=["contact", "ordered_at", "status", "currency", "amount"],
                name="order_contact_value",
            ),
            models.Index(fields=["organization", "ordered_at"], name="order_org_time"),
            models.Index(fields=["ordered_at"], name="order_time"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id or self.pk}: {self.amount} {self.currency}"


class CustomerValue(models.Model):
    """What a contact's orders say, computed in the background (``services.rfm_refresh``):
    counts, revenue, first and last order, and the RFM scores (1–5) and group."""

    contact = models.OneToOneField(
        Contact, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    orders = models.PositiveIntegerField()
    revenue = models.DecimalField(max_digits=16, decimal_places=2)
    first_order_at = models.DateTimeField()
    last_order_at = models.DateTimeField()
    recency = models.PositiveSmallIntegerField()
    frequency = models.PositiveSmallIntegerField()
    monetary = models.PositiveSmallIntegerField()
    group = models.CharField(max_length=24)
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["group"], name="customer_value_group")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.recency}{self.frequency}{self.monetary} {self.group}"

    @property
    def group_label(self) -> str:
        return self.group.replace("_", " ").capitalize().replace("Cant", "Can't")


class OrderImport(models.Model):
    """One file of orders imported: which orders it created and what the ones it changed
    held before, so the import can be undone."""

    file_name = models.CharField(max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    rows = models.PositiveIntegerField(default=0)
    created_ids = models.JSONField(default=list)
    previous = models.JSONField(default=dict)  # order id -> its fields before
    errors = models.JSONField(default=list)
    undone_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d})"
