"""Cards written by clients: PUT and DELETE, through the contact services.

Every change a phone makes is a change by its user through ``contact_create``,
``contact_update`` and ``contact_delete`` (validation, normalisation, suppression,
history "via CardDAV"), never a write of its own. ``card_put`` and ``card_delete`` take
the client's preconditions:

- ``If-None-Match: *`` (create only) and ``If-Match: "etag"`` (change only what the
  client saw) are checked against the card as it is served now, under a lock on the
  contact, so two writers cannot both pass the same check; a mismatch raises
  PreconditionFailed (412) and nothing changes.
- A change without If-Match is merged field by field against the card that device last
  saw (``books.base_card``): what only the device changed is applied, what only Rapport
  changed stays, and a field both changed differently keeps Rapport's value and is
  recorded as a ``SyncConflict`` for review.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from rapport.access.models import AppPassword
from rapport.contacts import services as contact_services
from rapport.contacts.models import Affiliation, Contact, Organization, Tag
from rapport.core import policy
from rapport.core.errors import InvalidInput, NotPermitted
from rapport.core.text import fold
from rapport.duplicates import services as duplicates
from rapport.ingest.records import drop_optional
from rapport.sync.models import AddressBook, BookEntry, ClientCard, Device, SyncConflict
from rapport.sync.services import books, cards
from rapport.sync.services.cards import CardRefused, Incoming

# What a vCard says about a person, and so what a PUT of a whole card replaces.
CARD_SCALARS = (
    "prefix", "given_name", "middle_name", "family_name", "suffix", "nickname",
    "birthday", "job_title", "notes",
)  # fmt: skip
CARD_LISTS = ("emails", "phones", "addresses", "urls")
NAME_PARTS = CARD_SCALARS[:5]
_KIND_PROPERTY = {"phones": ("TEL",), "addresses": ("ADR",), "urls": ("URL", "X-SOCIALPROFILE")}


class PreconditionFailed(Exception):
    """If-Match or If-None-Match does not hold (412)."""


@dataclass(frozen=True)
class Written:
    contact_id: int
    etag: str
    created: bool
    conflicts: int = 0
    queued: int = 0


def via_for(device: AppPassword | None) -> str:
    """The history's "via": ``carddav:<app password id>``, which the history shows as
    "via CardDAV (the device's name)"."""
    return f"carddav:{device.pk}" if device is not None else "carddav"


def _served(book: AddressBook, contact_id: int) -> tuple[str, bytes] | None:
    for _cid, _name, card in books.rendered([contact_id]):
        return books.etag_of(card), card
    return None


def _uid_holder(book: AddressBook, uid: str, name: str) -> BookEntry | None:
    """A live card of ``book`` other than ``name`` that has the UID ``uid``."""
    holders = set(ClientCard.objects.filter(uid=uid).values_list("contact_id", flat=True))
    entries = BookEntry.objects.filter(book=book, deleted=False).exclude(name=name)
    found = entries.filter(contact_id__in=holders).first() if holders else None
    if found is None and uid.lower().startswith("urn:uuid:"):
        found = entries.filter(name=uid[9:].lower() + ".vcf").first()
    return found


def _tags_of(categories: list[str]) -> tuple[list[str], list[str]]:
    """The tags a card's categories name (as Rapport spells them), and the categories
    that name none."""
    wanted = {fold(c.strip()): c.strip() for c in categories if c.strip()}
    known = dict(Tag.objects.filter(name_key__in=list(wanted)).values_list("name_key", "name"))
    return [known[k] for k in wanted if k in known], [
        c for k, c in wanted.items() if k not in known
    ]


def _split_categories(incoming: Incoming, book: AddressBook) -> list[str]:
    """Tags for the categories that name one; the others stay with the card. A card in
    a tag's book keeps that tag (it is what puts the card in the book)."""
    tags, unknown = _tags_of(incoming.categories)
    cards.keep_categories(incoming, unknown)
    known = {fold(t) for t in tags}
    if book.tag_id is not None and book.tag is not None and fold(book.tag.name) not in known:
        tags.append(book.tag.name)
    return tags


class QuotaExceeded(Exception):
    """The book has no room for the card (507)."""


def _check_room(book: AddressBook, incoming: Incoming, entry: BookEntry | None) -> None:
    limit = settings.RAPPORT_CARDDAV_MAX_CARDS
    if (
        entry is None
        and limit
        and BookEntry.objects.filter(book=book, deleted=False).count() >= limit
    ):
        raise QuotaExceeded(f"The book is full: it may hold {limit:,} cards on devices.")
    grows = len(incoming.text.encode()) - (entry.size if entry else 0)
    if grows > 0 and books.quota_used(book) + grows > settings.RAPPORT_CARDDAV_QUOTA_BYTES:
        raise QuotaExceeded("The book has no room left for this card.")


def _full(data: Mapping[str, Any]) -> dict[str, Any]:
    """The card's data as a replacement of everything a vCard says about a person."""
    out: dict[str, Any] = {}
    parsed = data.get("full_name") and not any(data.get(p) for p in NAME_PARTS)
    for name in CARD_SCALARS:
        if not (parsed and name in NAME_PARTS):
            out[name] = None
    out.update({name: [] for name in CARD_LISTS})
    out.update(data)
    return out


def _saved(
    incoming: Incoming, attempt: Callable[[dict[str, Any]], Contact], data: dict[str, Any]
) -> Contact:
    """``attempt(data)``; values the services refuse that a person can be kept without
    (a number, an address, a link, a date) are left out and kept verbatim on the card,
    as an import would; any other refusal refuses the card, naming the field."""
    for tries_left in (2, 1, 0):
        try:
            return attempt(data)
        except InvalidInput as exc:
            dropped = _dropped(data, exc.errors) if tries_left else None
            if dropped is None:
                raise CardRefused("valid-address-data", _explain(exc)) from None
            cards.keep_refused(incoming, dropped)
            incoming.notes += [f"{e.label}: {e.message}" for e in exc.errors]
    raise AssertionError("unreachable")


def _dropped(
    data: dict[str, Any], errors: Sequence[Any]
) -> list[tuple[tuple[str, ...], str]] | None:
    from rapport.ingest.records import RowRecord

    record = RowRecord(data=data)
    values: list[tuple[tuple[str, ...], str]] = []
    for error in errors:
        found = re.match(r"^(phones|addresses|urls)\[(\d+)\]", error.path)
        if found:
            item = (data.get(found.group(1)) or [{}])[int(found.group(2))]
            text = item.get("number") or item.get("url") or item.get("street") or ""
            values.append((_KIND_PROPERTY[found.group(1)], str(text)))
        elif error.path == "birthday":
            values.append((("BDAY",), ""))
    if not drop_optional(record, errors):
        return None
    return values


def _explain(exc: InvalidInput) -> str:
    return "The card was not saved: " + "; ".join(f"{e.label}: {e.message}" for e in exc.errors)


def _organization(actor: Any, name: str, via: str) -> Organization | None:
    found = list(Organization.objects.filter(name__iexact=name)[:2])
    if len(found) == 1:
        return found[0]
    if found:
        return None  # several of that name: not guessed
    try:
        return contact_services.organization_create(actor=actor, data={"name": name}, via=via)
    except (InvalidInput, NotPermitted):
        return None


def _affiliate(actor: Any, contact: Contact, incoming: Incoming, via: str) -> None:
    """The card's ORG as the contact's current affiliation (a new organization is made
    when none has that name). A card without ORG leaves affiliations alone."""
    record = incoming.record
    if not record.organization_name:
        return
    org = _organization(actor, record.organization_name, via)
    if org is None:
        return
    current = Affiliation.objects.filter(contact=contact, is_current=True).select_related(
        "organization"
    )
    same = next((a for a in current if a.organization_id == org.pk), None)
    try:
        if same is None:
            for other in current:
                contact_services.affiliation_update(
                    actor=actor, affiliation=other, data={"is_current": False}, via=via
                )
            contact_services.affiliation_create(
                actor=actor,
                data={
                    "contact": contact.pk,
                    "organization": org.pk,
                    "title": record.title or record.data.get("job_title") or "",
                    "department": record.department,
                },
                via=via,
            )
        elif (record.department or "") != (same.department or ""):
            contact_services.affiliation_update(
                actor=actor, affiliation=same, data={"department": record.department}, via=via
            )
    except (InvalidInput, NotPermitted):
        return


def _photo(actor: Any, contact: Contact, incoming: Incoming, via: str) -> None:
    if not incoming.photo:
        return
    head, _, data = incoming.photo.partition(",")
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        incoming.notes.append("The photo could not be read.")
        return
    try:
        contact_services.contact_photo_set(
            actor=actor, contact=contact, upload=io.BytesIO(raw), via=via
        )
    except InvalidInput as exc:
        incoming.notes.append(_explain(exc))
        for line in incoming.lines:
            if line.upper().startswith("PHOTO") and line not in incoming.residual:
                incoming.residual.append(line)


def _unfolded(card: bytes) -> str:
    return re.sub(r"\r?\n[ \t]", "", card.decode(errors="replace"))


def _unfolded_photo(uri: str) -> str:
    return uri.partition(",")[2][:4096]


def _remember(contact_id: int, name: str, incoming: Incoming, *, verbatim: bool) -> None:
    own = _served_plain(contact_id)
    ClientCard.objects.update_or_create(
        contact_id=contact_id,
        defaults={
            "uid": incoming.uid[:255],
            "name": name,
            "version": incoming.version,
            "body": incoming.text.replace("\r\n", "\n").replace("\n", "\r\n"),
            "residual": "\n".join(incoming.residual),
            "fingerprint": cards.fingerprint(own) if (verbatim and own is not None) else "",
        },
    )


def _served_plain(contact_id: int) -> bytes | None:
    from rapport.ingest.exporters import _source
    from rapport.ingest.exporters.vcard import cards_by_contact

    for rows in _source.chunks([contact_id]):
        for _cid, card in cards_by_contact(rows, "3.0"):
            return card
    return None


def _entry(book: AddressBook, name: str) -> BookEntry | None:
    return BookEntry.objects.filter(book=book, name=name, deleted=False).first()


def card_put(
    *,
    actor: Any,
    device: AppPassword | None,
    book: AddressBook,
    name: str,
    body: bytes,
    content_type: str = "",
    if_match: Sequence[str] | None = None,
    if_none_match: Sequence[str] | None = None,
) -> Written:
    """Create or change the card ``name`` of ``book`` from a client's ``body``.

    Raises CardRefused (403 with its precondition, nothing saved), PreconditionFailed
    (412), NotPermitted. ``if_match``/``if_none_match`` are the header's entity tags
    without quotes ("*" for any)."""
    policy.require(actor, "contacts.view")
    if books.read_only(book):
        raise NotPermitted("A segment's book is read-only: its members follow its query.")
    incoming = cards.read(body, content_type)
    via = via_for(device)
    with transaction.atomic():
        # one write at a time per book: two creates at one href cannot both pass
        # If-None-Match, two cards cannot take one UID
        AddressBook.objects.select_for_update().filter(pk=book.pk).first()
        entry = _entry(book, name)
        if entry is not None:
            # the contact's row locked: a second writer waits, then sees this one's etag
            Contact.objects.select_for_update().filter(pk=entry.contact_id).first()
        served = _served(book, entry.contact_id) if entry is not None else None
        if entry is not None and served is None:
            entry = None  # deleted since the last refresh
        etag = served[0] if served else None
        if (
            if_none_match is not None
            and etag is not None
            and ("*" in if_none_match or etag in if_none_match)
        ):
            raise PreconditionFailed("A card already exists at this address.")
        if if_match is not None and (
            etag is None or ("*" not in if_match and etag not in if_match)
        ):
            raise PreconditionFailed(
                "The card changed since you last read it." if etag else "There is no card here."
            )
        # a client with no right to change contacts changes nothing, not even the
        # lines only it keeps
        policy.require(actor, "contacts.add" if entry is None else "contacts.change")
        holder = _uid_holder(book, incoming.uid, name)
        if holder is not None:
            raise CardRefused(
                "no-uid-conflict",
                f"Another card of this book, {holder.name}, has the UID “{incoming.uid}”.",
                holder=holder.name,
            )
        _check_room(book, incoming, entry)
        tags = _split_categories(incoming, book)
        if entry is None:
            written = _create(actor, book, name, incoming, tags, via)
        else:
            assert served is not None
            written = _update(
                actor, device, book, entry, served[1], incoming, tags, via,
                merge=if_match is None,
            )  # fmt: skip
    books.book_note(book, [written.contact_id])
    found = _entry(book, name)
    etag_now = found.etag if found else (_served(book, written.contact_id) or ("", b""))[0]
    return Written(written.contact_id, etag_now, written.created, written.conflicts, written.queued)


def _create(
    actor: Any, book: AddressBook, name: str, incoming: Incoming, tags: list[str], via: str
) -> Written:
    data = incoming.data()
    if tags:
        data["tags"] = tags

    def attempt(values: dict[str, Any]) -> Contact:
        with transaction.atomic():
            return contact_services.contact_create(actor=actor, data=values, via=via)

    contact = _saved(incoming, attempt, data)
    if book.contact_list_id is not None:  # a card made in a list's book joins the list
        from rapport.segments.services import list_add

        assert book.contact_list is not None
        list_add(actor=actor, contact_list=book.contact_list, contact_ids=[contact.pk], via=via)
    _affiliate(actor, contact, incoming, via)
    _photo(actor, contact, incoming, via)
    _remember(contact.pk, name, incoming, verbatim=True)
    queued = duplicates.contact_queue_likely(
        contact_id=contact.pk, origin=f"CardDAV: new card in {book.name}"
    )
    return Written(contact.pk, "", True, 0, queued)


def _update(
    actor: Any,
    device: AppPassword | None,
    book: AddressBook,
    entry: BookEntry,
    current_card: bytes,
    incoming: Incoming,
    tags: list[str],
    via: str,
    *,
    merge: bool,
) -> Written:
    contact = Contact.objects.get(pk=entry.contact_id)
    data = incoming.data()
    data["tags"] = tags
    conflicts: list[SyncConflict] = []
    if merge:
        seen = Device.objects.filter(app_password=device, book=book).first() if device else None
        base_text = books.base_card(book, contact.pk, seen)
        data, conflicts = _merged(book, contact, device, base_text, current_card, data)
    else:
        data = _full(data)

    def attempt(values: dict[str, Any]) -> Contact:
        with transaction.atomic():
            return contact_services.contact_update(
                actor=actor, contact=contact, data=values, partial=True, via=via
            )

    updated = _saved(incoming, attempt, data) if data else contact
    _affiliate(actor, updated, incoming, via)
    if incoming.photo and _unfolded_photo(incoming.photo) not in _unfolded(current_card):
        _photo(actor, updated, incoming, via)
    SyncConflict.objects.bulk_create(conflicts)
    # A merged change leaves Rapport's values beside the device's: the device is then
    # served Rapport's card, not its own.
    _remember(updated.pk, entry.name, incoming, verbatim=not merge)
    return Written(updated.pk, "", False, len(conflicts), 0)


# -- merging a change sent without If-Match ------------------------------------------------


def _key(kind: str, item: Mapping[str, Any]) -> str:
    if kind == "emails":
        return str(item.get("address", "")).strip().casefold()
    if kind == "phones":
        digits = re.sub(r"\D", "", str(item.get("number", "")))
        return digits[-9:]
    if kind == "urls":
        return str(item.get("url", "")).strip().casefold().rstrip("/")
    if kind == "tags":
        return str(item).casefold()
    parts = ("street", "locality", "postcode")
    return "|".join(str(item.get(p, "")).strip().casefold() for p in parts)


def _norm(kind: str, item: Any) -> Any:
    """An item as compared for a change: its values, folded, the number by its digits."""
    if not isinstance(item, dict):
        return str(item).casefold()
    values = {k: str(v).strip().casefold() for k, v in item.items() if v not in (None, "", False)}
    if kind == "phones" and "number" in values:
        values["number"] = re.sub(r"\D", "", values["number"])[-9:]
    return sorted(values.items())


def _card_data(text: str | bytes) -> dict[str, Any]:
    raw = text.encode() if isinstance(text, str) else text
    try:
        parsed = cards.read(raw)
    except CardRefused:
        return {}
    data = _full(parsed.data())
    data["tags"] = _tags_of(parsed.categories)[0]
    return data


def _merged(
    book: AddressBook,
    contact: Contact,
    device: AppPassword | None,
    base_text: str | None,
    current_card: bytes,
    client: dict[str, Any],
) -> tuple[dict[str, Any], list[SyncConflict]]:
    """The fields to change, merged against the device's last view (see the module's
    docstring), and the conflicts found."""
    server = _card_data(current_card)
    base = _card_data(base_text) if base_text else server
    client = _full(client)
    out: dict[str, Any] = {}
    conflicts: list[SyncConflict] = []
    for name in CARD_SCALARS:
        b, c, s = base.get(name) or None, client.get(name) or None, server.get(name) or None
        if c in (b, s):
            continue
        if s == b:
            out[name] = c
            continue
        conflicts.append(_conflict(book, contact, device, name, b, s, c))
    for kind in (*CARD_LISTS, "tags"):
        b_items = {_key(kind, i): i for i in base.get(kind) or []}
        c_items = {_key(kind, i): i for i in client.get(kind) or []}
        s_items = {_key(kind, i): i for i in server.get(kind) or []}
        added = [c_items[k] for k in c_items if k not in b_items and k not in s_items]
        removed = {k for k in b_items if k not in c_items}
        # an item the device changed in place (another country, another label)
        edited = {
            k for k in c_items
            if k in b_items and k in s_items and _norm(kind, c_items[k]) != _norm(kind, b_items[k])
        }  # fmt: skip
        replaced: dict[str, Any] = {}
        for k in edited:
            if _norm(kind, s_items[k]) == _norm(kind, b_items[k]):
                replaced[k] = c_items[k]
            elif _norm(kind, s_items[k]) != _norm(kind, c_items[k]):
                conflicts.append(
                    _conflict(book, contact, device, kind, b_items[k], s_items[k], c_items[k])
                )
        if not added and not replaced and not (removed & set(s_items)):
            continue
        result = [replaced.get(k, i) for k, i in s_items.items() if k not in removed] + added
        out[kind] = result
    return out, conflicts


def _conflict(
    book: AddressBook,
    contact: Contact,
    device: AppPassword | None,
    field: str,
    base: Any,
    server: Any,
    client: Any,
) -> SyncConflict:
    return SyncConflict(
        book=book,
        contact_id=contact.pk,
        contact_name=contact.display_name[:300],
        device=(device.name or f"app password {device.prefix}")[:100] if device else "",
        field=field,
        base_value=_plain(base),
        server_value=_plain(server),
        client_value=_plain(client),
    )


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


# -- deleting -------------------------------------------------------------------------------


def card_delete(
    *,
    actor: Any,
    device: AppPassword | None,
    book: AddressBook,
    name: str,
    if_match: Sequence[str] | None = None,
) -> bool:
    """Delete the contact behind card ``name`` through the contact services (its
    history stays). Returns False when there is no such card; raises
    PreconditionFailed, NotPermitted."""
    if books.read_only(book):
        raise NotPermitted("A segment's book is read-only: its members follow its query.")
    policy.require(actor, "contacts.delete" if book.is_default else "contacts.change")
    with transaction.atomic():
        entry = _entry(book, name)
        if entry is None:
            return False
        contact = Contact.objects.select_for_update().filter(pk=entry.contact_id).first()
        served = _served(book, entry.contact_id) if contact else None
        if contact is None or served is None:
            return False
        if if_match is not None and "*" not in if_match and served[0] not in if_match:
            raise PreconditionFailed("The card changed since you last read it.")
        if book.is_default:
            contact_services.contact_delete(actor=actor, contact=contact, via=via_for(device))
        elif book.contact_list_id is not None:  # out of the list's book: out of the list
            from rapport.segments.services import list_remove

            assert book.contact_list is not None
            list_remove(
                actor=actor, contact_list=book.contact_list, contact_ids=[contact.pk],
                via=via_for(device),
            )  # fmt: skip
        else:  # out of the tag's book: the contact loses the tag, and stays
            kept = [t.name for t in contact.tags.all() if t.pk != book.tag_id]
            contact_services.contact_update(
                actor=actor, contact=contact, data={"tags": kept}, via=via_for(device)
            )
    books.book_note(book, [entry.contact_id])
    return True


# -- devices and conflicts --------------------------------------------------------------------


def device_saw(device: AppPassword | None, book: AddressBook, seq: int, user_agent: str) -> None:
    """Note that ``device`` synced ``book`` up to ``seq``."""
    if device is None:
        return
    Device.objects.update_or_create(
        app_password=device,
        book=book,
        defaults={"seq": seq, "synced_at": timezone.now(), "user_agent": user_agent[:200]},
    )


def conflict_resolve(*, actor: Any, conflict: SyncConflict, take: bool) -> SyncConflict:
    """Keep Rapport's value, or take the device's (through the contact services)."""
    with transaction.atomic():
        locked = SyncConflict.objects.select_for_update().get(pk=conflict.pk)
        if locked.resolution:
            return locked
        if take:
            contact = Contact.objects.filter(pk=locked.contact_id).first()
            if contact is None:
                raise InvalidInput.single("contact", "The contact no longer exists.")
            value = locked.client_value
            if locked.field in CARD_LISTS:  # the one item that clashed, the others kept
                current = contact_services.contact_values(contact)[locked.field]
                key = _key(locked.field, locked.server_value or {})
                value = [
                    locked.client_value if _key(locked.field, item) == key else item
                    for item in current
                ]
            contact_services.contact_update(
                actor=actor, contact=contact, data={locked.field: value}, partial=True, via="ui",
            )  # fmt: skip
        locked.resolution = SyncConflict.Resolution.TAKEN if take else SyncConflict.Resolution.KEPT
        locked.resolved_at = timezone.now()
        locked.resolved_by = actor
        locked.save(update_fields=["resolution", "resolved_at", "resolved_by"])
    return locked
