"""Every write of segments and lists. UI, API and CLI call these and nothing else.

A segment's query is checked whole before it is saved: it must parse, every field and
value must be known and of the right type, and it may not refer to itself, directly or
through other segments. It is stored in its canonical text (``query.render``), so the
text and the visual builder always show the same tree.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from rapport.access.services import change_record
from rapport.contacts.models import Contact
from rapport.core import policy
from rapport.core.errors import Conflict, FieldError, InvalidInput, NotPermitted
from rapport.core.text import fold
from rapport.segments.models import ContactList, ListMember, Segment
from rapport.segments.query import QueryError, TreeError, from_json, render
from rapport.segments.query.compile import compile_tree
from rapport.segments.selectors import context_for, query_tree

logger = logging.getLogger(__name__)
MAX_NAME = 100
MAX_LIST_ADD = 100_000


def _may_change(actor: Any, obj: Segment | ContactList) -> None:
    policy.require(actor, "segments.change")
    if (
        not obj.shared
        and obj.owner_id != getattr(actor, "pk", None)
        and not policy.can(actor, "tags.manage")
    ):
        raise NotPermitted("Only its owner (or an admin) may change a private segment or list.")


def _name(errors: list[FieldError], data: Mapping[str, Any], current: Any) -> str:
    name = data.get("name", getattr(current, "name", ""))
    if not isinstance(name, str) or not name.strip():
        errors.append(FieldError("name", "A name is required."))
        return ""
    name = name.strip()
    if len(name) > MAX_NAME or len(fold(name)) > MAX_NAME:
        errors.append(FieldError("name", f"At most {MAX_NAME} characters."))
        return ""
    key = fold(name)
    taken = (
        Segment.objects.filter(name_key=key)
        .exclude(pk=current.pk if isinstance(current, Segment) else 0)
        .exists()
        or ContactList.objects.filter(name_key=key)
        .exclude(pk=current.pk if isinstance(current, ContactList) else 0)
        .exists()
    )
    if taken:
        errors.append(FieldError("name", f"A segment or list is already named “{name}”."))
    return name


def _query_text(errors: list[FieldError], data: Mapping[str, Any], actor: Any, name: str) -> str:
    """The canonical text of the query given as ``query`` (text) or ``tree`` (JSON)."""
    if data.get("tree") is not None:
        try:
            # through its text: a tree holds nothing the text could not say
            tree = query_tree(render(from_json(data["tree"], "tree")))
        except TreeError as exc:
            errors.append(FieldError("tree", str(exc)))
            return ""
        except InvalidInput as exc:
            errors.extend(FieldError("tree", e.message) for e in exc.errors)
            return ""
    else:
        text = data.get("query")
        if not isinstance(text, str):
            errors.append(FieldError("query", "A query is required (text, or a tree)."))
            return ""
        try:
            tree = query_tree(text)
        except InvalidInput as exc:
            errors.extend(exc.errors)
            return ""
    try:
        compile_tree(tree, context_for(actor, own_name=name))
    except QueryError as exc:
        errors.append(FieldError("query", str(exc)))
        return ""
    return render(tree)


def _flag(errors: list[FieldError], data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        errors.append(FieldError(key, "Must be true or false."))
        return default
    return value


def _text(errors: list[FieldError], data: Mapping[str, Any], key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        errors.append(FieldError(key, "Must be text."))
        return default
    return value.strip()[:2000]


@transaction.atomic
def segment_create(*, actor: Any, data: Mapping[str, Any], via: str = "ui") -> Segment:
    policy.require(actor, "segments.change")
    errors: list[FieldError] = []
    name = _name(errors, data, None)
    query = _query_text(errors, data, actor, name) if name else ""
    shared = _flag(errors, data, "shared", True)
    description = _text(errors, data, "description", "")
    if errors:
        raise InvalidInput(errors)
    segment = Segment.objects.create(
        name=name, name_key=fold(name), query=query, description=description, shared=shared,
        owner=actor if getattr(actor, "pk", None) else None,
    )  # fmt: skip
    _record(actor, segment, "create", {"query": [None, query]}, via)
    return segment


@transaction.atomic
def segment_update(
    *,
    actor: Any,
    segment: Segment,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    via: str = "ui",
) -> Segment:
    current = Segment.objects.select_for_update().filter(pk=segment.pk).first()
    if current is None:
        raise Conflict("This segment has been deleted.")
    _may_change(actor, current)
    if expected_version is not None and current.version != expected_version:
        raise Conflict("This segment was changed by someone else since you loaded it.")
    errors: list[FieldError] = []
    name = _name(errors, data, current)
    given = "query" in data or "tree" in data
    query = _query_text(errors, data, actor, name) if (given and name) else current.query
    if not given and name and fold(name) != current.name_key:
        _query_text(errors, {"query": current.query}, actor, name)  # renamed: still no loop
    shared = _flag(errors, data, "shared", current.shared)
    description = _text(errors, data, "description", current.description)
    if errors:
        raise InvalidInput(errors)
    if fold(name) != current.name_key:
        users = _referring(current.name)
        if users:
            raise InvalidInput.single(
                "name", f"Rename it in {', '.join(users)} first: they refer to “{current.name}”."
            )
    before = {"name": current.name, "query": current.query}
    Segment.objects.filter(pk=current.pk).update(
        name=name, name_key=fold(name), query=query, shared=shared, description=description,
        version=F("version") + 1,
    )  # fmt: skip
    current.refresh_from_db()
    changes = {
        k: [before[k], getattr(current, k)] for k in before if before[k] != getattr(current, k)
    }
    if changes:
        _record(actor, current, "update", changes, via)
    return current


def _referring(name: str) -> list[str]:
    """The segments whose query refers to ``name`` (``in:NAME``)."""
    from rapport.segments.query import Cond
    from rapport.segments.query.fields import tree_fields
    from rapport.segments.query.parse import parse

    key = fold(name)
    found = []
    for other_name, text in Segment.objects.values_list("name", "query"):
        try:
            leaves = tree_fields(parse(text))
        except QueryError:
            continue
        if any(
            isinstance(leaf, Cond) and leaf.field == "in" and fold(leaf.value) == key
            for leaf in leaves
        ):
            found.append(other_name)
    return found


@transaction.atomic
def segment_delete(
    *, actor: Any, segment: Segment, expected_version: int | None = None, via: str = "ui"
) -> None:
    """Delete a segment nobody else refers to. Raises Conflict when ``expected_version``
    (the version the caller saw) is not the current one."""
    current = Segment.objects.select_for_update().filter(pk=segment.pk).first()
    if current is None:
        raise Conflict("This segment has been deleted.")
    if expected_version is not None and current.version != expected_version:
        raise Conflict("This segment was changed by someone else since you loaded it.")
    _may_change(actor, segment)
    users = [n for n in _referring(segment.name) if fold(n) != segment.name_key]
    if users:
        raise InvalidInput.single(
            "segment", f"{', '.join(users)} refer to “{segment.name}”: change them first."
        )
    _record(actor, segment, "delete", {"query": [segment.query, None]}, via)
    segment.delete()


def _record(
    actor: Any, obj: Segment | ContactList, action: str, changes: dict[str, Any], via: str
) -> None:
    change_record(
        actor=actor,
        object_type="segment" if isinstance(obj, Segment) else "list",
        object_id=obj.pk,
        object_repr=obj.name,
        action=action,
        changes=changes,
        via=via,
    )


# -- lists ------------------------------------------------------------------------------------


@transaction.atomic
def list_create(*, actor: Any, data: Mapping[str, Any], via: str = "ui") -> ContactList:
    policy.require(actor, "segments.change")
    errors: list[FieldError] = []
    name = _name(errors, data, None)
    shared = _flag(errors, data, "shared", True)
    description = _text(errors, data, "description", "")
    if errors:
        raise InvalidInput(errors)
    found = ContactList.objects.create(
        name=name, name_key=fold(name), description=description, shared=shared,
        owner=actor if getattr(actor, "pk", None) else None,
    )  # fmt: skip
    _record(actor, found, "create", {}, via)
    return found


def _ids(contact_ids: Sequence[Any]) -> list[int]:
    if len(contact_ids) > MAX_LIST_ADD:
        raise InvalidInput.single("ids", f"At most {MAX_LIST_ADD:,} contacts at a time.")
    if not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in contact_ids
    ):
        raise InvalidInput.single("ids", "Contact ids are whole numbers.")
    return sorted(set(contact_ids))


@transaction.atomic
def list_add(
    *, actor: Any, contact_list: ContactList, contact_ids: Sequence[Any], via: str = "ui"
) -> int:
    """Add contacts (those that exist; those already in it stay); returns how many were added."""
    _may_change(actor, contact_list)
    ids = _ids(contact_ids)
    existing: set[int] = set()
    for start in range(0, len(ids), 5_000):
        chunk = ids[start : start + 5_000]
        existing |= set(Contact.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    missing = [i for i in ids if i not in existing]
    if missing:
        shown = ", ".join(str(i) for i in missing[:5])
        raise InvalidInput.single(
            "ids", f"No such contact: {shown}{'…' if len(missing) > 5 else ''}."
        )
    before = ListMember.objects.filter(list=contact_list).count()
    added_by = actor if getattr(actor, "pk", None) else None
    ListMember.objects.bulk_create(
        [ListMember(list=contact_list, contact_id=i, added_by=added_by) for i in ids],
        batch_size=2_000,
        ignore_conflicts=True,
    )
    added = ListMember.objects.filter(list=contact_list).count() - before
    if added:
        _record(actor, contact_list, "update", {"added": [None, added]}, via)
    return added


def list_add_matching(
    *, actor: Any, contact_list: ContactList, contacts: QuerySet[Contact], remove: bool = False,
    via: str = "ui",
) -> int:  # fmt: skip
    """Add (or take out) every contact of ``contacts`` — a search, a query, an import's
    contacts — at most MAX_LIST_ADD of them; refuses more, naming how to narrow."""
    ids = list(contacts.order_by("pk").values_list("pk", flat=True)[: MAX_LIST_ADD + 1])
    if len(ids) > MAX_LIST_ADD:
        raise InvalidInput.single(
            "ids", f"More than {MAX_LIST_ADD:,} contacts match; narrow the selection."
        )
    change = list_remove if remove else list_add
    return change(actor=actor, contact_list=contact_list, contact_ids=ids, via=via)


@transaction.atomic
def list_remove(
    *, actor: Any, contact_list: ContactList, contact_ids: Sequence[Any], via: str = "ui"
) -> int:
    _may_change(actor, contact_list)
    ids = _ids(contact_ids)
    removed = 0
    for start in range(0, len(ids), 5_000):
        removed += ListMember.objects.filter(
            list=contact_list, contact_id__in=ids[start : start + 5_000]
        ).delete()[0]
    if removed:
        _record(actor, contact_list, "update", {"removed": [None, removed]}, via)
    return removed


@transaction.atomic
def list_delete(*, actor: Any, contact_list: ContactList, via: str = "ui") -> None:
    _may_change(actor, contact_list)
    users = _referring(contact_list.name)
    if users:
        raise InvalidInput.single(
            "list", f"{', '.join(users)} refer to “{contact_list.name}”: change them first."
        )
    _record(actor, contact_list, "delete", {}, via)
    contact_list.delete()


# -- membership over time -----------------------------------------------------------------------

REFRESH_CHUNK = 5_000
# A segment whose query counts time (last_contacted:>90d, calls(last:30d)…) changes with the
# clock alone: every segment is recorded again at least this often.
REFRESH_EVERY = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class Refreshed:
    segment_id: int
    entered: int
    left: int
    count: int


def segment_refresh(*, segment_id: int) -> Refreshed | None:
    """Record who entered and who left the segment since the last time: a stay opens
    for each new member and closes for each one gone. One refresh at a time per segment
    (its row is locked). None when the segment is gone; a query that no longer runs
    (a tag deleted) records nothing and is logged."""
    from rapport.segments.models import SegmentMember
    from rapport.segments.query.parse import parse

    with transaction.atomic():
        segment = Segment.objects.select_for_update().filter(pk=segment_id).first()
        if segment is None:
            return None
        now = timezone.now()
        Segment.objects.filter(pk=segment.pk).update(stale=False)
        try:
            q = compile_tree(
                parse(segment.query), context_for(segment.owner, own_name=segment.name)
            )
        except QueryError as exc:
            logger.warning("Segment %s (%s) cannot run: %s", segment.pk, segment.name, exc)
            return Refreshed(segment.pk, 0, 0, segment.last_count or 0)
        current = set(
            Contact.objects.filter(q)
            .values_list("pk", flat=True)
            .iterator(chunk_size=REFRESH_CHUNK)
        )
        open_stays = dict(
            SegmentMember.objects.filter(segment=segment, left_at__isnull=True).values_list(
                "contact_id", "pk"
            )
        )
        entered = sorted(current - set(open_stays))
        left = [pk for contact_id, pk in open_stays.items() if contact_id not in current]
        SegmentMember.objects.bulk_create(
            [SegmentMember(segment=segment, contact_id=c, entered_at=now) for c in entered],
            batch_size=REFRESH_CHUNK,
        )
        for start in range(0, len(left), REFRESH_CHUNK):
            SegmentMember.objects.filter(pk__in=left[start : start + REFRESH_CHUNK]).update(
                left_at=now
            )
        Segment.objects.filter(pk=segment.pk).update(last_count=len(current), counted_at=now)
    if entered or left:
        logger.info(
            "Segment %s (%s): %s entered, %s left, %s members",
            segment.pk, segment.name, len(entered), len(left), len(current),
        )  # fmt: skip
    return Refreshed(segment.pk, len(entered), len(left), len(current))


def segments_due() -> list[int]:
    """The segments to record again: changed contacts since (stale), or not recorded
    for REFRESH_EVERY."""
    since = timezone.now() - REFRESH_EVERY
    due = (
        Segment.objects.filter(stale=True)
        | Segment.objects.filter(counted_at__isnull=True)
        | (Segment.objects.filter(counted_at__lt=since))
    )
    return list(due.values_list("pk", flat=True).distinct())


def segments_mark_stale(*_args: Any, **_kwargs: Any) -> None:
    """A contact changed (the contact services' hook): the segments are recorded again at
    the next duty. One UPDATE, which writes nothing when they are already marked."""
    Segment.objects.filter(stale=False).update(stale=True)


# -- acting on every member -----------------------------------------------------------------------

BULK_ACTIONS = ("tag", "untag", "set_owner", "set_stage", "add_to_list", "delete")


def _member_ids(actor: Any, segment: Segment) -> list[int]:
    from rapport.contacts.services.bulk import MAX_SELECTION
    from rapport.segments.selectors import query_matching

    ids = list(
        query_matching(actor, segment.query, own_name=segment.name)
        .order_by("pk")
        .values_list("pk", flat=True)[: MAX_SELECTION + 1]
    )
    if len(ids) > MAX_SELECTION:
        raise InvalidInput.single(
            "segment", f"It has more than {MAX_SELECTION:,} members: narrow it for a bulk action."
        )
    return ids


def segment_bulk_preview(*, actor: Any, segment: Segment, action: str) -> Any:
    """What a bulk action on every member would cover now (for a confirmation)."""
    from rapport.contacts.services import bulk

    if action not in BULK_ACTIONS:
        raise InvalidInput.single("action", f"Must be one of: {', '.join(BULK_ACTIONS)}.")
    ids = _member_ids(actor, segment)
    if not ids:
        raise InvalidInput.single("segment", "The segment has no members now.")
    spec_action = "tag" if action == "add_to_list" else action
    return bulk.bulk_preview(kind="contacts", actor=actor, action=spec_action, ids=ids)


def segment_bulk(
    *,
    actor: Any,
    segment: Segment,
    action: str,
    value: str = "",
    snapshot: str | None = None,
    via: str = "ui",
) -> Any:
    """Tag, untag, set the owner or stage of, delete (with the preview's ``snapshot``:
    exactly the members that were confirmed) or add to a list (``value``: its name)
    every member of the segment now, through the contacts' bulk actions. Returns the
    BulkJob, or the number added to the list."""
    from rapport.contacts.services import bulk

    if action not in BULK_ACTIONS:
        raise InvalidInput.single("action", f"Must be one of: {', '.join(BULK_ACTIONS)}.")
    ids = _member_ids(actor, segment)
    if not ids:
        raise InvalidInput.single("segment", "The segment has no members now.")
    if action == "add_to_list":
        target = ContactList.objects.filter(name_key=fold(value or "")).first()
        if target is None:
            raise InvalidInput.single("value", f"There is no list “{value}”.")
        return list_add(actor=actor, contact_list=target, contact_ids=ids, via=via)
    if action == "delete" and not snapshot:
        raise InvalidInput.single("snapshot", "Confirm the deletion first (preview it).")
    return bulk.bulk_start(
        kind="contacts", actor=actor, action=action, value=value, ids=ids, via=via,
        snapshot=snapshot,
    )  # fmt: skip
