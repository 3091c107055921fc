"""The columns of the contact and organization lists, and each user's choice of them.

A column is a key: a built-in one ("email", "stage"…) or ``custom.<key>`` for a
custom field of the list's records. The name column is always shown first and is
not a choice. A user's choice is remembered per list (ListColumns); without one,
the list shows ``DEFAULTS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rapport.contacts.models import CustomFieldDefinition, ListColumns
from rapport.core import listing, policy
from rapport.core.errors import InvalidInput

LISTS = {
    "contacts": (CustomFieldDefinition.Target.CONTACT, "contacts.view"),
    "organizations": (CustomFieldDefinition.Target.ORGANIZATION, "organizations.view"),
}

BUILT_IN: dict[str, list[tuple[str, str]]] = {
    "contacts": [
        ("email", "Email"),
        ("phone", "Phone"),
        ("organization", "Organization"),
        ("job_title", "Job title"),
        ("stage", "Stage"),
        ("tags", "Tags"),
        ("owner", "Owner"),
        ("location", "Location"),
        ("source", "Source"),
        ("created", "Created"),
        ("updated", "Updated"),
        ("last_contacted", "Last contacted"),
        ("next_step", "Next step"),
    ],
    "organizations": [
        ("industry", "Industry"),
        ("size", "Size"),
        ("location", "Location"),
        ("parent", "Parent"),
        ("tags", "Tags"),
        ("owner", "Owner"),
        ("website", "Website"),
        ("created", "Created"),
        ("updated", "Updated"),
    ],
}

DEFAULTS = {
    "contacts": ["email", "phone", "organization", "stage", "tags", "owner"],
    "organizations": ["industry", "size", "location", "parent", "tags"],
}


@dataclass(frozen=True)
class Column:
    """One column a list can show; ``definition`` is set for a custom field,
    ``extension`` for a column another area added (``core.listing``)."""

    key: str
    label: str
    definition: CustomFieldDefinition | None = None
    extension: listing.ListColumn | None = None

    @property
    def custom_key(self) -> str:
        return self.definition.key if self.definition is not None else ""


def _check_list(list_name: str) -> None:
    if list_name not in LISTS:
        raise InvalidInput.single("list", f"Must be one of: {', '.join(LISTS)}.")


def columns_available(*, actor: Any, list_name: str) -> list[Column]:
    """Every column the list can show: the built-in ones, those other areas added, then
    custom fields in their order."""
    _check_list(list_name)
    target, permission = LISTS[list_name]
    policy.require(actor, permission)
    found = [Column(key, label) for key, label in BUILT_IN[list_name]]
    found += [Column(c.key, c.label, extension=c) for c in listing.columns_for(list_name)]
    definitions = CustomFieldDefinition.objects.filter(target=target).order_by("position", "label")
    found += [Column(f"custom.{d.key}", d.label, d) for d in definitions]
    return found


def columns_chosen(*, actor: Any, list_name: str) -> list[Column]:
    """The columns ``actor`` shows on the list, in order (the defaults until they choose).

    A chosen custom field that was deleted since is left out.
    """
    available = {c.key: c for c in columns_available(actor=actor, list_name=list_name)}
    keys: Sequence[str] = DEFAULTS[list_name]
    if getattr(actor, "pk", None):
        saved = ListColumns.objects.filter(user=actor, list_name=list_name).first()
        if saved is not None and isinstance(saved.columns, list):
            keys = saved.columns
    return [available[key] for key in keys if key in available]


def columns_choose(*, actor: Any, list_name: str, keys: Sequence[str]) -> list[Column]:
    """Remember which columns ``actor`` shows on the list, in this order; returns them.

    An empty choice goes back to the defaults. Raises InvalidInput naming a column
    that does not exist, NotPermitted when the actor may not read the list.
    """
    available = {c.key: c for c in columns_available(actor=actor, list_name=list_name)}
    unknown = [key for key in keys if key not in available]
    if unknown:
        raise InvalidInput.single("columns", f"There is no column “{unknown[0][:60]}”.")
    if not getattr(actor, "pk", None):
        raise InvalidInput.single("columns", "Only a signed-in user can choose columns.")
    chosen = list(dict.fromkeys(keys))
    if not chosen:
        ListColumns.objects.filter(user=actor, list_name=list_name).delete()
        return columns_chosen(actor=actor, list_name=list_name)
    ListColumns.objects.update_or_create(
        user=actor, list_name=list_name, defaults={"columns": chosen}
    )
    return [available[key] for key in chosen]
