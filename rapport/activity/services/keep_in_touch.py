"""Keep-in-touch cadences ("every 30 days") per contact or per tag, and the day by which
someone should reach out to each contact they cover (``Contact.reach_out_by``).

A contact covered by several cadences (its own and its tags') follows the shortest.
The day is counted from the last two-way interaction (``last_contacted_at``), else from
when the contact was created, on the server's calendar: the same rule as
``participants.contacts_refresh_activity``, which interaction writes call, so the two
never disagree. A cadence written here refreshes every contact it covers in bulk: a few
queries per 500 contacts and one UPDATE per distinct day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date

from rapport.activity.models import KeepInTouch
from rapport.contacts.models import Contact, Tag
from rapport.core import policy
from rapport.core.cursor import decode_cursor, encode_cursor
from rapport.core.errors import Conflict, FieldError, InvalidInput
from rapport.core.text import fold

MAX_DAYS = 3650
CHUNK = 500
_FIELDS = frozenset({"contact_id", "tag", "tag_id", "every_days"})


# -- reach out by ----------------------------------------------------------------------


def _tag_cadences() -> dict[int, int]:
    return dict(KeepInTouch.objects.filter(tag__isnull=False).values_list("tag_id", "every_days"))


def cadences_of(contact_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """The cadence each contact follows (shortest of its own and its tags') and where
    it comes from ("own" or "tag <name>"); contacts without one are left out."""
    found: dict[int, tuple[int, str]] = {}
    ids = list(contact_ids)
    tag_days = _tag_cadences()
    tag_names = (
        dict(Tag.objects.filter(pk__in=list(tag_days)).values_list("id", "name"))
        if tag_days
        else {}
    )
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for contact_id, days in KeepInTouch.objects.filter(contact_id__in=chunk).values_list(
            "contact_id", "every_days"
        ):
            found[contact_id] = (days, "own")
        if tag_days:
            links = Contact.tags.through.objects.filter(
                contact_id__in=chunk, tag_id__in=list(tag_days)
            ).values_list("contact_id", "tag_id")
            for contact_id, tag_id in links:
                days = tag_days[tag_id]
                if contact_id not in found or days < found[contact_id][0]:
                    found[contact_id] = (days, f"tag {tag_names.get(tag_id, tag_id)}")
    return found


def reach_out_refresh(contact_ids: Iterable[int]) -> int:
    """Recompute ``reach_out_by`` of the contacts in bulk; return how many changed."""
    ids = sorted(set(contact_ids))
    changed = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        cadence = cadences_of(chunk)
        by_day: dict[dt.date | None, list[int]] = defaultdict(list)
        for pk, last, created, current in Contact.objects.filter(pk__in=chunk).values_list(
            "id", "last_contacted_at", "created_at", "reach_out_by"
        ):
            days = cadence.get(pk)
            day = (
                timezone.localtime(last or created).date() + dt.timedelta(days=days[0])
                if days
                else None
            )
            if day != current:
                by_day[day].append(pk)
        for day, pks in by_day.items():
            changed += Contact.objects.filter(pk__in=pks).update(reach_out_by=day)
    return changed


def _covered(cadence: KeepInTouch) -> list[int]:
    if cadence.contact_id:
        return [cadence.contact_id]
    if cadence.tag_id is None:
        return []
    return list(
        Contact.tags.through.objects.filter(tag_id=cadence.tag_id).values_list(
            "contact_id", flat=True
        )
    )


def keep_in_touch_after_contacts_saved(contact_ids: Sequence[int]) -> None:
    """Contacts created or changed (their tags may be new): refresh their day when any
    tag carries a cadence. One cheap query when none does."""
    if KeepInTouch.objects.filter(tag__isnull=False).exists():
        reach_out_refresh(contact_ids)


# -- writes ----------------------------------------------------------------------------


@dataclass
class CadenceDraft:
    contact_id: int | None
    tag_id: int | None
    every_days: int


def _every_days(value: Any, errors: list[FieldError]) -> int:
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_DAYS:
        errors.append(FieldError("every_days", f"Give whole days from 1 to {MAX_DAYS:,}."))
        return 0
    return value


def keep_in_touch_validate(
    data: Mapping[str, Any], *, current: KeepInTouch | None = None
) -> CadenceDraft:
    """Check a cadence's input: a contact (``contact_id``) or a tag (``tag`` name or
    ``tag_id``), and ``every_days``. The target of an existing cadence cannot change."""
    errors: list[FieldError] = []
    for key in sorted(set(data) - _FIELDS):
        errors.append(FieldError(key, "Unknown field."))
    contact_id: int | None = current.contact_id if current else None
    tag_id: int | None = current.tag_id if current else None
    if current is None:
        raw_contact = data.get("contact_id")
        raw_tag = data.get("tag_id")
        tag_name = data.get("tag")
        if raw_contact not in (None, ""):
            if isinstance(raw_contact, str) and raw_contact.strip().isdecimal():
                raw_contact = int(raw_contact.strip())
            if (
                not isinstance(raw_contact, int)
                or isinstance(raw_contact, bool)
                or not 0 < raw_contact < 2**63
                or not Contact.objects.filter(pk=raw_contact).exists()
            ):
                errors.append(FieldError("contact_id", f"There is no contact {raw_contact}."))
            else:
                contact_id = raw_contact
        if raw_tag not in (None, ""):
            if isinstance(raw_tag, str) and raw_tag.strip().isdecimal():
                raw_tag = int(raw_tag.strip())
            if (
                not isinstance(raw_tag, int)
                or isinstance(raw_tag, bool)
                or not 0 < raw_tag < 2**63
                or not Tag.objects.filter(pk=raw_tag).exists()
            ):
                errors.append(FieldError("tag_id", f"There is no tag {raw_tag}."))
            else:
                tag_id = raw_tag
        elif tag_name not in (None, ""):
            if not isinstance(tag_name, str):
                errors.append(FieldError("tag", "Give a tag name."))
            else:
                tag = Tag.objects.filter(name_key=fold(tag_name.strip())[:60]).first()
                if tag is None:
                    errors.append(FieldError("tag", f"There is no tag {tag_name.strip()!r}."))
                else:
                    tag_id = tag.pk
        if contact_id and tag_id:
            errors.append(FieldError("contact_id", "Give a contact or a tag, not both."))
        elif (
            not contact_id
            and not tag_id
            and not any(e.path in ("contact_id", "tag", "tag_id") for e in errors)
        ):
            errors.append(FieldError("contact_id", "Give a contact or a tag."))
    elif {"contact_id", "tag", "tag_id"} & set(data):
        errors.append(FieldError("contact_id", "A cadence's contact or tag cannot change."))
    every = (
        _every_days(data.get("every_days"), errors)
        if current is None or "every_days" in data
        else current.every_days
    )
    if errors:
        raise InvalidInput(errors)
    return CadenceDraft(contact_id=contact_id, tag_id=tag_id, every_days=every)


@transaction.atomic
def keep_in_touch_set(*, actor: Any, data: Mapping[str, Any]) -> KeepInTouch:
    """Set the cadence of a contact or a tag, creating it or changing the one it has;
    every contact covered gets its reach-out day recomputed. Raises NotPermitted,
    InvalidInput."""
    policy.require(actor, "contacts.change")
    draft = keep_in_touch_validate(data)
    target = Q(contact_id=draft.contact_id) if draft.contact_id else Q(tag_id=draft.tag_id)
    cadence = KeepInTouch.objects.select_for_update().filter(target).first()
    if cadence is None:
        try:
            with transaction.atomic():
                cadence = KeepInTouch.objects.create(
                    contact_id=draft.contact_id,
                    tag_id=draft.tag_id,
                    every_days=draft.every_days,
                    created_by=actor if getattr(actor, "pk", None) else None,
                )
        except IntegrityError:
            cadence = KeepInTouch.objects.select_for_update().get(target)
    if cadence.every_days != draft.every_days:
        cadence.every_days = draft.every_days
        cadence.save(update_fields=["every_days"])
    reach_out_refresh(_covered(cadence))
    return cadence


@transaction.atomic
def keep_in_touch_update(
    *, actor: Any, cadence: KeepInTouch, data: Mapping[str, Any]
) -> KeepInTouch:
    """Change how often (``every_days``); the target stays. Raises Conflict when the
    cadence was removed meanwhile."""
    policy.require(actor, "contacts.change")
    current = KeepInTouch.objects.select_for_update().filter(pk=cadence.pk).first()
    if current is None:
        raise Conflict("This cadence has been removed.")
    draft = keep_in_touch_validate(data, current=current)
    if current.every_days != draft.every_days:
        current.every_days = draft.every_days
        current.save(update_fields=["every_days"])
        reach_out_refresh(_covered(current))
    return current


@transaction.atomic
def keep_in_touch_remove(*, actor: Any, cadence: KeepInTouch) -> int:
    """Remove a cadence; the contacts it covered lose their day (or follow another
    cadence that still covers them). Returns how many contacts changed."""
    policy.require(actor, "contacts.change")
    current = KeepInTouch.objects.select_for_update().filter(pk=cadence.pk).first()
    if current is None:
        return 0
    covered = _covered(current)
    current.delete()
    return reach_out_refresh(covered)


# -- reads -----------------------------------------------------------------------------


@dataclass
class DueRow:
    contact: Contact
    every_days: int | None
    cadence_from: str


@dataclass
class DuePage:
    rows: list[DueRow]
    next_cursor: str | None


def due_to_reach_out(
    *,
    actor: Any,
    today: dt.date | None = None,
    owner_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> DuePage:
    """Contacts whose reach-out day has come (``reach_out_by`` ≤ today), the longest
    waiting first, one keyset page at a time (on the reach_out_by index, never OFFSET)."""
    policy.require(actor, "contacts.view")
    if not 1 <= limit <= 200:
        raise InvalidInput.single("limit", "Must be between 1 and 200.")
    today = today or timezone.localdate()
    query = Contact.objects.filter(reach_out_by__lte=today)
    if owner_id:
        query = query.filter(owner_id=owner_id)
    if cursor:
        day_text, pk = decode_cursor(cursor, 2)
        day = parse_date(day_text) if isinstance(day_text, str) else None
        if day is None or not isinstance(pk, int):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        query = query.filter(Q(reach_out_by__gt=day) | Q(reach_out_by=day, pk__gt=pk))
    contacts = list(
        query.select_related("owner")
        .only(
            "id",
            "display_name",
            "reach_out_by",
            "last_contacted_at",
            "owner__username",
            "owner__first_name",
            "owner__last_name",
        )
        .order_by("reach_out_by", "id")[: limit + 1]
    )
    more = len(contacts) > limit
    contacts = contacts[:limit]
    cadence = cadences_of([c.pk for c in contacts])
    rows = [
        DueRow(c, cadence.get(c.pk, (None, ""))[0], cadence.get(c.pk, (None, ""))[1])
        for c in contacts
    ]
    last = contacts[-1] if contacts else None
    next_cursor = (
        encode_cursor([last.reach_out_by.isoformat(), last.pk])
        if more and last is not None and last.reach_out_by
        else None
    )
    return DuePage(rows=rows, next_cursor=next_cursor)


def keep_in_touch_list(
    *, actor: Any, cursor: str | None = None, limit: int = 50
) -> tuple[list[KeepInTouch], str | None]:
    """Every cadence, in the order they were made, one keyset page at a time."""
    policy.require(actor, "contacts.view")
    if not 1 <= limit <= 200:
        raise InvalidInput.single("limit", "Must be between 1 and 200.")
    query = KeepInTouch.objects.select_related("contact", "tag").order_by("id")
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        if not isinstance(after, int):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        query = query.filter(pk__gt=after)
    rows = list(query[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor([rows[-1].pk]) if more else None
