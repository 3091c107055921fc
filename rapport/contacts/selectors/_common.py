"""What the contact and organization lists share: pages and keyset cursors, the tag
and custom-field filters, related lists read in one query each, and match counts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    F,
    Model,
    Q,
    QuerySet,
)
from django.db.models.query import ModelIterable

from rapport.contacts.limits import MAX_TAG_FILTERS
from rapport.contacts.models import (
    Address,
    Affiliation,
    Contact,
    CustomFieldDefinition,
    Email,
    ExternalId,
    Organization,
    Phone,
    Tag,
    WebLink,
)
from rapport.core import budget
from rapport.core.cursor import decode_cursor, encode_cursor
from rapport.core.errors import FieldError, InvalidInput
from rapport.core.text import fold

MAX_LIMIT = 200
SORTS = {
    "name": ("sort_name", "id"),
    "-name": ("-sort_name", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
}
# Contacts also sort by what the activity area keeps on them. A contact never contacted
# counts as contacted longest ago; one without a next step as having it latest.
CONTACT_SORTS = {
    **SORTS,
    "last_contacted": ("last_contacted_at", "id"),
    "-last_contacted": ("-last_contacted_at", "-id"),
    "next_step": ("next_step_at", "id"),
    "-next_step": ("-next_step_at", "-id"),
}
_EMPTY_SORTS_FIRST = {"last_contacted_at": True, "next_step_at": False}


@dataclass
class Page:
    """One page of results and the cursor that fetches the next (None at the end)."""

    items: list[Any]
    next_cursor: str | None


def with_all_tags(qs: QuerySet[Any], tags: list[str]) -> QuerySet[Any]:
    """Narrow contacts or organizations to those carrying every one of ``tags``.

    One tag is a join; several are one grouped subquery (records with as many of the
    tags as asked), not a join per tag, which SQLite caps at 64 tables and PostgreSQL
    plans in time exponential in their number. Raises InvalidInput past MAX_TAG_FILTERS.
    """
    if len(tags) > MAX_TAG_FILTERS:
        raise InvalidInput.single(
            "tag", f"Filter by at most {MAX_TAG_FILTERS} tags at once (got {len(tags):,})."
        )
    keys = sorted({fold(name) for name in tags})
    if not keys:
        return qs
    if len(keys) == 1:
        return qs.filter(tags__name_key=keys[0])
    through = qs.model.tags.through
    owner = f"{qs.model._meta.model_name}_id"
    carrying_all = (
        through.objects.filter(tag__name_key__in=keys)
        .values(owner)
        .annotate(found=Count("tag_id", distinct=True))
        .filter(found=len(keys))
        .values(owner)
    )
    return qs.filter(pk__in=carrying_all)


def _custom_filters(qs: QuerySet, custom: Mapping[str, str], target: str) -> QuerySet:
    if not custom:
        return qs
    definitions = {d.key: d for d in CustomFieldDefinition.objects.filter(target=target)}
    errors = []
    for raw_key, raw_value in custom.items():
        key, _, op = raw_key.partition("__")
        definition = definitions.get(key)
        path = f"custom.{raw_key}"
        if definition is None:
            errors.append(FieldError(path, "There is no such custom field."))
            continue
        if op not in ("", "gte", "lte"):
            errors.append(
                FieldError(path, "Use custom.<key>, custom.<key>__gte or custom.<key>__lte.")
            )
            continue
        if op and definition.field_type not in ("number", "date"):
            errors.append(FieldError(path, "Ranges work only on number and date fields."))
            continue
        # Imported here: the services (and the duplicate matching they load) are not
        # needed to read, and every command that reads would pay for them at start.
        from rapport.contacts.services._common import custom_value

        try:
            value = custom_value(definition, raw_value, region="US")
        except ValueError as exc:
            errors.append(FieldError(path, str(exc)))
            continue
        lookup = f"custom_fields__{key}"
        if definition.field_type == "multi_choice":
            qs = qs.filter(**{f"{lookup}__contains": value}) if value else qs
        elif op:
            qs = qs.filter(**{f"{lookup}__{op}": value})
        else:
            qs = qs.filter(**{lookup: value})
    if errors:
        raise InvalidInput(errors)
    return qs


class _RelatedList:
    """One related list of a contact: which rows, read how, landing in which attribute."""

    def __init__(
        self,
        attr: str,
        model: type[Model],
        source: str,
        joined: tuple[tuple[str, type[Model], str, tuple[str, ...]], ...] = (),
    ) -> None:
        self.attr = attr
        self.model = model
        fields = model._meta.concrete_fields
        self.attnames = [f.attname for f in fields]
        self.converters = [_converter(f) for f in fields]
        columns = [f't."{f.column}"' for f in fields]
        # Rows joined in (an affiliation's organization and manager): the attribute they
        # land in, their model, the alias in ``source`` and the columns read.
        self.joined = joined
        for _, _, alias, names in joined:
            columns += [f'{alias}."{name}"' for name in names]
        self.columns = columns
        self.source = source
        self.order = ", ".join(_order_column(model, str(o)) for o in model._meta.ordering or ())

    def sql(self, vendor: str) -> str:
        """One text column: the contact's rows as a JSON array of arrays, in model order."""
        if vendor == "postgresql":
            return (
                f"(SELECT json_agg(json_build_array({', '.join(self.columns)}) "
                f"ORDER BY {self.order})::text FROM {self.source})"
            )
        # SQLite 3.40 has no ORDER BY inside an aggregate; it reads an ordered subquery
        # in order (it never flattens one into an aggregate query).
        inner = ", ".join(f"{column} AS c{i}" for i, column in enumerate(self.columns))
        outer = ", ".join(f"r.c{i}" for i in range(len(self.columns)))
        return (
            f"(SELECT json_group_array(json_array({outer})) FROM "
            f"(SELECT {inner} FROM {self.source} ORDER BY {self.order}) r)"
        )

    def build(self, text: str | None) -> list[Any]:
        if not text:
            return []
        width = len(self.attnames)
        items = []
        for row in json.loads(text):
            values = [
                None if value is None else convert(value)
                for convert, value in zip(self.converters, row, strict=False)
            ]
            item = self.model.from_db(connection.alias, self.attnames, values)
            at = width
            for attr, model, _, names in self.joined:
                part = row[at : at + len(names)]
                at += len(names)
                if part[0] is not None:
                    setattr(item, attr, model.from_db(connection.alias, list(names), part))
                else:
                    setattr(item, attr, None)
            items.append(item)
        return items


def _order_column(model: type[Model], ordering: str) -> str:
    field = model._meta.get_field(ordering.lstrip("-"))
    column = getattr(field, "column", ordering.lstrip("-"))
    return f't."{column}"' + (" DESC" if ordering.startswith("-") else "")


def _converter(field: Any) -> Any:
    kind = field.get_internal_type()
    if kind == "BooleanField":
        return bool
    if kind == "DateField":
        return dt.date.fromisoformat
    if kind == "DateTimeField":
        return _aware
    return _same


def _same(value: Any) -> Any:
    return value


def _aware(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


_CONTACT_ID = '"contacts_contact"."id"'


def _points(attr: str, model: type[Model]) -> _RelatedList:
    table = model._meta.db_table
    return _RelatedList(attr, model, f'"{table}" t WHERE t."contact_id" = {_CONTACT_ID}')


_RELATED_LISTS = (
    _points("email_list", Email),
    _points("phone_list", Phone),
    _points("address_list", Address),
    _points("link_list", WebLink),
    _points("external_id_list", ExternalId),
    _RelatedList(
        "tag_list",
        Tag,
        f'"{Contact.tags.through._meta.db_table}" x JOIN "contacts_tag" t ON t."id" = x."tag_id" '
        f'WHERE x."contact_id" = {_CONTACT_ID}',
    ),
    _RelatedList(
        "affiliation_list",
        Affiliation,
        '"contacts_affiliation" t JOIN "contacts_organization" o ON o."id" = t."organization_id" '
        'LEFT JOIN "contacts_contact" m ON m."id" = t."reports_to_id" '
        f'WHERE t."contact_id" = {_CONTACT_ID}',
        joined=(
            ("organization", Organization, "o", ("id", "name")),
            ("reports_to", Contact, "m", ("id", "display_name")),
        ),
    ),
)


class _WithRelatedLists(ModelIterable):
    """Contacts with their related lists unpacked from the JSON columns (contact_prefetch)."""

    def __iter__(self) -> Iterator[Any]:
        for contact in super().__iter__():
            for related in _RELATED_LISTS:
                text = contact.__dict__.pop(f"_{related.attr}_json")
                setattr(contact, related.attr, related.build(text))
            yield contact


def _keyset(qs: QuerySet, order: tuple[str, str], cursor: str | None) -> QuerySet:
    field_name = order[0].lstrip("-")
    descending = order[0].startswith("-")
    empty_lowest = _EMPTY_SORTS_FIRST.get(field_name)
    if empty_lowest is None:
        qs = qs.order_by(*order)
    else:
        placement = {"nulls_first": True} if empty_lowest != descending else {"nulls_last": True}
        column = F(field_name)
        qs = qs.order_by(
            column.desc(**placement) if descending else column.asc(**placement), order[1]
        )
    if not cursor:
        return qs
    first, last_id = decode_cursor(cursor, 2)
    if field_name.endswith("_at") and first is not None:
        try:
            first = dt.datetime.fromisoformat(str(first))
        except ValueError:
            raise InvalidInput.single("cursor", "This cursor is not valid.") from None
    if not isinstance(last_id, int) or (first is None and empty_lowest is None):
        raise InvalidInput.single("cursor", "This cursor is not valid.")
    op = "lt" if descending else "gt"
    if empty_lowest is None:
        return qs.filter(
            Q(**{f"{field_name}__{op}": first}) | Q(**{field_name: first, f"id__{op}": last_id})
        )
    nulls_first = empty_lowest != descending
    if first is None:
        after = Q(**{f"{field_name}__isnull": True, f"id__{op}": last_id})
        return qs.filter(after | Q(**{f"{field_name}__isnull": False}) if nulls_first else after)
    after = Q(**{f"{field_name}__{op}": first}) | Q(**{field_name: first, f"id__{op}": last_id})
    return qs.filter(after if nulls_first else after | Q(**{f"{field_name}__isnull": True}))


def _page(rows: list[Any], limit: int, key: Any) -> Page:
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(key(rows[-1])) if more and rows else None)


def _limit(limit: int) -> int:
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput.single("limit", f"Must be between 1 and {MAX_LIMIT}.")
    return limit


# Counting stops here: past it a list says "10,000+". Counting a million matches on
# every keystroke costs more than the page itself; counting at most this many rows
# (a LIMIT inside the count) stays cheap on SQLite and PostgreSQL alike.
COUNT_CAP = 10_000
# Nor may a count take longer than this: a search whose matches are rare and that no
# index narrows (a fragment of one- and two-letter words) would read the whole table
# to count them. Then the list says "many" rather than wait.
COUNT_BUDGET_MS = 150


@dataclass(frozen=True)
class MatchCount:
    """How many rows match: exact below ``COUNT_CAP``, else ``COUNT_CAP`` and ``capped``;
    ``value`` None when counting took longer than COUNT_BUDGET_MS."""

    value: int | None
    capped: bool

    def __str__(self) -> str:
        if self.value is None:
            return "many"
        return f"{self.value:,}+" if self.capped else f"{self.value:,}"


def _count(qs: QuerySet) -> MatchCount:
    limited = qs.order_by().values("pk")[: COUNT_CAP + 1]
    try:
        found = budget.within(COUNT_BUDGET_MS, limited.count)
    except budget.OverBudget:
        return MatchCount(None, False)
    return MatchCount(min(found, COUNT_CAP), found > COUNT_CAP)
