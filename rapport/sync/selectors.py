"""What the "Phones and address books" page and the CLI show: a user's books, the
devices that synced them, and the conflicts waiting for review."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet, Sum

from rapport.access.models import AppPassword
from rapport.sync.models import AddressBook, BookEntry, Device, SyncConflict
from rapport.sync.services import books


@dataclass(frozen=True)
class BookRow:
    book: AddressBook
    cards: int
    size: int


def user_books(user: Any) -> list[BookRow]:
    """The user's books with their card counts as of their last refresh."""
    rows = []
    for book in books.books_for(user):
        totals = BookEntry.objects.filter(book=book, deleted=False).aggregate(
            cards=Count("pk"), size=Sum("size")
        )
        rows.append(BookRow(book, totals["cards"] or 0, totals["size"] or 0))
    return rows


@dataclass(frozen=True)
class DeviceRow:
    app_password: AppPassword
    books: list[Device]

    @property
    def up_to_date(self) -> bool:
        return bool(self.books) and all(d.seq >= d.book.seq for d in self.books)


def user_devices(user: Any) -> list[DeviceRow]:
    """Each of the user's active app passwords, with the books it synced and how far."""
    synced: dict[int, list[Device]] = {}
    for device in Device.objects.filter(app_password__user=user).select_related("book"):
        synced.setdefault(device.app_password_id, []).append(device)
    return [
        DeviceRow(item, synced.get(item.pk, []))
        for item in AppPassword.objects.filter(user=user, revoked_at__isnull=True).order_by(
            "-last_used_at", "-created_at"
        )
    ]


def open_conflicts(user: Any) -> QuerySet[SyncConflict]:
    """Conflicts in the user's books that nobody decided yet, oldest first."""
    return SyncConflict.objects.filter(book__owner=user, resolution="").order_by("created_at", "pk")
