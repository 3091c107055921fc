"""Address books and their change logs: which contacts a book serves, the card each
one gets, and what changed since a client's last sync.

``book_refresh`` renders every member's card (vCard 3.0, as ``ingest``'s exporter
writes it, without REV) in chunks and compares its hash with the entry the book holds:
new or changed cards get the next ``seq``, contacts no longer in the book become
tombstones. Rendering is the only reliable test of "has the card changed": a tag or an
organization renamed changes cards without saving the contacts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet, Sum
from django.utils import timezone

from rapport.access.models import ChangeRecord
from rapport.contacts.models import (
    Address,
    Affiliation,
    Contact,
    CustomFieldDefinition,
    Email,
    ExternalId,
    Organization,
    Phone,
    Tag,
    WebLink,
)
from rapport.contacts.services import tag_create
from rapport.core import policy
from rapport.core.errors import InvalidInput, NotPermitted
from rapport.core.text import fold
from rapport.ingest.exporters import _source
from rapport.ingest.exporters.vcard import cards_by_contact, contact_uid
from rapport.sync.models import AddressBook, BookEntry, CardVersion, ClientCard, Device
from rapport.sync.services import cards

DEFAULT_SLUG = "contacts"
CHUNK = 1_000
VERSIONS = ("3.0", "4.0")


def book_default(user: Any) -> AddressBook:
    """The user's "All contacts" book, made on first use."""
    book, _ = AddressBook.objects.get_or_create(
        owner=user,
        slug=DEFAULT_SLUG,
        defaults={"name": "All contacts", "description": "Every contact you may see in Rapport."},
    )
    return book


def books_for(user: Any) -> list[AddressBook]:
    book_default(user)
    return list(AddressBook.objects.filter(owner=user).order_by("id"))


def _everyone(book: AddressBook) -> QuerySet[Contact]:
    """The contacts a book is about, before the size limit."""
    members = Contact.objects.all()
    if book.tag_id is not None:
        return members.filter(tags=book.tag_id)
    if book.contact_list_id is not None:
        from rapport.segments.models import ListMember

        return members.filter(
            pk__in=ListMember.objects.filter(list_id=book.contact_list_id).values("contact_id")
        )
    if book.segment_id is not None and book.segment is not None:
        from rapport.core.errors import InvalidInput
        from rapport.segments.selectors import query_matching

        try:
            return query_matching(book.owner, book.segment.query, own_name=book.segment.name)
        except (InvalidInput, NotPermitted):
            return Contact.objects.none()  # a query that no longer runs serves nobody
    return members


def book_members(book: AddressBook) -> QuerySet[Contact]:
    """The contacts a book serves: those its owner may see (with the book's tag, in its
    list, or in its segment). Past ``RAPPORT_CARDDAV_MAX_CARDS``, the default book holds
    the contacts its owner owns, and any book its most recently changed cards up to the
    limit."""
    if not book.owner.is_active or not policy.can(book.owner, "contacts.view"):
        return Contact.objects.none()
    members = _everyone(book)
    limit = settings.RAPPORT_CARDDAV_MAX_CARDS
    if limit and members.count() > limit:
        if book.is_default:
            members = members.filter(owner=book.owner)
        ids = members.order_by("-updated_at", "-pk").values_list("pk", flat=True)[:limit]
        members = Contact.objects.filter(pk__in=list(ids))
    return members


def over_limit(book: AddressBook) -> bool:
    """True when the book holds fewer contacts than it would without the size limit."""
    limit = settings.RAPPORT_CARDDAV_MAX_CARDS
    return bool(limit) and _everyone(book).count() > limit


def read_only(book: AddressBook) -> bool:
    """A segment's book: its members follow its query, a device cannot add or remove."""
    return book.segment_id is not None


def quota_used(book: AddressBook) -> int:
    return int(
        BookEntry.objects.filter(book=book, deleted=False).aggregate(n=Sum("size"))["n"] or 0
    )


class BookRefused(Exception):
    """A book that cannot be made; ``condition`` names the WebDAV precondition."""

    def __init__(self, condition: str, message: str) -> None:
        super().__init__(message)
        self.condition, self.message = condition, message


_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,63}$")


def book_for_tag(*, user: Any, slug: str, name: str, tag_name: str = "") -> AddressBook:
    """A new book of the contacts tagged ``tag_name`` (``name`` when empty); the tag is
    made when none has that name (for a user who may add tags). Raises BookRefused."""
    if not _SLUG.fullmatch(slug) or slug == DEFAULT_SLUG:
        raise BookRefused("valid-resourcetype", f"“{slug}” cannot name a new address book.")
    if AddressBook.objects.filter(owner=user, slug=slug).exists():
        raise BookRefused("resource-must-be-null", f"There is already a book at “{slug}”.")
    tag_name = (tag_name or name or slug).strip()[:60]
    tag = Tag.objects.filter(name_key=fold(tag_name)).first()
    if tag is None:
        try:
            tag = tag_create(actor=user, data={"name": tag_name})
        except NotPermitted:
            raise BookRefused("need-privileges", "You may not add tags.") from None
        except InvalidInput as exc:
            raise BookRefused("valid-resourcetype", str(exc)) from None
    return _made(user, slug, name or tag.name, f"The contacts tagged “{tag.name}”.", tag=tag)


_ABOUT = {
    "tag": "The contacts tagged “{}”.",
    "list": "The contacts in the list “{}”.",
    "segment": "The members of the segment “{}”.",
}


def book_for(*, user: Any, kind: str, obj: Any) -> AddressBook:
    """A new book of a tag's contacts, a list's or a segment's members (``kind``), at
    the address its name gives, or ``<kind>-<id>`` when that is taken. Raises
    BookRefused when the user has that book already."""
    from django.utils.text import slugify

    slug = slugify(obj.name)[:60]
    if (
        not slug
        or slug == DEFAULT_SLUG
        or AddressBook.objects.filter(owner=user, slug=slug).exists()
    ):
        slug = f"{kind}-{obj.pk}"
    return _made(user, slug, obj.name, _ABOUT[kind].format(obj.name), **{kind: obj})


def _made(user: Any, slug: str, name: str, description: str, **source: Any) -> AddressBook:
    field = {"list": "contact_list"}
    try:
        with transaction.atomic():
            return AddressBook.objects.create(
                owner=user, slug=slug, name=name[:200], description=description,
                **{field.get(k, k): v for k, v in source.items()},
            )  # fmt: skip
    except IntegrityError:
        raise BookRefused(
            "resource-must-be-null", f"There is already a book at “{slug}”."
        ) from None


def book_delete(*, user: Any, book: AddressBook) -> None:
    """Forget a book of a tag, list or segment (its contacts stay); the default book
    stays."""
    if book.is_default:
        raise BookRefused("need-privileges", "“All contacts” cannot be deleted.")
    book.delete()


def etag_of(card: bytes) -> str:
    return hashlib.sha256(card).hexdigest()[:40]


def _name(contact_id: int, created_at: str) -> str:
    uid = contact_uid(contact_id, f"{created_at[:10]}T{created_at[11:]}+00:00")
    return uid.removeprefix("urn:uuid:") + ".vcf"


def rendered(ids: Sequence[int], version: str = "") -> Iterable[tuple[int, str, bytes]]:
    """(contact id, card name, card) for each existing contact of ``ids`` (ascending),
    read and written a chunk at a time, in vCard ``version`` ("": 3.0, or the version
    of the card a client wrote). A contact a client wrote is served as ``served`` says,
    under the name and UID that client chose. The default form is the one whose hash is
    the card's etag."""
    for rows in _source.chunks(sorted(ids), size=CHUNK):
        created = {
            row[_source.ID]: row[_source.CREATED_AT] for row in _source.contact_rows(rows[0])
        }
        clients = {c.contact_id: c for c in ClientCard.objects.filter(contact_id__in=list(created))}
        wanted = version or "3.0"
        own = dict(cards_by_contact(rows, "3.0")) if clients and wanted != "3.0" else None
        # asked for no version: a client that wrote 4.0 gets 4.0
        four = (
            dict(cards_by_contact(rows, "4.0"))
            if not version and any(c.version == "4.0" for c in clients.values())
            else {}
        )
        for contact_id, card in cards_by_contact(rows, wanted):
            client = clients.get(contact_id)
            if client is None:
                yield contact_id, _name(contact_id, created[contact_id]), card
                continue
            plain = card if own is None else own[contact_id]
            if client.version == "4.0" and contact_id in four:
                card = four[contact_id]
            yield contact_id, client.name, served(client, card, plain, version)


def served(client: ClientCard, card: bytes, plain: bytes, version: str) -> bytes:
    """What a client that wrote a contact gets: its own card while Rapport's card of the
    contact (``plain``, vCard 3.0) is as that write left it and no other version was
    asked for, else Rapport's ``card`` with the client's UID and the lines Rapport does
    not model."""
    same_version = version in ("", client.version) or (version == "3.0" and client.version == "2.1")
    if same_version and client.fingerprint and cards.fingerprint(plain) == client.fingerprint:
        return client.body.encode()
    return cards.with_residual(card, client.uid, client.residual, client.body)


@dataclass(frozen=True)
class Refreshed:
    book: AddressBook
    changed: int
    removed: int


def _known(book: AddressBook) -> dict[int, tuple[int, str, str, bool]]:
    return {
        contact_id: (pk, name, etag, deleted)
        for pk, contact_id, name, etag, deleted in BookEntry.objects.filter(book=book).values_list(
            "pk", "contact_id", "name", "etag", "deleted"
        )
    }


def _differs(
    current: dict[int, tuple[str, str, int]], known: dict[int, tuple[int, str, str, bool]]
) -> bool:
    live = {contact_id for contact_id, entry in known.items() if not entry[3]}
    if live != set(current):
        return True
    return any(known[contact_id][2] != etag for contact_id, (_n, etag, _s) in current.items())


# A book is rendered in full at least this often, whatever the stamp says.
FULL_CHECK = dt.timedelta(minutes=10)


def source_stamp(book: AddressBook) -> str:
    """A fingerprint of everything a book's cards are made from: the newest ids and
    times of the contacts and of each table a card reads, tag and custom field names,
    the cards clients wrote, the newest entry of the history (every service that
    deletes a row, or changes one in place without saving its contact, writes one), and
    the owner's standing. Index lookups only, no counting: a poll of a book of a million
    contacts costs what one of ten does. What slips past it (a raw SQL change) is caught
    by the full check every FULL_CHECK."""
    parts: list[Any] = [
        Contact.objects.aggregate(m=Max("pk"), t=Max("updated_at")),
        Organization.objects.aggregate(m=Max("pk"), t=Max("updated_at")),
        Affiliation.objects.aggregate(m=Max("pk"), t=Max("updated_at")),
        ClientCard.objects.aggregate(m=Max("pk"), t=Max("updated_at")),
        ChangeRecord.objects.aggregate(m=Max("pk")),
        list(Tag.objects.order_by("pk").values_list("pk", "name")),
        list(CustomFieldDefinition.objects.order_by("pk").values_list()),
        list(type(book.owner).objects.filter(pk=book.owner_id).values_list(
            "is_active", "role", "is_superuser"
        )),
        book.tag_id,
        book.contact_list_id,
        book.segment_id,
        settings.RAPPORT_CARDDAV_MAX_CARDS,
    ]  # fmt: skip
    if book.contact_list_id is not None or book.segment_id is not None:
        from rapport.segments.models import ListMember, Segment

        parts.append(ListMember.objects.aggregate(m=Max("pk")))
        parts.append(Segment.objects.aggregate(t=Max("updated_at")))
    for model in (Email, Phone, Address, WebLink, ExternalId, Contact.tags.through):
        parts.append(model.objects.aggregate(m=Max("pk")))
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def book_refresh(book: AddressBook) -> Refreshed:
    """Bring ``book``'s entries up to date with its members' cards (see the module's
    docstring). Nothing is rendered when the book's ``source_stamp`` is the one of its
    last check (and that check is recent). The cards are rendered and compared outside
    any transaction; only when something changed is the book's row locked (two
    refreshes queue) and the change log written, so a sync that finds nothing new
    holds no write lock."""
    stamp = source_stamp(book)  # taken before rendering: a later write changes it
    now = timezone.now()
    if book.stamp == stamp and book.checked_at and now - book.checked_at < FULL_CHECK:
        return Refreshed(book, 0, 0)
    members = list(book_members(book).order_by("pk").values_list("pk", flat=True))
    current = {
        contact_id: (name, etag_of(card), len(card)) for contact_id, name, card in rendered(members)
    }
    if not _differs(current, _known(book)):
        AddressBook.objects.filter(pk=book.pk).update(stamp=stamp, checked_at=now)
        book.stamp, book.checked_at = stamp, now
        return Refreshed(book, 0, 0)
    return _record(book, current, stamp=stamp)


def book_note(book: AddressBook, contact_ids: Sequence[int]) -> AddressBook:
    """Bring the entries of ``contact_ids`` alone up to date (after a device wrote
    them): the book's other cards wait for its next check, which the changed stamp
    makes happen."""
    wanted = set(book_members(book).filter(pk__in=list(contact_ids)).values_list("pk", flat=True))
    current = {
        contact_id: (name, etag_of(card), len(card))
        for contact_id, name, card in rendered(sorted(wanted))
    }
    return _record(book, current, scope=set(contact_ids)).book


def _record(
    book: AddressBook,
    current: dict[int, tuple[str, str, int]],
    *,
    stamp: str = "",
    scope: set[int] | None = None,
) -> Refreshed:
    """Write the change log for the cards in ``current`` (all the book's members, or
    those of ``scope``), under a lock on the book."""
    with transaction.atomic():
        book = AddressBook.objects.select_for_update().get(pk=book.pk)
        known = _known(book)  # again, under the lock
        # The cards about to be written are rendered again under the lock: a refresh
        # that rendered earlier must not record an older card after a later one.
        stale = [
            contact_id
            for contact_id, (_n, etag, _s) in current.items()
            if contact_id not in known or known[contact_id][2] != etag or known[contact_id][3]
        ]
        for contact_id in stale:
            current.pop(contact_id)
        texts: dict[int, str] = {}
        for contact_id, name, card in rendered(stale):
            current[contact_id] = (name, etag_of(card), len(card))
            texts[contact_id] = card.decode()
        now = timezone.now()
        seq = book.seq
        fresh: list[BookEntry] = []
        changed: list[BookEntry] = []
        names = {entry[1]: (cid, entry) for cid, entry in known.items()}
        reused: set[int] = set()
        for contact_id, (name, etag, size) in current.items():
            found = known.get(contact_id)
            taken = names.get(name) if found is None else None
            if taken is not None and taken[1][3] and taken[0] not in current:
                # a client put a new card where a deleted one was: the href's entry now
                # holds the new contact (devices see the href change, not vanish)
                found = (taken[1][0], name, "", True)
                reused.add(taken[0])
            elif taken is not None:
                name = f"rapport-{contact_id}.vcf"  # never two cards at one href
            if found is None:
                seq += 1
                fresh.append(
                    BookEntry(
                        book=book, contact_id=contact_id, name=name, etag=etag,
                        size=size, seq=seq, changed_at=now,
                    )
                )  # fmt: skip
            elif found[2] != etag or found[3]:
                seq += 1
                changed.append(
                    BookEntry(
                        pk=found[0], book=book, contact_id=contact_id, name=found[1],
                        etag=etag, size=size, seq=seq, deleted=False, changed_at=now,
                    )
                )  # fmt: skip
        gone = [
            (pk, contact_id)
            for contact_id, (pk, _name, _etag, deleted) in known.items()
            if not deleted
            and contact_id not in current
            and contact_id not in reused
            and (scope is None or contact_id in scope)
        ]
        for pk, contact_id in gone:
            seq += 1
            changed.append(
                BookEntry(
                    pk=pk, book=book, contact_id=contact_id, seq=seq, deleted=True, changed_at=now
                )
            )
        BookEntry.objects.bulk_create(fresh, batch_size=1_000)
        _keep_versions(book, [e for e in fresh + changed if not e.deleted], texts)
        live = [e for e in changed if not e.deleted]
        BookEntry.objects.bulk_update(
            live, ["contact_id", "etag", "size", "seq", "deleted", "changed_at"], batch_size=1_000
        )
        BookEntry.objects.bulk_update(
            [e for e in changed if e.deleted], ["seq", "deleted", "changed_at"], batch_size=1_000
        )
        book.seq = seq
        book.refreshed_at = now
        fields = ["seq", "refreshed_at"]
        if scope is None:
            book.checked_at, book.stamp = now, stamp
            fields += ["checked_at", "stamp"]
        book.save(update_fields=fields)
    return Refreshed(book, len(fresh) + len(live), len(gone))


def _keep_versions(book: AddressBook, entries: list[BookEntry], texts: dict[int, str]) -> None:
    """Record the cards just given a seq (the base of a later merge), and forget the
    versions of those contacts that no device can still hold: older than the newest
    one at or below the seq the least advanced device synced to."""
    CardVersion.objects.bulk_create(
        [
            CardVersion(
                book=book, contact_id=e.contact_id, seq=e.seq, etag=e.etag,
                card=texts[e.contact_id],
            )
            for e in entries
            if e.contact_id in texts
        ],
        batch_size=1_000,
    )  # fmt: skip
    floor = Device.objects.filter(book=book).order_by("seq").values_list("seq", flat=True).first()
    if floor is None:
        floor = book.seq
    ids = [e.contact_id for e in entries]
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        older = CardVersion.objects.filter(book=book, contact_id__in=part, seq__lte=floor)
        newest: dict[int, int] = {}
        for contact_id, seq in older.values_list("contact_id", "seq"):
            newest[contact_id] = max(seq, newest.get(contact_id, 0))
        if newest:
            CardVersion.objects.filter(
                book=book, contact_id__in=list(newest), seq__lt=floor
            ).exclude(seq__in=set(newest.values())).delete()


def base_card(book: AddressBook, contact_id: int, device: Device | None) -> str | None:
    """The card of ``contact_id`` as ``device`` last saw it in ``book``: the newest
    version at or below the seq it synced to (None when unknown)."""
    if device is None:
        return None
    return (
        CardVersion.objects.filter(book=book, contact_id=contact_id, seq__lte=device.seq)
        .order_by("-seq")
        .values_list("card", flat=True)
        .first()
    )


# -- sync tokens ------------------------------------------------------------------------

TOKEN_BASE = "http://rapport.invalid/ns/sync/"


def sync_token(book: AddressBook, seq: int | None = None) -> str:
    return f"{TOKEN_BASE}{book.pk}/{book.epoch}/{book.seq if seq is None else seq}"


def ctag(book: AddressBook) -> str:
    return f"{book.epoch}-{book.seq}"


def token_seq(book: AddressBook, token: str) -> int | None:
    """The seq a client's token stands for in ``book``, or None when it is not one of
    this book's (another book's, from before a restore, malformed, from the future)."""
    if not token.startswith(TOKEN_BASE):
        return None
    parts = token[len(TOKEN_BASE) :].split("/")
    if len(parts) != 3 or parts[0] != str(book.pk) or parts[1] != book.epoch:
        return None
    if not re.fullmatch(r"[0-9]{1,18}", parts[2]) or int(parts[2]) > book.seq:
        return None
    return int(parts[2])
