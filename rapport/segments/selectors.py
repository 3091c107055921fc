"""Reading segments: who is in a query or a saved segment (exact counts, members a page
at a time), and why one contact is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from rapport.contacts.models import Contact, Email
from rapport.core import policy
from rapport.core.cursor import decode_cursor, encode_cursor
from rapport.core.errors import InvalidInput
from rapport.core.text import fold
from rapport.segments.models import ContactList, Segment
from rapport.segments.query import Node, QueryError, parse
from rapport.segments.query.compile import Explained, compile_tree, explain
from rapport.segments.query.fields import Context

MAX_PAGE = 200


def _seen_by(model: Any, actor: Any) -> QuerySet[Any]:
    """The rows of ``model`` (Segment or ContactList) ``actor`` may see: shared ones and
    their own."""
    return model.objects.filter(Q(shared=True) | Q(owner_id=getattr(actor, "pk", None)))


def _lookup_for(actor: Any) -> Any:
    """How ``in:NAME`` finds a segment (its query) or a list (its id) among those
    ``actor`` may see: another user's private ones do not exist for them."""

    def lookup(name: str) -> tuple[str, str] | None:
        key = fold(name)
        found = _seen_by(Segment, actor).filter(name_key=key).values_list("query", flat=True)
        if query := found.first():
            return "segment", query
        list_id = _seen_by(ContactList, actor).filter(name_key=key).values_list("pk", flat=True)
        return ("list", str(list_id.first())) if list_id.exists() else None

    return lookup


def context_for(actor: Any, *, own_name: str = "") -> Context:
    """What queries are compiled against now: the workspace's zone (TIME_ZONE), the
    actor (owner:me), saved segments and lists for ``in:``; ``own_name`` is the segment
    being saved, so a reference back to it is caught."""
    stack = (fold(own_name),) if own_name else ()
    return Context(
        now=timezone.now(),
        zone=ZoneInfo(settings.TIME_ZONE),
        actor=actor,
        segment_query=_lookup_for(actor),
        stack=stack,
    )


def query_tree(text: str) -> Node:
    """The tree of a query; InvalidInput on ``query`` naming the position otherwise."""
    try:
        return parse(text)
    except QueryError as exc:
        raise InvalidInput.single("query", str(exc)) from None


def query_matching(actor: Any, text: str, *, own_name: str = "") -> QuerySet[Contact]:
    """The contacts ``text`` selects. Raises NotPermitted, InvalidInput (``query``)."""
    policy.require(actor, "contacts.view")
    tree = query_tree(text)
    try:
        return Contact.objects.filter(compile_tree(tree, context_for(actor, own_name=own_name)))
    except QueryError as exc:
        raise InvalidInput.single("query", str(exc)) from None


def query_count(actor: Any, text: str) -> int:
    """The exact number of contacts ``text`` selects."""
    return query_matching(actor, text).count()


@dataclass(frozen=True)
class MembersPage:
    items: list[Contact]
    next_cursor: str | None


def query_members(
    actor: Any, text: str, *, cursor: str | None = None, limit: int = 50
) -> MembersPage:
    """The contacts ``text`` selects, by name, a page at a time (keyset cursor)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput.single("limit", f"Must be from 1 to {MAX_PAGE}.")
    members = query_matching(actor, text).order_by("sort_name", "pk")
    if cursor:
        sort_name, pk = decode_cursor(cursor, 2)
        if not isinstance(sort_name, str) or not isinstance(pk, int):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        members = members.filter(sort_name__gt=sort_name) | members.filter(
            sort_name=sort_name, pk__gt=pk
        )
        members = members.order_by("sort_name", "pk")
    page = list(members[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    next_cursor = encode_cursor([page[-1].sort_name, page[-1].pk]) if more and page else None
    return MembersPage(page, next_cursor)


def query_explain(actor: Any, text: str, contact_id: int) -> Explained:
    """Which clauses of ``text`` hold for one contact."""
    policy.require(actor, "contacts.view")
    if not Contact.objects.filter(pk=contact_id).exists():
        raise InvalidInput.single("contact", "No such contact.")
    tree = query_tree(text)
    try:
        return explain(tree, context_for(actor), contact_id)
    except QueryError as exc:
        raise InvalidInput.single("query", str(exc)) from None


def segments_visible(actor: Any) -> QuerySet[Segment]:
    """The segments ``actor`` may see: shared ones and their own."""
    policy.require(actor, "segments.view")
    return _seen_by(Segment, actor).order_by("name_key")


def lists_visible(actor: Any) -> QuerySet[ContactList]:
    policy.require(actor, "segments.view")
    return _seen_by(ContactList, actor).order_by("name_key")


@dataclass(frozen=True)
class Change:
    contact_id: int
    name: str
    what: str  # entered, left
    at: Any


def segment_changes(segment: Segment, *, since: Any, limit: int = 200) -> list[Change]:
    """Who entered and who left the segment since ``since`` (as recorded), newest first."""
    from rapport.segments.models import SegmentMember

    stays = SegmentMember.objects.filter(segment=segment)
    entered = stays.filter(entered_at__gte=since).order_by("-entered_at")[:limit]
    left = stays.filter(left_at__gte=since).order_by("-left_at")[:limit]
    rows = [(s.contact_id, "entered", s.entered_at) for s in entered]
    rows += [(s.contact_id, "left", s.left_at) for s in left if s.left_at is not None]
    names = dict(
        Contact.objects.filter(pk__in={r[0] for r in rows}).values_list("pk", "display_name")
    )
    rows.sort(key=lambda r: r[2], reverse=True)
    return [Change(c, names.get(c, f"#{c} (deleted)"), what, at) for c, what, at in rows[:limit]]


def members_out(contacts: list[Contact]) -> list[dict[str, Any]]:
    """Members as a list shows them: name, first email (the primary), stage, owner."""
    emails: dict[int, str] = {}
    for contact_id, address in (
        Email.objects.filter(contact_id__in=[c.pk for c in contacts])
        .order_by("contact_id", "-primary", "pk")
        .values_list("contact_id", "address")
    ):
        emails.setdefault(contact_id, address)
    return [
        {
            "id": c.pk,
            "name": c.display_name,
            "email": emails.get(c.pk),
            "stage": c.lifecycle_stage,
            "owner": c.owner.username if c.owner_id and c.owner else None,
        }
        for c in contacts
    ]


def import_contacts(actor: Any, batch_id: Any) -> QuerySet[Contact]:
    """The contacts an import created or changed (those that still exist)."""
    from rapport.ingest.models import ImportBatch, ImportChange

    policy.require(actor, "contacts.view")
    if isinstance(batch_id, bool) or not isinstance(batch_id, int) or not 0 < batch_id < 2**63:
        raise InvalidInput.single("import_batch", "Give the number of an import.")
    if not ImportBatch.objects.filter(pk=batch_id).exists():
        raise InvalidInput.single("import_batch", f"There is no import {batch_id}.")
    changed = ImportChange.objects.filter(batch_id=batch_id).values("contact_id")
    return Contact.objects.filter(pk__in=changed)


def recent_imports(limit: int = 20) -> list[Any]:
    from rapport.ingest.models import ImportBatch

    return list(ImportBatch.objects.order_by("-pk")[:limit])
