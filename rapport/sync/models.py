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
    slug = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    epoch = models.CharField(max_length=16, default=new_epoch)
    seq = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "slug"], name="sync_book_owner_slug")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner_id})"


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
