"""Merging contacts or organizations into one, and undoing a merge exactly.

A merge keeps one record (the survivor), takes each picked field's value from the
record chosen for it, moves everything that pointed at the other records onto the
survivor (duplicated values become one row), deletes the others and leaves a redirect
for each of their ids. The full before-state is stored on the ``Merge`` so
``merge_undo`` can put every record and row back, ids included (see docs/merge.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rapport.access.models import ChangeRecord
from rapport.access.services import change_record, diff
from rapport.contacts import normalize
from rapport.contacts.limits import MAX_ENTRIES
from rapport.contacts.models import (
    Address,
    Affiliation,
    Contact,
    Email,
    ExternalId,
    Organization,
    Phone,
    WebLink,
)
from rapport.contacts.services import contact_refresh_search, contact_snapshot
from rapport.contacts.services.organizations import (
    organization_refresh_search,
    organization_snapshot,
)
from rapport.core import hooks, policy
from rapport.core.errors import FieldError, InvalidInput
from rapport.duplicates import services as duplicates
from rapport.ingest.models import ImportBatch, ImportChange
from rapport.merges import fields as mf
from rapport.merges import rows as r
from rapport.merges.models import Merge, Redirect, RetiredExternalId
from rapport.quality.models import Suggestion

MAX_MERGED = 20
BOOKKEEPING = frozenset({"id", "created_at", "updated_at", "version"})
DERIVED = {
    mf.CONTACT: frozenset(
        {"display_name", "sort_name", "family_key", "search_doc"}
        | {"last_contacted_at", "next_step_at", "next_step", "reach_out_by"}
    ),
    mf.ORGANIZATION: frozenset({"sort_name", "search_doc"}),
}
_ROLE_FIELDS = ("title", "department", "buying_role", "start_date", "end_date", "reports_to_id")


def _model(kind: str) -> type[Contact] | type[Organization]:
    return Contact if kind == mf.CONTACT else Organization


def _noun(kind: str) -> str:
    return "contact" if kind == mf.CONTACT else "organization"


def _permission(kind: str) -> str:
    return "contacts.merge" if kind == mf.CONTACT else "organizations.merge"


def _record_name(kind: str, row: Mapping[str, Any]) -> str:
    return str(row["display_name"] if kind == mf.CONTACT else row["name"])


# -- checks ------------------------------------------------------------------------


def _check_ids(kind: str, survivor_id: Any, merged_ids: Any) -> tuple[int, list[int]]:
    """The survivor's and merged records' ids, or InvalidInput naming what is wrong."""
    errors: list[FieldError] = []
    noun = _noun(kind)
    survivor = survivor_id if isinstance(survivor_id, int) and survivor_id > 0 else None
    if survivor is None:
        errors.append(FieldError("survivor", f"Give the id of the {noun} to keep."))
    if not isinstance(merged_ids, Sequence) or isinstance(merged_ids, str) or not merged_ids:
        errors.append(FieldError("merged", f"Give at least one other {noun} to merge into it."))
        raise InvalidInput(errors)
    merged: list[int] = []
    for i, value in enumerate(merged_ids):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            errors.append(FieldError(f"merged[{i}]", "Must be a record id."))
        elif value == survivor:
            errors.append(FieldError(f"merged[{i}]", f"A {noun} cannot be merged into itself."))
        elif value in merged:
            errors.append(FieldError(f"merged[{i}]", f"{noun.title()} {value} is listed twice."))
        else:
            merged.append(value)
    if len(merged_ids) > MAX_MERGED:
        errors.append(FieldError("merged", f"At most {MAX_MERGED} records can be merged at once."))
    if errors:
        raise InvalidInput(errors)
    assert survivor is not None
    model = _model(kind)
    wanted = [survivor, *merged]
    found = set(
        model.objects.select_for_update()
        .filter(pk__in=wanted)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    redirects = {
        x.old_id: x for x in Redirect.objects.filter(kind=kind, old_id__in=set(wanted) - found)
    }
    paths = ["survivor", *(f"merged[{merged_ids.index(pk)}]" for pk in merged)]
    for path, pk in zip(paths, wanted, strict=True):
        if pk in found:
            continue
        if pk in redirects:
            gone = redirects[pk]
            errors.append(
                FieldError(
                    path,
                    f"{noun.title()} {pk} was already merged into {noun} {gone.new_id} "
                    f"(merge #{gone.merge_id}).",
                )
            )
        else:
            errors.append(FieldError(path, f"There is no {noun} with id {pk}."))
    if errors:
        raise InvalidInput(errors)
    return survivor, merged


def _check_choices(
    merge_fields: list[mf.MergeField], choices: Mapping[str, Any] | None, ids: list[int]
) -> dict[str, int]:
    if choices is None:
        return {}
    if not isinstance(choices, Mapping):
        raise InvalidInput.single("choices", "Must map field names to record ids.")
    known = {f.name for f in merge_fields}
    errors = []
    picked: dict[str, int] = {}
    for name, value in choices.items():
        path = f"choices.{name}"
        if name not in known:
            errors.append(
                FieldError(path, f"Not a field to choose; use one of: {', '.join(sorted(known))}.")
            )
        elif isinstance(value, bool) or not isinstance(value, int) or value not in ids:
            errors.append(FieldError(path, "Must be the id of one of the records merged."))
        else:
            picked[name] = value
    if errors:
        raise InvalidInput(errors)
    return picked


# -- merge ---------------------------------------------------------------------------


class _Merging:
    """The state of one merge while it is written."""

    def __init__(self, kind: str, survivor_id: int, merged_ids: list[int]) -> None:
        self.kind = kind
        self.model = _model(kind)
        self.survivor_id = survivor_id
        self.merged_ids = merged_ids
        self.all_ids = [survivor_id, *merged_ids]
        self.records = {row["id"]: row for row in r.read(self.model, pk__in=self.all_ids)}
        self.relations = r.relations(self.model)
        self.rows = {
            rel.name: r.read(rel.model, **{f"{rel.field}__in": self.all_ids})
            for rel in self.relations
        }
        self.moved: list[dict[str, Any]] = []
        self.removed: list[dict[str, Any]] = []
        self.changed: list[dict[str, Any]] = []
        self.retired: list[tuple[str, str, int]] = []

    def move(
        self,
        rel_name: str,
        model: Any,
        field: str,
        row: Mapping[str, Any],
        *,
        key: Any = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        pk = row[r.pk_name(model)]
        r.update(model, pk, {field: self.survivor_id, **(values or {})})
        entry = {"rel": rel_name, "id": pk, "from": row[field]}
        if key is not None:
            entry["key"] = r.key_text(key)
        self.moved.append(entry)

    def remove(self, rel_name: str, model: Any, row: Mapping[str, Any]) -> None:
        pk = row[r.pk_name(model)]
        model._default_manager.filter(pk=pk).delete()
        self.removed.append({"rel": rel_name, "id": pk})

    # Values such as emails: the survivor's stay; the others' join them unless held already.
    def move_values(self, rel: r.Relation) -> None:
        key = r.value_key(rel.model)
        assert key is not None
        rows = self.rows[rel.name]
        mine = [x for x in rows if x[rel.field] == self.survivor_id]
        keys = {key(x) for x in mine}
        sources = {x["source"] for x in mine} if rel.model is ExternalId else set()
        points = rel.model in r.POINTS
        has_primary = any(x.get("primary") for x in mine)
        position = max((x["position"] for x in mine), default=-1) + 1 if points else 0
        for merged_id in self.merged_ids:
            theirs = [x for x in rows if x[rel.field] == merged_id]
            if points:
                theirs.sort(key=lambda x: (x["position"], x["id"]))
            for row in theirs:
                k = key(row)
                if rel.model is ExternalId and row["source"] in sources:
                    self.retired.append((row["source"], row["value"], merged_id))
                    self.remove(rel.name, rel.model, row)
                    continue
                if k in keys:
                    self.remove(rel.name, rel.model, row)
                    continue
                values: dict[str, Any] = {}
                if points:
                    values = {
                        "position": position,
                        "primary": bool(row["primary"]) and not has_primary,
                    }
                    has_primary = has_primary or values["primary"]
                    position += 1
                self.move(rel.name, rel.model, rel.field, row, key=k, values=values)
                keys.add(k)
                if rel.model is ExternalId:
                    sources.add(row["source"])

    # Roles at the same place become one: the survivor's, its blanks filled from the other.
    def move_affiliations(self, rel: r.Relation) -> None:
        partner = "organization_id" if rel.field == "contact_id" else "contact_id"
        mine = r.read(Affiliation, **{rel.field: self.survivor_id})
        for merged_id in self.merged_ids:
            for row in r.read(Affiliation, **{rel.field: merged_id}):
                match = next(
                    (
                        x
                        for x in mine
                        if x[partner] == row[partner]
                        and (
                            (x["is_current"] and row["is_current"])
                            or all(
                                x[f] == row[f]
                                for f in (*_ROLE_FIELDS[:2], "start_date", "end_date", "is_current")
                            )
                        )
                    ),
                    None,
                )
                if match is None:
                    self.move(rel.name, Affiliation, rel.field, row)
                    mine.append({**row, rel.field: self.survivor_id})
                    continue
                fill = {
                    f: row[f]
                    for f in _ROLE_FIELDS
                    if mf.empty(match[f])
                    and not mf.empty(row[f])
                    and not (
                        f == "reports_to_id" and row[f] in (*self.all_ids, match["contact_id"])
                    )
                }
                self.remove(rel.name, Affiliation, row)
                if fill:
                    before = dict(match)
                    r.update(Affiliation, match["id"], fill)
                    Affiliation.objects.filter(pk=match["id"]).update(
                        version=F("version") + 1, updated_at=timezone.now()
                    )
                    match.update(fill)
                    after = r.read(Affiliation, pk=match["id"])[0]
                    self.changed.append(
                        {"rel": rel.name, "id": match["id"], "before": before, "after": after}
                    )

    # Anything else: re-pointed by id, unless a unique rule says the survivor has one already.
    def move_rows(self, rel: r.Relation) -> None:
        sets = r.unique_sets(rel.model, rel.field)
        taken: list[set[tuple[Any, ...]]] = []
        for columns in sets:
            others = [c for c in columns if c != rel.field]
            taken.append(
                {
                    tuple(x[c] for c in others)
                    for x in r.read(rel.model, **{rel.field: self.survivor_id})
                }
            )
        for row in r.read(rel.model, **{f"{rel.field}__in": self.merged_ids}):
            clash = False
            for columns, seen in zip(sets, taken, strict=True):
                if tuple(row[c] for c in columns if c != rel.field) in seen:
                    clash = True
            if clash:
                self.remove(rel.name, rel.model, row)
                continue
            self.move(rel.name, rel.model, rel.field, row)
            for columns, seen in zip(sets, taken, strict=True):
                seen.add(tuple(row[c] for c in columns if c != rel.field))

    def move_loose(self) -> None:
        """References that are not foreign keys: history, import records, suggestions."""
        noun = _noun(self.kind)
        history = list(
            ChangeRecord.objects.filter(object_type=noun, object_id__in=self.merged_ids)
            .order_by("id")
            .values_list("id", "object_id")
        )
        for pk, old in history:
            self.moved.append({"rel": "access.changerecord.object_id", "id": pk, "from": old})
        ChangeRecord.objects.filter(pk__in=[pk for pk, _ in history]).update(
            object_id=self.survivor_id
        )
        if self.kind == mf.CONTACT:
            changes = list(
                ImportChange.objects.filter(contact_id__in=self.merged_ids)
                .order_by("id")
                .values_list("id", "contact_id")
            )
            for pk, old in changes:
                self.moved.append({"rel": "ingest.importchange.contact_id", "id": pk, "from": old})
            ImportChange.objects.filter(pk__in=[pk for pk, _ in changes]).update(
                contact_id=self.survivor_id
            )
            return
        for batch_id, ids in ImportBatch.objects.exclude(created_organization_ids=[]).values_list(
            "id", "created_organization_ids"
        ):
            places = [i for i, pk in enumerate(ids) if pk in self.merged_ids]
            if places:
                self.moved.append(
                    {
                        "rel": "ingest.importbatch.created_organization_ids",
                        "id": batch_id,
                        "from": {str(i): ids[i] for i in places},
                    }
                )
                new = [self.survivor_id if i in places else pk for i, pk in enumerate(ids)]
                ImportBatch.objects.filter(pk=batch_id).update(created_organization_ids=new)
        for suggestion in Suggestion.objects.filter(
            field=Suggestion.Field.ORGANIZATION, payload__organization_id__in=self.merged_ids
        ):
            self.moved.append(
                {
                    "rel": "quality.suggestion.payload",
                    "id": suggestion.pk,
                    "from": suggestion.payload["organization_id"],
                }
            )
            payload = {**suggestion.payload, "organization_id": self.survivor_id}
            Suggestion.objects.filter(pk=suggestion.pk).update(payload=payload)


def _survivor_values(
    work: _Merging, merge_fields: list[mf.MergeField], picked: Mapping[str, int]
) -> tuple[dict[str, Any], dict[str, int]]:
    """The survivor's new column values (dumped form) and every field's chosen record."""
    rows = [work.records[pk] for pk in work.all_ids]
    ids = frozenset(work.all_ids)
    values: dict[str, Any] = {}
    custom = dict(work.records[work.survivor_id]["custom_fields"] or {})
    chosen: dict[str, int] = {}
    for merge_field in merge_fields:
        source = picked.get(merge_field.name)
        if source is None:
            source = mf.default_choice(
                merge_field, rows, survivor_id=work.survivor_id, ids=ids
            ).record_id
        chosen[merge_field.name] = source
        row = work.records[source]
        if merge_field.name.startswith(mf.CUSTOM):
            key = merge_field.name.removeprefix(mf.CUSTOM)
            if merge_field.is_empty(row):
                custom.pop(key, None)
            else:
                custom[key] = row["custom_fields"][key]
            continue
        for column in merge_field.columns:
            values[column] = row[column]
    values["custom_fields"] = custom
    if values.get("parent_id") in work.all_ids:
        # Part of a record merged into it means part of itself; the hierarchy check says so.
        values["parent_id"] = work.survivor_id
    if work.kind == mf.ORGANIZATION:
        domains = list(work.records[work.survivor_id]["domains"] or [])
        for pk in work.merged_ids:
            domains += [d for d in work.records[pk]["domains"] or [] if d not in domains]
        values["domains"] = domains
    return values, chosen


def _display_name(contact: Contact) -> str:
    """What contact_create would call the person: the name, else nickname, email, phone."""
    parts = normalize.NameParts(
        **{c: getattr(contact, c) for c in mf.NAME_COLUMNS}, nickname=contact.nickname
    )
    text = normalize.display_name(parts) or contact.nickname
    if not text:
        email = contact.emails.order_by("position", "id").values_list("address", flat=True).first()
        phone = contact.phones.order_by("position", "id").values_list("e164", flat=True).first()
        text = email or (normalize.phone_display(phone) if phone else "")
    return text[:300] or f"Contact {contact.pk}"


def _refresh_derived(kind: str, pk: int) -> None:
    """Recompute a record's derived columns with the contacts services' own helpers."""
    if kind == mf.CONTACT:
        contact = Contact.objects.get(pk=pk)
        contact.display_name = _display_name(contact)
        Contact.objects.filter(pk=pk).update(display_name=contact.display_name)
        contact_refresh_search(contact=contact)
    else:
        organization_refresh_search(org=Organization.objects.get(pk=pk))


def _history_picture(kind: str, pk: int) -> dict[str, Any]:
    if kind == mf.CONTACT:
        return contact_snapshot(Contact.objects.select_related("owner").get(pk=pk))
    return organization_snapshot(Organization.objects.select_related("owner", "parent").get(pk=pk))


# The lists a record holds at most MAX_ENTRIES of, as the edit form names them.
_LIMITED = {
    Email: ("emails", "emails"),
    Phone: ("phones", "phone numbers"),
    Address: ("addresses", "addresses"),
    WebLink: ("urls", "web links"),
    ExternalId: ("external_ids", "ids elsewhere"),
}


def _check_limits(work: _Merging) -> None:
    """Refuse a merge whose survivor would hold more of a list than an edit allows,
    so the merged record can still be edited."""
    errors = []
    for rel in work.relations:
        if rel.model not in _LIMITED:
            continue
        held = rel.model._default_manager.filter(**{rel.field: work.survivor_id}).count()
        if held > MAX_ENTRIES:
            path, noun = _LIMITED[rel.model]
            errors.append(
                FieldError(
                    path,
                    f"Together these records have {held} different {noun}; one record "
                    f"holds at most {MAX_ENTRIES}. Remove {held - MAX_ENTRIES} of them first, "
                    "then merge.",
                )
            )
    if errors:
        raise InvalidInput(errors)


def _check_reporting(work: _Merging) -> None:
    """Refuse a merge that makes someone report to themselves, directly or not."""
    orgs = set(
        Affiliation.objects.filter(contact_id=work.survivor_id, is_current=True).values_list(
            "organization_id", flat=True
        )
    )
    for org_id in sorted(orgs):
        lines = dict(
            Affiliation.objects.filter(organization_id=org_id, is_current=True)
            .exclude(reports_to=None)
            .values_list("contact_id", "reports_to_id")
        )
        start: int | None = work.survivor_id
        seen: list[int] = []
        while start is not None and start not in seen:
            seen.append(start)
            start = lines.get(start)
        if start is not None:
            names = dict(Contact.objects.filter(pk__in=seen).values_list("pk", "display_name"))
            org = Organization.objects.filter(pk=org_id).values_list("name", flat=True).first()
            loop = " → ".join(names.get(pk, f"#{pk}") for pk in [*seen[seen.index(start) :], start])
            raise InvalidInput.single(
                "merged",
                f"At {org}, merging these people would make a reporting loop ({loop}). "
                "Change who reports to whom first.",
            )


def _check_hierarchy(work: _Merging) -> None:
    """Refuse a merge that makes an organization part of itself."""
    seen: list[int] = []
    current: int | None = work.survivor_id
    while current is not None and current not in seen:
        seen.append(current)
        current = (
            Organization.objects.filter(pk=current).values_list("parent_id", flat=True).first()
        )
    if current is not None:
        names = dict(Organization.objects.filter(pk__in=seen).values_list("pk", "name"))
        loop = " → ".join(names.get(pk, f"#{pk}") for pk in [*seen[seen.index(current) :], current])
        raise InvalidInput.single(
            "choices.parent",
            f"Merging these would make an organization part of itself ({loop}). "
            "Choose another parent, or change the hierarchy first.",
        )


def _copy_photo(contact_id: int, name: str) -> str:
    """A copy of a merged contact's photo for the survivor, so either can change later."""
    field = Contact._meta.get_field("photo")
    storage = field.storage  # type: ignore[attr-defined]
    if not name or not storage.exists(name):
        return ""
    with storage.open(name, "rb") as source:
        data = source.read()
    file = Contact(pk=contact_id).photo
    file.save(f"{contact_id}-merged.jpg", ContentFile(data), save=False)
    return str(file.name)


def _merge(
    *,
    kind: str,
    actor: Any,
    survivor_id: Any,
    merged_ids: Any,
    choices: Mapping[str, Any] | None,
    via: str,
) -> Merge:
    policy.require(actor, _permission(kind))
    survivor, merged = _check_ids(kind, survivor_id, merged_ids)
    work = _Merging(kind, survivor, merged)
    merge_fields = mf.merge_fields(kind, list(work.records.values()))
    picked = _check_choices(merge_fields, choices, work.all_ids)
    history_before = _history_picture(kind, survivor)
    merged_pictures = {pk: _record_name(kind, work.records[pk]) for pk in merged}
    people: dict[str, Any] = {}
    if kind == mf.ORGANIZATION:
        people = {
            str(x["id"]): x
            for x in Contact.objects.filter(affiliations__organization_id__in=work.all_ids)
            .distinct()
            .values("id", "version", "search_doc", "sort_name", "family_key")
        }
    values, chosen = _survivor_values(work, merge_fields, picked)

    for rel in work.relations:
        if r.value_key(rel.model) is not None:
            work.move_values(rel)
    for rel in work.relations:
        if rel.model is Affiliation and rel.field in ("contact_id", "organization_id"):
            work.move_affiliations(rel)
    for rel in work.relations:
        if r.value_key(rel.model) is None and not (
            rel.model is Affiliation and rel.field in ("contact_id", "organization_id")
        ):
            work.move_rows(rel)
    work.move_loose()
    _check_limits(work)

    model = work.model
    photo_copy = ""
    if kind == mf.CONTACT and chosen.get("photo") not in (None, survivor) and values.get("photo"):
        photo_copy = _copy_photo(survivor, str(values["photo"]))
        values["photo"] = photo_copy
    version = int(work.records[survivor]["version"])
    if kind == mf.CONTACT:
        version = max(
            [
                version,
                *ImportChange.objects.filter(contact_id=survivor).values_list(
                    "version_after", flat=True
                ),
            ]
        )
    r.update(model, survivor, values)
    model.objects.filter(pk=survivor).update(version=version + 1, updated_at=timezone.now())
    model.objects.filter(pk__in=merged).delete()
    _refresh_derived(kind, survivor)
    if kind == mf.CONTACT:
        _check_reporting(work)
    else:
        _check_hierarchy(work)
        for person_id in people:
            contact_refresh_search(contact=Contact.objects.get(pk=int(person_id)))

    after_record = r.read(model, pk=survivor)[0]
    merge = Merge.objects.create(
        kind=kind,
        survivor_id=survivor,
        merged_ids=merged,
        actor=actor if getattr(actor, "pk", None) else None,
        via=via,
        choices=chosen,
        names={str(pk): _record_name(kind, work.records[pk]) for pk in work.all_ids},
        snapshot={
            "records": {str(pk): row for pk, row in work.records.items()},
            "rows": work.rows,
            "changed": work.changed,
            "people": people,
            "photo_copy": photo_copy,
            "after": {
                "record": after_record,
                "rows": {
                    rel.name: r.read(rel.model, **{rel.field: survivor})
                    for rel in work.relations
                    if r.value_key(rel.model) is not None
                },
            },
        },
        moved=work.moved,
        removed=work.removed,
    )
    Redirect.objects.bulk_create(
        [Redirect(kind=kind, old_id=pk, new_id=survivor, merge=merge) for pk in merged]
    )
    RetiredExternalId.objects.bulk_create(
        [
            RetiredExternalId(source=source, value=value, contact_id=pk, merge=merge)
            for source, value, pk in work.retired
        ]
    )
    noun = _noun(kind)
    survivor_name = _record_name(kind, after_record)
    change_record(
        actor=actor,
        object_type=noun,
        object_id=survivor,
        object_repr=survivor_name,
        action=ChangeRecord.Action.MERGE,
        changes={
            **diff(history_before, _history_picture(kind, survivor)),
            "merged": [None, [f"{name} (#{pk})" for pk, name in merged_pictures.items()]],
            "merge": [None, merge.pk],
        },
        via=via,
    )
    for pk, name in merged_pictures.items():
        change_record(
            actor=actor,
            object_type=noun,
            object_id=pk,
            object_repr=name,
            action=ChangeRecord.Action.MERGE,
            changes={
                "merged_into": [None, f"{survivor_name} (#{survivor})"],
                "merge": [None, merge.pk],
            },
            via=via,
        )
    if kind == mf.CONTACT:
        duplicates.duplicates_after_merge(survivor_id=survivor)
        hooks.contacts_merged(survivor, merged)
    else:
        duplicates.organizations_after_merge(survivor_id=survivor)
    return merge


@transaction.atomic
def contacts_merge(
    *,
    actor: Any,
    survivor_id: int,
    merged_ids: Sequence[int],
    choices: Mapping[str, int] | None = None,
    via: str = "ui",
) -> Merge:
    """Merge ``merged_ids`` into the contact ``survivor_id``; return the recorded merge.

    ``choices`` maps a field (``name``, ``job_title``, ``custom_fields.<key>`` … see
    ``fields.merge_fields``) to the id of the record whose value the survivor keeps;
    a field not chosen takes the most recently updated record's valid, non-blank value.
    Emails, phones, addresses, links, ids elsewhere and tags of all records are kept,
    each value once; roles, reporting lines, history, quality rows, suggestions,
    import records and every other row pointing at a merged contact move to the
    survivor. Raises NotPermitted, or InvalidInput (nothing changed) for fewer than
    two records, a record merged into itself, unknown or already merged-away ids, an
    unknown choice, or a merge that would make someone report to themselves.
    """
    return _merge(
        kind=mf.CONTACT,
        actor=actor,
        survivor_id=survivor_id,
        merged_ids=merged_ids,
        choices=choices,
        via=via,
    )


@transaction.atomic
def organizations_merge(
    *,
    actor: Any,
    survivor_id: int,
    merged_ids: Sequence[int],
    choices: Mapping[str, int] | None = None,
    via: str = "ui",
) -> Merge:
    """Merge ``merged_ids`` into the organization ``survivor_id``, as ``contacts_merge``.

    Domains, phones, addresses and tags are kept, each once; people's roles (one per
    person when both organizations employ them now), sub-organizations, history,
    import records and enrichment suggestions move to the survivor. Raises
    NotPermitted or InvalidInput, also when the merge would make an organization part
    of itself.
    """
    return _merge(
        kind=mf.ORGANIZATION,
        actor=actor,
        survivor_id=survivor_id,
        merged_ids=merged_ids,
        choices=choices,
        via=via,
    )
