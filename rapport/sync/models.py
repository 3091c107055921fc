"""Address books served over CardDAV, and each book's change log.

A book's entries are the cards it served, one per contact, each with the ``seq`` of its
last change in that book; a contact that left the book (deleted, merged away, no longer
visible) keeps its entry as a tombstone (``deleted``), so a client's next
``sync-collection`` learns of it. The book's ``seq`` is the newest change; a sync token
names the book, its ``epoch`` and a seq. Entries hold the contact's id as a plain
number: a merge moves every foreign key to the survivor, and the merged-away card must
stay behind as a tombstone.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


def new_epoch() -> str:
    return secrets.token_hex(8)


class AddressBook(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="address_books"
    )
    slug = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    # A book of the contacts with this tag (made by a client's MKCOL, or on the page);
    # none: the default book, every contact its owner may see.
    tag = models.ForeignKey(
        "contacts.Tag", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # or of a list's contacts (cards added and removed from a device join and leave the
    # list), or of a segment's members (read-only: they follow its query)
    contact_list = models.ForeignKey(
        "segments.ContactList", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    segment = models.ForeignKey(
        "segments.Segment", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    description = models.TextField(blank=True)
    epoch = models.CharField(max_length=16, default=new_epoch)
    seq = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    # What the cards were rendered from at the last check (``books.source_stamp``), and
    # when: an unchanged stamp spares rendering the book again.
    stamp = models.CharField(max_length=64, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "slug"], name="sync_book_owner_slug")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner_id})"

    @property
    def is_default(self) -> bool:
        return self.tag_id is None and self.contact_list_id is None and self.segment_id is None


class BookEntry(models.Model):
    book = models.ForeignKey(AddressBook, on_delete=models.CASCADE, related_name="entries")
    contact_id = models.BigIntegerField()
    name = models.CharField(max_length=255)  # the last segment of the card's href
    etag = models.CharField(max_length=64)
    size = models.PositiveIntegerField(default=0)
    seq = models.BigIntegerField()
    deleted = models.BooleanField(default=False)
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["book", "name"], name="sync_entry_book_name"),
            models.UniqueConstraint(fields=["book", "contact_id"], name="sync_entry_book_contact"),
        ]
        indexes = [models.Index(fields=["book", "seq"], name="sync_entry_book_seq")]

    def __str__(self) -> str:
        return f"{self.name} @{self.seq}{' (deleted)' if self.deleted else ''}"


class ClientCard(models.Model):
    """What a client last wrote for one contact (see ``services.cards``): the UID and
    card name it chose, the card as sent, the lines Rapport does not model, and the
    fingerprint of Rapport's own card of the contact right after that write."""

    contact_id = models.BigIntegerField(unique=True)
    uid = models.CharField(max_length=255, db_index=True)
    name = models.CharField(max_length=255)
    version = models.CharField(max_length=3, default="3.0")
    body = models.TextField()
    residual = models.TextField(blank=True)
    fingerprint = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.uid} (contact {self.contact_id})"


class CardVersion(models.Model):
    """A card as a book served it at one ``seq``: what a client that synced up to that
    point has seen, the base of a field-by-field merge of a change it sends without
    If-Match."""

    book = models.ForeignKey(AddressBook, on_delete=models.CASCADE, related_name="versions")
    contact_id = models.BigIntegerField()
    seq = models.BigIntegerField()
    etag = models.CharField(max_length=64)
    card = models.TextField()

    class Meta:
        indexes = [
            models.Index(fields=["book", "contact_id", "seq"], name="sync_version_contact_seq"),
            models.Index(fields=["book", "etag"], name="sync_version_etag"),
        ]

    def __str__(self) -> str:
        return f"contact {self.contact_id} @{self.seq}"


class Device(models.Model):
    """One app password's view of one book: how far it synced, and when."""

    app_password = models.ForeignKey(
        "access.AppPassword", on_delete=models.CASCADE, related_name="synced_books"
    )
    book = models.ForeignKey(AddressBook, on_delete=models.CASCADE, related_name="devices")
    seq = models.BigIntegerField(default=0)
    synced_at = models.DateTimeField()
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app_password", "book"], name="sync_device_book")
        ]

    def __str__(self) -> str:
        return f"{self.app_password_id} in {self.book_id} @{self.seq}"

    @property
    def behind(self) -> int:
        """Changes in the book the device has not synced yet."""
        return max(self.book.seq - self.seq, 0)


class SyncConflict(models.Model):
    """A field a client changed while Rapport changed it too, found when the client
    sent its card without If-Match. Rapport's value stays; the client's waits here
    for someone to take it or drop it."""

    class Resolution(models.TextChoices):
        OPEN = "", "Open"
        KEPT = "kept", "Kept Rapport's value"
        TAKEN = "taken", "Took the device's value"

    book = models.ForeignKey(AddressBook, on_delete=models.CASCADE, related_name="conflicts")
    contact_id = models.BigIntegerField()
    contact_name = models.CharField(max_length=300)
    device = models.CharField(max_length=100, blank=True)
    field = models.CharField(max_length=64)
    base_value = models.JSONField(null=True)
    server_value = models.JSONField(null=True)
    client_value = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolution = models.CharField(max_length=8, choices=Resolution.choices, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["book", "resolution"], name="sync_conflict_open")]

    def __str__(self) -> str:
        return f"{self.contact_name}: {self.field}"

    @property
    def field_label(self) -> str:
        return self.field.replace("_", " ").capitalize()
