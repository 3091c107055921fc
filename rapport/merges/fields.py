"""The fields a person picks when merging, how each is read, shown and judged valid.

Lists (emails, phones, addresses, links, ids elsewhere, tags, domains) are not picked:
every value of every record is kept, once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from rapport.access.models import User
from rapport.contacts import normalize
from rapport.contacts.models import Contact, CustomFieldDefinition, Organization
from rapport.contacts.services._common import custom_value

CONTACT = "contact"
ORGANIZATION = "organization"
KINDS = (CONTACT, ORGANIZATION)
CUSTOM = "custom_fields."
NAME_COLUMNS = ("prefix", "given_name", "middle_name", "family_name", "suffix")

Row = Mapping[str, Any]


def empty(value: Any) -> bool:
    return value in (None, "", [], {})


@dataclass(frozen=True)
class MergeField:
    """A field whose value comes from one chosen record.

    ``columns`` are the record's columns it covers (a name is its five parts together);
    a custom field is the key ``custom_fields.<key>`` of the JSON column.
    """

    name: str
    label: str
    columns: tuple[str, ...] = ()
    check: Callable[[Any], Any] | None = field(default=None, compare=False)
    definition: CustomFieldDefinition | None = field(default=None, compare=False)
    # where values have an order (a lifecycle), the furthest one wins over the newest
    rank: Callable[[Any], int] | None = field(default=None, compare=False)

    def value(self, row: Row) -> Any:
        if self.name.startswith(CUSTOM):
            return (row.get("custom_fields") or {}).get(self.name.removeprefix(CUSTOM))
        if len(self.columns) == 1:
            return row.get(self.columns[0])
        return tuple(row.get(c) or "" for c in self.columns)

    def is_empty(self, row: Row) -> bool:
        value = self.value(row)
        if isinstance(value, tuple):
            return not any(value)
        return empty(value)

    def is_valid(self, row: Row, *, ids: frozenset[int] = frozenset()) -> bool:
        """False when the value is one the services would refuse today."""
        value = self.value(row)
        if empty(value):
            return True
        if self.name == "parent":
            return int(value) not in ids and Organization.objects.filter(pk=value).exists()
        if self.definition is not None:
            try:
                custom_value(self.definition, value, region=settings.RAPPORT_DEFAULT_REGION)
            except ValueError:
                return False
            return True
        if self.check is None:
            return True
        try:
            return self.check(value) is not False
        except ValueError:
            return False


def _active_user(value: Any) -> bool:
    return User.objects.filter(pk=value, is_active=True).exists()


def _one_of(choices: list[str]) -> Callable[[Any], bool]:
    return lambda value: value in choices


# How far along a relationship each stage is: a merge never moves a contact backwards
# (a Prospect does not become a Lead because the Lead record was edited last). Stages
# of equal rank (a customer, a former customer, a partner) go to the newest.
LIFECYCLE_RANK = {
    Contact.Lifecycle.OTHER: 0,
    Contact.Lifecycle.LEAD: 1,
    Contact.Lifecycle.PROSPECT: 2,
    Contact.Lifecycle.CUSTOMER: 3,
    Contact.Lifecycle.FORMER_CUSTOMER: 3,
    Contact.Lifecycle.PARTNER: 3,
}


def _lifecycle_rank(value: Any) -> int:
    return LIFECYCLE_RANK.get(value, 0)


def _contact_fields() -> list[MergeField]:
    return [
        MergeField("name", "Name", NAME_COLUMNS),
        MergeField("nickname", "Nickname", ("nickname",)),
        MergeField("birthday", "Birthday", ("birthday",)),
        MergeField("job_title", "Job title", ("job_title",)),
        MergeField("time_zone", "Time zone", ("time_zone",), normalize.time_zone),
        MergeField("language", "Language", ("language",), normalize.language),
        MergeField(
            "lifecycle_stage",
            "Lifecycle stage",
            ("lifecycle_stage",),
            _one_of(Contact.Lifecycle.values),
            rank=_lifecycle_rank,
        ),
        MergeField("owner", "Owner", ("owner_id",), _active_user),
        MergeField("source", "Source", ("source",)),
        MergeField("photo", "Photo", ("photo",)),
        MergeField("notes", "Notes", ("notes",)),
    ]


def _organization_fields() -> list[MergeField]:
    return [
        MergeField("name", "Name", ("name",)),
        MergeField("legal_name", "Legal name", ("legal_name",)),
        MergeField("industry", "Industry", ("industry",)),
        MergeField("size_band", "Size", ("size_band",), _one_of(Organization.SizeBand.values)),
        MergeField("website", "Website", ("website",), normalize.url),
        MergeField("parent", "Part of", ("parent_id",)),
        MergeField("owner", "Owner", ("owner_id",), _active_user),
        MergeField("notes", "Notes", ("notes",)),
    ]


def merge_fields(kind: str, records: Sequence[Row]) -> list[MergeField]:
    """The fields of ``kind`` to pick, custom fields included (defined, or held by a record)."""
    base = _contact_fields() if kind == CONTACT else _organization_fields()
    definitions = {
        d.key: d
        for d in CustomFieldDefinition.objects.filter(target=kind).order_by("position", "label")
    }
    keys = list(definitions)
    for row in records:
        keys += [k for k in (row.get("custom_fields") or {}) if k not in keys]
    custom = [
        MergeField(
            f"{CUSTOM}{key}",
            definitions[key].label if key in definitions else key,
            ("custom_fields",),
            definition=definitions.get(key),
        )
        for key in keys
    ]
    return base + custom


def display(merge_field: MergeField, row: Row, names: Mapping[str, dict[int, str]]) -> str:
    """The value as a person reads it; ``names`` holds users' and organizations' names."""
    value = merge_field.value(row)
    if merge_field.name == "name" and isinstance(value, tuple | list):  # a person's parts
        parts = normalize.NameParts(*value)
        return normalize.display_name(parts)
    if empty(value):
        return ""
    if merge_field.name == "owner":
        return names["users"].get(int(value), f"user #{value}")
    if merge_field.name == "parent":
        return names["organizations"].get(int(value), f"organization #{value}")
    if merge_field.name == "birthday":
        return dt.date.fromisoformat(str(value)).strftime("%-d %B %Y")
    if merge_field.name == "lifecycle_stage":
        return str(Contact.Lifecycle(value).label) if value in Contact.Lifecycle.values else value
    if merge_field.name == "size_band":
        return (
            str(Organization.SizeBand(value).label)
            if value in Organization.SizeBand.values
            else value
        )
    if merge_field.name == "photo":
        return "Photo"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


@dataclass(frozen=True)
class Choice:
    """The record whose value a field takes by default, and why."""

    record_id: int
    reason: str


def default_choice(
    merge_field: MergeField, rows: Sequence[Row], *, survivor_id: int, ids: frozenset[int]
) -> Choice:
    """The most recently updated record with a valid value; a blank never wins.

    A field with a ``rank`` (the lifecycle stage) takes the furthest value instead, the
    newest among equals. Ties go to the survivor. ``rows`` are the records' columns
    (``id``, ``updated_at``).
    """
    values = {row["id"]: merge_field.value(row) for row in rows}
    filled = [row for row in rows if not merge_field.is_empty(row)]
    if not filled:
        return Choice(survivor_id, "All are empty.")
    if len({repr(values[row["id"]]) for row in rows}) == 1:
        return Choice(survivor_id, "All are the same.")
    valid = [row for row in filled if merge_field.is_valid(row, ids=ids)]
    pool = valid or filled
    rank = merge_field.rank
    if rank is not None and len({rank(merge_field.value(row)) for row in pool}) > 1:
        furthest = max(
            pool,
            key=lambda row: (
                rank(merge_field.value(row)),
                str(row["updated_at"]),
                row["id"] == survivor_id,
            ),
        )
        return Choice(int(furthest["id"]), "The furthest along; a merge never goes back.")
    newest = max(pool, key=lambda row: (str(row["updated_at"]), row["id"] == survivor_id))
    if len(filled) == 1:
        reason = "The only one with a value."
    elif len(valid) < len(filled) and valid:
        reason = "The others' values are not valid."
    else:
        reason = "The most recently updated."
    return Choice(int(newest["id"]), reason)
