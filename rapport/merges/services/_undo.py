"""Undoing a merge: the merged records come back as they were, ids included.

What was edited on the survivor after the merge is not lost (docs/merge.md, "Unmerge"):
a row that came from a merged record goes back to it with its later edits; a value
removed after the merge stays removed; a field of the survivor edited after the merge
keeps its new value; anything added to the survivor after the merge stays on it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rapport.access.models import ChangeRecord
from rapport.access.services import change_record, diff
from rapport.contacts.models import Contact, ExternalId
from rapport.contacts.services import contact_refresh_search
from rapport.core import hooks, policy
from rapport.core.errors import FieldError, InvalidInput
from rapport.duplicates import services as duplicates
from rapport.ingest.models import ImportBatch, ImportChange
from rapport.merges import fields as mf
from rapport.merges import rows as r
from rapport.merges.models import Merge, Redirect, RetiredExternalId
from rapport.merges.services._merge import (
    BOOKKEEPING,
    DERIVED,
    _history_picture,
    _model,
    _noun,
    _permission,
    _record_name,
    _refresh_derived,
)
from rapport.quality.models import Suggestion

_LOOSE = {
    "access.changerecord.object_id": (ChangeRecord, "object_id"),
    "ingest.importchange.contact_id": (ImportChange, "contact_id"),
}


def _same(a: dict[str, Any], b: dict[str, Any], *, ignore: frozenset[str] = BOOKKEEPING) -> bool:
    return all(a.get(c) == b.get(c) for c in set(a) | set(b) if c not in ignore)


class _Undoing:
    """The state of one unmerge while it is written."""

    def __init__(self, merge: Merge) -> None:
        self.merge = merge
        self.kind = merge.kind
        self.model = _model(merge.kind)
        self.survivor_id = merge.survivor_id
        self.merged_ids = [int(pk) for pk in merge.merged_ids]
        self.snapshot = merge.snapshot
        self.relations = {rel.name: rel for rel in r.relations(self.model)}
        self.changed: set[int] = set()  # merged records not restored exactly as they were
        self.notes: list[str] = []

    def rows_of(self, rel_name: str, owner: int) -> list[dict[str, Any]]:
        rel = self.relations[rel_name]
        return [x for x in self.snapshot["rows"].get(rel_name, []) if x[rel.field] == owner]

    def restore_values(self, rel: r.Relation) -> None:
        """Emails, phones, tags…: found again by value, so a row re-created by an edit counts."""
        key = r.value_key(rel.model)
        assert key is not None
        field = rel.field
        points = rel.model in r.POINTS
        pre_mine = self.rows_of(rel.name, self.survivor_id)
        pre_ids = {x["id"] for x in pre_mine}
        pre_keys = {key(x) for x in pre_mine}
        moved = {e["id"] for e in self.merge.moved if e["rel"] == rel.name}
        removed = {e["id"] for e in self.merge.removed if e["rel"] == rel.name}
        now = r.read(rel.model, **{field: self.survivor_id})
        now_keys = {key(x) for x in now}
        claimed: set[int] = set()
        for merged_id in self.merged_ids:
            for row in self.rows_of(rel.name, merged_id):
                k = key(row)
                if row["id"] in moved:
                    target = next((x for x in now if x["id"] == row["id"]), None)
                    if target is None and k not in pre_keys:
                        target = next(
                            (
                                x
                                for x in now
                                if key(x) == k and x["id"] not in claimed | pre_ids | moved
                            ),
                            None,
                        )
                    if target is None:
                        self.changed.add(merged_id)
                        self.notes.append(
                            f"{_describe(rel, row)} was removed from #{self.survivor_id} after "
                            f"the merge; #{merged_id} does not get it back."
                        )
                        continue
                    claimed.add(target["id"])
                    restored = {**target, field: merged_id, "id": row["id"]}
                    if points:
                        restored.update(primary=row["primary"], position=row["position"])
                    if not _same(restored, row, ignore=frozenset()):
                        self.changed.add(merged_id)
                    if target["id"] == row["id"]:
                        r.update(
                            rel.model, row["id"], {c: v for c, v in restored.items() if c != "id"}
                        )
                    else:
                        rel.model._default_manager.filter(pk=target["id"]).delete()
                        r.insert(rel.model, [restored])
                elif row["id"] in removed:
                    if rel.model is ExternalId or k in now_keys:
                        r.insert(rel.model, [row])
                    else:
                        self.changed.add(merged_id)
                        self.notes.append(
                            f"{_describe(rel, row)} was removed from #{self.survivor_id} after "
                            f"the merge; #{merged_id} does not get it back."
                        )
        if points:
            left = rel.model._default_manager.filter(**{field: self.survivor_id}).order_by(
                "position", "id"
            )
            if left.exists() and not left.filter(primary=True).exists():
                first = left.first()
                assert first is not None
                rel.model._default_manager.filter(pk=first.pk).update(primary=True)

    def restore_rows(self) -> None:
        """Rows moved by id go back; rows removed as duplicates come back from the snapshot."""
        for entry in self.merge.moved:
            rel = self.relations.get(entry["rel"])
            if rel is None or r.value_key(rel.model) is not None:
                continue
            manager = rel.model._default_manager
            pk_is_link = r.pk_name(rel.model) == rel.field
            where = {"pk": self.survivor_id} if pk_is_link else {"pk": entry["id"]}
            updated = manager.filter(**where, **{rel.field: self.survivor_id}).update(
                **{rel.field: entry["from"]}
            )
            if not updated and not pk_is_link and not manager.filter(pk=entry["id"]).exists():
                self.notes.append(
                    f"A {rel.model._meta.verbose_name} (#{entry['id']}) moved by the merge "
                    "was deleted since; it stays deleted."
                )
                if entry["from"] in self.merged_ids:
                    self.changed.add(int(entry["from"]))
        for change in self.snapshot.get("changed", []):
            rel = self.relations[change["rel"]]
            current = r.read(rel.model, pk=change["id"])
            if current and _same(current[0], change["after"]):
                values = {c: v for c, v in change["before"].items() if c not in BOOKKEEPING}
                r.update(rel.model, change["id"], values)
                rel.model._default_manager.filter(pk=change["id"]).update(
                    version=F("version") + 1, updated_at=timezone.now()
                )
            elif current:
                self.notes.append(
                    f"The {rel.model._meta.verbose_name} #{change['id']} was edited after the "
                    "merge; kept as it is."
                )
        for entry in self.merge.removed:
            rel = self.relations.get(entry["rel"])
            if rel is None or r.value_key(rel.model) is not None:
                continue
            pk = r.pk_name(rel.model)
            row = next(
                (x for x in self.snapshot["rows"][entry["rel"]] if x[pk] == entry["id"]), None
            )
            if row is not None and not rel.model._default_manager.filter(pk=row[pk]).exists():
                r.insert(rel.model, [row])

    def restore_loose(self) -> None:
        for entry in self.merge.moved:
            name = entry["rel"]
            if name in _LOOSE:
                model, field = _LOOSE[name]
                model._default_manager.filter(pk=entry["id"], **{field: self.survivor_id}).update(
                    **{field: entry["from"]}
                )
            elif name == "ingest.importbatch.created_organization_ids":
                batch = ImportBatch.objects.filter(pk=entry["id"]).first()
                if batch is None:
                    continue
                ids = list(batch.created_organization_ids)
                for place, old in entry["from"].items():
                    i = int(place)
                    if i < len(ids) and ids[i] == self.survivor_id:
                        ids[i] = old
                ImportBatch.objects.filter(pk=batch.pk).update(created_organization_ids=ids)
            elif name == "quality.suggestion.payload":
                suggestion = Suggestion.objects.filter(pk=entry["id"]).first()
                if suggestion and suggestion.payload.get("organization_id") == self.survivor_id:
                    payload = {**suggestion.payload, "organization_id": entry["from"]}
                    Suggestion.objects.filter(pk=suggestion.pk).update(payload=payload)

    def restore_survivor(self) -> bool:
        """Fields unchanged since the merge get their old values; True when all did."""
        pre = self.snapshot["records"][str(self.survivor_id)]
        after = self.snapshot["after"]["record"]
        current = r.read(self.model, pk=self.survivor_id)[0]
        skip = BOOKKEEPING | DERIVED[self.kind]
        values: dict[str, Any] = {}
        kept: list[str] = []
        for column in r.columns(self.model):
            if column in skip:
                continue
            if column == "custom_fields":
                values[column], edited = _restore_map(pre[column], after[column], current[column])
                kept += [f"custom_fields.{k}" for k in edited]
            elif column == "domains":
                brought = [d for d in after[column] if d not in pre[column]]
                if current[column] == after[column]:
                    values[column] = pre[column]
                else:
                    values[column] = [d for d in current[column] if d not in brought]
                    kept.append(column)
            elif current[column] == after[column]:
                values[column] = pre[column]
            else:
                values[column] = current[column]
                kept.append(column)
        r.update(self.model, self.survivor_id, values)
        self.model._default_manager.filter(pk=self.survivor_id).update(
            version=F("version") + 1, updated_at=timezone.now()
        )
        copy = self.snapshot.get("photo_copy")
        if copy and values.get("photo") != copy:
            storage = Contact._meta.get_field("photo").storage  # type: ignore[attr-defined]
            transaction.on_commit(lambda: storage.delete(copy))
        for column in kept:
            self.notes.append(
                f"{column.replace('_', ' ').capitalize()} of #{self.survivor_id} was edited "
                "after the merge; the new value is kept."
            )
        return not kept

    def survivor_rows_as_before(self) -> bool:
        for name, rel in self.relations.items():
            now = r.read(rel.model, **{rel.field: self.survivor_id})
            before = self.rows_of(name, self.survivor_id)
            if len(now) != len(before):
                return False
            ignore = BOOKKEEPING - {"id"}
            if not all(_same(a, b, ignore=ignore) for a, b in zip(now, before, strict=True)):
                return False
        return True


def _restore_map(
    pre: dict[str, Any], after: dict[str, Any], current: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """A JSON object key by key: unchanged since the merge → as before; edited → kept."""
    result: dict[str, Any] = {}
    edited = []
    for key in dict.fromkeys([*pre, *after, *current]):
        if current.get(key) == after.get(key):
            if key in pre:
                result[key] = pre[key]
        else:
            edited.append(key)
            if key in current:
                result[key] = current[key]
    return result, edited


def _describe(rel: r.Relation, row: dict[str, Any]) -> str:
    for column in ("address", "number", "url", "street", "locality", "value"):
        if row.get(column):
            return f"{str(rel.model._meta.verbose_name).capitalize()} {row[column]}"
    return f"A {rel.model._meta.verbose_name}"


@transaction.atomic
def merge_undo(*, actor: Any, merge_id: int, via: str = "ui") -> Merge:
    """Split a merge: re-create the merged records with their ids and values, move back
    what came from them, and give the survivor back its own values.

    Edits made after the merge are kept (docs/merge.md): a field of the survivor edited
    since keeps its new value, a row from a merged record goes back with its edits, a
    value removed since stays removed, and what was added to the survivor stays on it;
    each is listed in ``undo_notes``. Raises NotPermitted, or InvalidInput for an
    unknown or already undone merge, a survivor merged again later (undo that one
    first) or deleted since, or an id elsewhere now held by another contact.
    """
    merge = Merge.objects.select_for_update().filter(pk=merge_id).first()
    if merge is None:
        raise InvalidInput.single("merge", f"There is no merge #{merge_id}.")
    policy.require(actor, _permission(merge.kind))
    if merge.undone_at is not None:
        raise InvalidInput.single(
            "merge", f"Merge #{merge.pk} was already undone on {merge.undone_at:%Y-%m-%d %H:%M}."
        )
    work = _Undoing(merge)
    noun = _noun(merge.kind)
    later = Redirect.objects.filter(kind=merge.kind, old_id=merge.survivor_id).first()
    if later is not None:
        raise InvalidInput.single(
            "merge",
            f"{noun.title()} {merge.survivor_id} was merged into {noun} {later.new_id} later "
            f"(merge #{later.merge_id}); undo merge #{later.merge_id} first.",
        )
    if not work.model._default_manager.select_for_update().filter(pk=merge.survivor_id).exists():
        raise InvalidInput.single(
            "merge",
            f"The {noun} this merge kept (#{merge.survivor_id}) has been deleted since; "
            "there is nothing to split.",
        )
    errors = []
    for retired in RetiredExternalId.objects.filter(merge=merge):
        holder = (
            ExternalId.objects.filter(source=retired.source, value=retired.value)
            .values_list("contact_id", flat=True)
            .first()
        )
        if holder is not None:
            errors.append(
                FieldError(
                    "merge",
                    f"{retired.source} id {retired.value} of contact {retired.contact_id} now "
                    f"belongs to contact {holder}; remove it there first.",
                )
            )
    if errors:
        raise InvalidInput(errors)

    history_before = _history_picture(merge.kind, merge.survivor_id)
    r.insert(work.model, [merge.snapshot["records"][str(pk)] for pk in work.merged_ids])
    Redirect.objects.filter(merge=merge).delete()
    RetiredExternalId.objects.filter(merge=merge).delete()
    for rel in work.relations.values():
        if r.value_key(rel.model) is not None:
            work.restore_values(rel)
    work.restore_rows()
    work.restore_loose()
    exact = work.restore_survivor() and work.survivor_rows_as_before()
    pre = merge.snapshot["records"][str(merge.survivor_id)]
    if exact:
        r.update(work.model, merge.survivor_id, {c: pre[c] for c in DERIVED[merge.kind]})
    else:
        _refresh_derived(merge.kind, merge.survivor_id)
    for pk in sorted(work.changed):
        _refresh_derived(merge.kind, pk)
        work.model._default_manager.filter(pk=pk).update(
            version=F("version") + 1, updated_at=timezone.now()
        )
    for pk, before in merge.snapshot.get("people", {}).items():
        person = Contact.objects.filter(pk=int(pk)).first()
        if person is None:
            continue
        if exact and not work.changed and person.version == before["version"]:
            Contact.objects.filter(pk=person.pk).update(
                search_doc=before["search_doc"],
                sort_name=before["sort_name"],
                family_key=before["family_key"],
            )
        else:
            contact_refresh_search(contact=person)

    survivor_name = _record_name(merge.kind, r.read(work.model, pk=merge.survivor_id)[0])
    names = {pk: _record_name(merge.kind, r.read(work.model, pk=pk)[0]) for pk in work.merged_ids}
    change_record(
        actor=actor,
        object_type=noun,
        object_id=merge.survivor_id,
        object_repr=survivor_name,
        action=ChangeRecord.Action.UNMERGE,
        changes={
            **diff(history_before, _history_picture(merge.kind, merge.survivor_id)),
            "merged": [[f"{name} (#{pk})" for pk, name in names.items()], None],
            "merge": [merge.pk, None],
        },
        via=via,
    )
    for pk, name in names.items():
        change_record(
            actor=actor,
            object_type=noun,
            object_id=pk,
            object_repr=name,
            action=ChangeRecord.Action.UNMERGE,
            changes={
                "merged_into": [f"{survivor_name} (#{merge.survivor_id})", None],
                "merge": [merge.pk, None],
            },
            via=via,
        )
    if merge.kind == mf.CONTACT:
        duplicates.duplicates_after_unmerge(contact_ids=[merge.survivor_id, *work.merged_ids])
        hooks.contacts_unmerged(merge.survivor_id, work.merged_ids)
    else:
        duplicates.organization_keys_refresh(organization_ids=[merge.survivor_id, *work.merged_ids])
    Merge.objects.filter(pk=merge.pk).update(
        undone_at=timezone.now(),
        undone_by=actor if getattr(actor, "pk", None) else None,
        undo_notes=work.notes,
    )
    merge.refresh_from_db()
    return merge
