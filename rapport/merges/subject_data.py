"""The merges area's part in privacy requests (see ``rapport.core.subjects``).

A merge keeps whole copies of the records it merged (``Merge.snapshot``) so it can be
undone. The person's own merges (they survived them, or were merged away in them)
hold their earlier records: those merges go whole with an erasure, with the redirects
of merged-away ids and the external ids they retired, and the photos of merged-away
records kept for an undo. They can no longer be undone, which is the point.

Other merges may hold a row that names the person (a colleague's role reporting to
them, an organization merge with their role there): such rows are dropped from the
snapshot and their text is redacted, so undoing that merge restores everything else.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from rapport.contacts.models import Contact
from rapport.core.subjects import (
    Counts,
    DataCategory,
    Exported,
    Identity,
    Subject,
    SubjectProvider,
)
from rapport.merges.models import Kind, Merge, Redirect, RetiredExternalId

# Columns of snapshot rows that hold a contact's id.
_CONTACT_COLUMNS = ("contact_id", "contact_a_id", "contact_b_id", "reports_to_id")


def merged_into(contact_id: int) -> list[int]:
    """Every contact id merged into ``contact_id``, directly or along a chain."""
    found: list[int] = []
    frontier = [contact_id]
    while frontier:
        older = list(
            Redirect.objects.filter(kind=Kind.CONTACT, new_id__in=frontier)
            .exclude(old_id__in=[contact_id, *found])
            .values_list("old_id", flat=True)
        )
        found += older
        frontier = older
    return found


def _theirs(contact_ids: Sequence[int]) -> list[Merge]:
    ids = set(contact_ids)
    # an undone merge may have merged the person away into someone else
    found = Merge.objects.filter(
        Q(survivor_id__in=ids) | Q(undone_at__isnull=False), kind=Kind.CONTACT
    ).order_by("id")
    return [m for m in found if m.survivor_id in ids or ids & set(m.merged_ids)]


def identify(contact_ids: Sequence[int]) -> Identity:
    """What the person was known by in the records merged into them."""
    ids = set(contact_ids)
    emails: list[str] = []
    phones: list[str] = []
    names: list[str] = []
    external: list[tuple[str, str]] = []
    for merge in _theirs(contact_ids):
        for record in merge.snapshot.get("records", {}).values():
            names += [record.get("display_name", "")]
            parts = [record.get(k, "") for k in ("given_name", "middle_name", "family_name")]
            names.append(" ".join(p for p in parts if p))
        for rows in merge.snapshot.get("rows", {}).values():
            for row in rows:
                if row.get("contact_id") not in ids:
                    continue
                if row.get("address_key"):
                    emails.append(row["address_key"])
                if row.get("e164"):
                    phones.append(row["e164"])
                if "source" in row and "value" in row and row.get("value"):
                    external.append((row["source"], row["value"]))
        names += [str(n) for n in merge.names.values()]
    return Identity(tuple(emails), tuple(phones), tuple(n for n in names if n), tuple(external))


def _mentioning(subject: Subject, theirs: Sequence[Merge]) -> list[Merge]:
    """Other merges whose snapshot holds a row pointing at the person or text naming them.

    The database picks candidates by text (an address, a number, one of the ids after a
    colon); each is then checked in Python, so a version number that equals an id
    costs a look, not a change."""
    text = Cast("snapshot", output_field=TextField())
    wanted = Q()
    for value in (*subject.emails, *subject.phones):
        wanted |= Q(snapshot_text__icontains=value)
    for pk in subject.contact_ids:
        wanted |= Q(snapshot_text__contains=f": {pk},") | Q(snapshot_text__contains=f": {pk}}}")
    if not wanted:
        return []
    found = (
        Merge.objects.exclude(pk__in=[m.pk for m in theirs])
        .annotate(snapshot_text=text)
        .filter(wanted)
        .values_list("pk", flat=True)
    )
    candidates = Merge.objects.filter(pk__in=list(found)).order_by("id")
    ids = set(subject.contact_ids)
    return [m for m in candidates if _cleaned(m.snapshot, subject, ids) != m.snapshot]


def _cleaned(value: Any, subject: Subject, ids: set[int]) -> Any:
    """``value`` without rows pointing at the person, their identifiers redacted."""
    if isinstance(value, str):
        return subject.redact(value)
    if isinstance(value, list):
        return [
            _cleaned(item, subject, ids)
            for item in value
            if not (isinstance(item, dict) and any(item.get(c) in ids for c in _CONTACT_COLUMNS))
        ]
    if isinstance(value, dict):
        return {k: _cleaned(v, subject, ids) for k, v in value.items()}
    return value


def export(subject: Subject) -> Exported:
    theirs = _theirs(subject.contact_ids)
    return Exported(
        sections={
            "Merges of their records": [
                {
                    "merge": m.pk,
                    "at": m.at,
                    "by": m.actor.username if m.actor else "system",
                    "via": m.via,
                    "kept record": m.survivor_id,
                    "merged records": m.merged_ids,
                    "names then": m.names,
                    "undone at": m.undone_at,
                    "records before the merge": m.snapshot.get("records", {}),
                    "rows pointing at them before the merge": m.snapshot.get("rows", {}),
                }
                for m in theirs
            ],
            "Other merges that mention them": [
                {"merge": m.pk, "at": m.at, "kind": m.get_kind_display()}
                for m in _mentioning(subject, theirs)
            ],
        }
    )


def preview(subject: Subject) -> Counts:
    theirs = _theirs(subject.contact_ids)
    ids = [m.pk for m in theirs]
    return {
        "merges of their records": len(theirs),
        "redirects of merged-away ids": Redirect.objects.filter(merge_id__in=ids).count(),
        "retired external ids": RetiredExternalId.objects.filter(merge_id__in=ids).count(),
        "other merges mentioning them": len(_mentioning(subject, theirs)),
    }


def erase(subject: Subject) -> Counts:
    theirs = _theirs(subject.contact_ids)
    counts = preview(subject)
    ids = set(subject.contact_ids)
    storage = Contact._meta.get_field("photo").storage  # type: ignore[attr-defined]
    photos: set[str] = set()
    for merge in theirs:
        for pk, record in merge.snapshot.get("records", {}).items():
            if int(pk) != subject.contact_id and record.get("photo"):
                photos.add(str(record["photo"]))
        if merge.snapshot.get("photo_copy"):
            photos.add(str(merge.snapshot["photo_copy"]))
    # a photo a contact still shows stays (the person's own is the contacts provider's
    # to delete; someone split off by an undone merge keeps theirs)
    current = set(Contact.objects.filter(photo__in=photos).values_list("photo", flat=True))
    for name in photos - current:
        transaction.on_commit(functools.partial(storage.delete, name))
    counts["photos of merged-away records"] = len(photos - current)
    for merge in _mentioning(subject, theirs):
        Merge.objects.filter(pk=merge.pk).update(
            snapshot=_cleaned(merge.snapshot, subject, ids),
            names={k: subject.redact(str(v)) for k, v in merge.names.items()},
            undo_notes=[
                *merge.undo_notes,
                "Rows about a person erased since were left out of this merge's snapshot.",
            ],
        )
    Merge.objects.filter(pk__in=[m.pk for m in theirs]).delete()
    return counts


PROVIDER = SubjectProvider(
    name="merges",
    label="Merges",
    export=export,
    preview=preview,
    erase=erase,
    order=300,
    identify=identify,
    categories=(
        DataCategory(
            "Merge snapshots",
            "complete earlier copies of merged records and of the rows pointing at them",
            "merges_merge, merges_redirect, merges_retiredexternalid",
        ),
    ),
)
