"""Rows as plain JSON and back, and every relation that points at a contact or organization.

A merge stores rows exactly (every column, ids included) and an unmerge writes them
back without ``save()``, so ``auto_now`` times and versions come back as they were.
Relations are found from the models themselves: a later area that adds a foreign key
to contacts (interactions, tasks, consents) is moved and restored with no change here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models

from rapport.contacts.models import (
    Address,
    Contact,
    Email,
    ExternalId,
    Organization,
    Phone,
    WebLink,
)
from rapport.core import bulk
from rapport.core.text import fold

Row = dict[str, Any]


def label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def model_for(name: str) -> type[models.Model]:
    return apps.get_model(name)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def dump(model: type[models.Model], values: Mapping[str, Any]) -> Row:
    """One row (``values()`` of every concrete column) as JSON-ready values."""
    return {f.attname: _plain(values[f.attname]) for f in model._meta.concrete_fields}


def load(model: type[models.Model], row: Mapping[str, Any]) -> Row:
    """A dumped row with Python values again, ready for the database."""
    result: Row = {}
    for f in model._meta.concrete_fields:
        value = row.get(f.attname)
        if value is not None and not isinstance(f, models.JSONField):
            value = f.to_python(value)
        result[f.attname] = value
    return result


def columns(model: type[models.Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def read(model: type[models.Model], **lookup: Any) -> list[Row]:
    """Every row of ``model`` matching ``lookup``, dumped, in id order."""
    names = columns(model)
    pk = model._meta.pk
    assert pk is not None
    return [
        dump(model, values)
        for values in model._default_manager.filter(**lookup).order_by(pk.attname).values(*names)
    ]


def insert(model: type[models.Model], rows: Iterable[Mapping[str, Any]]) -> None:
    """Put dumped rows back exactly, ids and times included (no ``save()``, no signals).

    A nullable reference to a row that no longer exists (a user removed since) is
    cleared, because the database would refuse it.
    """
    loaded = [load(model, row) for row in rows]
    if not loaded:
        return
    for f in model._meta.concrete_fields:
        if not f.is_relation or not f.null or f.related_model is None:
            continue
        wanted = {row[f.attname] for row in loaded if row[f.attname] is not None}
        if not wanted:
            continue
        target = f.related_model
        found = set(
            target._default_manager.filter(pk__in=wanted).values_list("pk", flat=True)  # type: ignore[union-attr]
        )
        if target is model:
            found |= {row[pk_name(model)] for row in loaded}
        for row in loaded:
            if row[f.attname] is not None and row[f.attname] not in found:
                row[f.attname] = None
    bulk.insert_rows(model, loaded)


def update(model: type[models.Model], pk: Any, values: Mapping[str, Any]) -> None:
    """Write dumped column values onto one row (``update()`` leaves ``auto_now`` alone)."""
    loaded = load(model, {**{c: None for c in columns(model)}, **values})
    model._default_manager.filter(pk=pk).update(**{k: loaded[k] for k in values})


# -- what points at a record -------------------------------------------------------


@dataclass(frozen=True)
class Relation:
    """A column of ``model`` holding the id of a contact (or organization)."""

    model: type[models.Model]
    field: str  # attname, e.g. "contact_id"

    @property
    def name(self) -> str:
        return f"{label(self.model)}.{self.field}"


def relations(target: type[models.Model]) -> list[Relation]:
    """Every foreign key to ``target`` in every installed app (many-to-many links too).

    Found from the models, so new ones are moved by merges without being listed here.
    """
    found = []
    for rel in target._meta.get_fields(include_hidden=True):
        if not (rel.is_relation and rel.auto_created and not rel.concrete):
            continue
        if rel.many_to_many:
            continue  # its link table's foreign key is listed on its own
        if getattr(rel.related_model, "INDEX_OF_CONTACT", False):
            continue  # derived from the record's values and rebuilt by its owner
        field = rel.field  # type: ignore[union-attr]
        found.append(Relation(rel.related_model, str(field.attname)))  # type: ignore[arg-type,union-attr]
    return sorted(found, key=lambda r: r.name)


def _address_key(row: Mapping[str, Any]) -> tuple[str, ...]:
    return (
        fold(row["street"]),
        fold(row["locality"]),
        fold(row["region"]),
        str(row["postcode"]).replace(" ", "").upper(),
        str(row["country"]).upper(),
    )


# The same value held twice becomes one row; the key says what "the same" means.
_VALUE_KEYS: dict[type[models.Model], Callable[[Mapping[str, Any]], tuple[Any, ...]]] = {
    Email: lambda row: (row["address_key"],),
    Phone: lambda row: (row["e164"], row["extension"]),
    Address: _address_key,
    WebLink: lambda row: (row["url"].rstrip("/").lower(),),
    ExternalId: lambda row: (row["source"], row["value"]),
    Contact.tags.through: lambda row: (row["tag_id"],),
    Organization.tags.through: lambda row: (row["tag_id"],),
}
# Lists with one primary entry and an order.
POINTS = frozenset({Email, Phone, Address, WebLink})


def value_key(model: type[models.Model]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]] | None:
    """How rows of ``model`` are recognised as the same value, or None (rows by id)."""
    return _VALUE_KEYS.get(model)


def key_text(key: tuple[Any, ...]) -> list[Any]:
    return [_plain(part) for part in key]


def unique_sets(model: type[models.Model], field: str) -> list[list[str]]:
    """The column sets of ``model`` that are unique and include ``field``.

    Two rows that agree on the other columns of such a set cannot both point at the
    survivor: the merged record's one is the duplicate.
    """
    sets: list[list[str]] = []
    meta = model._meta
    for f in meta.concrete_fields:
        if f.attname == field and (f.unique or f.primary_key):
            sets.append([field])
    for constraint in meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.condition is None:
            names = [_attname(model, name) for name in constraint.fields]
            if field in names:
                sets.append(names)
    for together in meta.unique_together:
        names = [_attname(model, name) for name in together]
        if field in names:
            sets.append(names)
    return sets


def pk_name(model: type[models.Model]) -> str:
    """The primary key's column (``id``, or ``contact_id`` for one-to-one rows)."""
    pk = model._meta.pk
    assert pk is not None
    return str(pk.attname)


def _attname(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    return str(getattr(field, "attname", name))
