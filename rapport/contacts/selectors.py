"""Every non-trivial read in the contacts area: lists with search, filters and cursors."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    Model,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.query import ModelIterable

from rapport.access.models import ChangeRecord
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
from rapport.core import budget, policy, search
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


@dataclass
class Page:
    """One page of results and the cursor that fetches the next (None at the end)."""

    items: list[Any]
    next_cursor: str | None


@dataclass
class ContactFilters:
    """Filters a contact list accepts; every one narrows the result (AND)."""

    tags: list[str] = field(default_factory=list)
    owner: str | None = None
    organization: int | None = None
    lifecycle_stage: str | None = None
    country: str | None = None
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    custom: dict[str, str] = field(default_factory=dict)


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


def _contact_filtered(filters: ContactFilters) -> QuerySet[Contact]:
    qs = Contact.objects.all()
    qs = with_all_tags(qs, filters.tags)
    if filters.owner:
        qs = qs.filter(owner__username=filters.owner)
    if filters.organization:
        qs = qs.filter(
            Exists(
                Affiliation.objects.filter(
                    contact=OuterRef("pk"), organization_id=filters.organization
                )
            )
        )
    if filters.lifecycle_stage:
        qs = qs.filter(lifecycle_stage=filters.lifecycle_stage)
    if filters.country:
        qs = qs.filter(
            Exists(Address.objects.filter(contact=OuterRef("pk"), country=filters.country.upper()))
        )
    for attr, lookup in (
        ("created_after", "created_at__gte"),
        ("created_before", "created_at__lt"),
        ("updated_after", "updated_at__gte"),
        ("updated_before", "updated_at__lt"),
    ):
        if getattr(filters, attr):
            qs = qs.filter(**{lookup: getattr(filters, attr)})
    return _custom_filters(qs, filters.custom, "contact")


def contact_prefetch(qs: QuerySet[Contact]) -> QuerySet[Contact]:
    """Everything a contact's representation shows, in one query.

    The related rows land in plain lists (``email_list``, ``phone_list``,
    ``address_list``, ``link_list``, ``external_id_list``, ``tag_list``,
    ``affiliation_list``, each in its model's order; an affiliation's ``organization``
    carries its id and name, ``reports_to`` its id and display name). Each list is read
    as a JSON array by a subquery of the contact query itself: a page of 25 contacts
    used to take seven prefetch queries, whose round trips and ORM work were most of
    the time of a request (docs/benchmarks.md).
    """
    vendor = connection.vendor
    qs = qs.select_related("owner").annotate(
        **{
            f"_{related.attr}_json": RawSQL(related.sql(vendor), [], output_field=TextField())
            for related in _RELATED_LISTS
        }
    )
    qs._iterable_class = _WithRelatedLists
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
    qs = qs.order_by(*order)
    if not cursor:
        return qs
    first, last_id = decode_cursor(cursor, 2)
    field_name = order[0].lstrip("-")
    descending = order[0].startswith("-")
    if field_name.endswith("_at"):
        try:
            first = dt.datetime.fromisoformat(str(first))
        except ValueError:
            raise InvalidInput.single("cursor", "This cursor is not valid.") from None
    if not isinstance(last_id, int):
        raise InvalidInput.single("cursor", "This cursor is not valid.")
    op = "lt" if descending else "gt"
    return qs.filter(
        Q(**{f"{field_name}__{op}": first}) | Q(**{field_name: first, f"id__{op}": last_id})
    )


def _page(rows: list[Any], limit: int, key: Any) -> Page:
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(key(rows[-1])) if more and rows else None)


def _limit(limit: int) -> int:
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput.single("limit", f"Must be between 1 and {MAX_LIMIT}.")
    return limit


def contact_list(
    *,
    actor: Any,
    q: str = "",
    filters: ContactFilters | None = None,
    sort: str = "",
    cursor: str | None = None,
    limit: int = 25,
) -> Page:
    """Contacts the actor may see, filtered, searched and sorted, one keyset page at a time.

    With a search and no explicit sort, names starting with the query come first (in
    name order), then every other match (in id order). Raises InvalidInput for a bad
    sort, cursor, limit or filter, NotPermitted when the actor may not read contacts.
    """
    policy.require(actor, "contacts.view")
    limit = _limit(limit)
    if sort and sort not in SORTS:
        raise InvalidInput.single("sort", f"Must be one of: {', '.join(SORTS)}.")
    base = _contact_filtered(filters or ContactFilters())
    query = search.parse(q)
    if query.fragments and not sort:
        return _ranked_page(base, query, cursor, limit)
    if query.fragments:
        base = search.contains_all(base, query)
    order = SORTS[sort or "name"]
    rows = list(contact_prefetch(_keyset(base, order, cursor))[: limit + 1])
    field_name = order[0].lstrip("-")
    return _page(rows, limit, lambda c: [getattr(c, field_name), c.pk])


_WHOLE_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")


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


def contacts_matching(
    *, actor: Any, q: str = "", filters: ContactFilters | None = None, sort: str = ""
) -> QuerySet[Contact]:
    """Every contact ``contact_list`` shows for this search, filters and sort, unordered.

    The same matches the pages walk through: without a sort, a one- or two-letter
    search (or a whole email address) matches names starting with it (and that
    address); otherwise every word must be in the contact's text. Raises InvalidInput
    for a bad sort or filter, NotPermitted when the actor may not read contacts.
    """
    policy.require(actor, "contacts.view")
    if sort and sort not in SORTS:
        raise InvalidInput.single("sort", f"Must be one of: {', '.join(SORTS)}.")
    base = _contact_filtered(filters or ContactFilters())
    query = search.parse(q)
    if not query.fragments:
        return base
    prefixes_only = len(query.fragments) == 1 and len(query.fragments[0]) < search.MIN_FRAGMENT
    if not sort and (prefixes_only or _WHOLE_EMAIL.match(query.text)):
        heads = _heads(query)
        head = heads[0]
        for other in heads[1:]:
            head |= other
        return base.filter(head)
    return search.contains_all(base, query)


def contact_count(
    *, actor: Any, q: str = "", filters: ContactFilters | None = None, sort: str = ""
) -> MatchCount:
    """How many contacts ``contact_list`` finds for this search and filters (see MatchCount)."""
    return _count(contacts_matching(actor=actor, q=q, filters=filters, sort=sort))


def _heads(query: search.Query) -> list[Q]:
    """What puts a contact first: its name or surname starts with the query, or an exact email."""
    prefix = query.text
    heads = [search.starts_with("sort_name", prefix), search.starts_with("family_key", prefix)]
    if "@" in prefix:
        heads.append(Q(pk__in=Email.objects.filter(address_key=prefix).values("contact_id")))
    return heads


def _ranked_page(
    base: QuerySet[Contact], query: search.Query, cursor: str | None, limit: int
) -> Page:
    """Phase 0: names starting with the query, in name order; phase 1: every other match, by id.

    Each phase asks small questions the indexes answer directly instead of one query
    with OR-ed conditions, which no index can serve in name order (see docs/benchmarks.md).
    """
    heads = _heads(query)
    phase, key, last_id = decode_cursor(cursor, 3) if cursor else (0, "", 0)
    if phase not in (0, 1) or not isinstance(last_id, int) or not isinstance(key, str):
        raise InvalidInput.single("cursor", "This cursor is not valid.")
    # Too short for a substring search: prefixes only. A whole address: the exact
    # matches of phase 0 are the answer.
    prefixes_only = len(query.fragments) == 1 and len(query.fragments[0]) < search.MIN_FRAGMENT
    final = prefixes_only or bool(_WHOLE_EMAIL.match(query.text))
    rows: list[Contact] = []
    pending: list[int] = []  # phase-0 rows read together with the other matches
    if phase == 0:
        firsts = []
        for head in heads:
            first = base.filter(head)
            if cursor:
                first = first.filter(Q(sort_name__gt=key) | Q(sort_name=key, id__gt=last_id))
            firsts.append(
                first.order_by("sort_name", "id").values_list("sort_name", "id")[: limit + 1]
            )
        if connection.features.supports_slicing_ordering_in_compound:
            # PostgreSQL: one round trip, each part still walking its own index.
            keys = set(firsts[0].union(*firsts[1:], all=True))
        else:
            keys = {row for first in firsts for row in first}
        first_ids = [pk for _, pk in sorted(keys)[: limit + 1]]
        if len(first_ids) > limit or final:
            by_id = contact_prefetch(Contact.objects.filter(pk__in=first_ids)).in_bulk()
            rows = [by_id[pk] for pk in first_ids if pk in by_id]
            if len(rows) > limit:
                rows = rows[:limit]
                return Page(rows, encode_cursor([0, rows[-1].sort_name, rows[-1].pk]))
        else:
            pending = first_ids
        last_id = 0
    if final:
        return Page(rows, None)
    head = heads[0]
    for other in heads[1:]:
        head |= other
    wanted = limit - len(rows) - len(pending)
    firsts_read, more, resume_after = _other_matches(
        base, query, head, after_id=last_id, count=wanted + 1, first_ids=pending
    )
    rows += firsts_read
    if len(more) > wanted:
        more = more[:wanted]
        rows += more
        return Page(
            rows,
            encode_cursor([1, "", more[-1].pk])
            if more
            else encode_cursor([0, rows[-1].sort_name, rows[-1].pk]),
        )
    if resume_after is not None:  # stopped early: a short page, and more may follow
        return Page(rows + more, encode_cursor([1, "", resume_after]))
    return Page(rows + more, None)


def _other_matches(
    base: QuerySet[Contact],
    query: search.Query,
    head: Q,
    *,
    after_id: int,
    count: int,
    first_ids: list[int],
) -> tuple[list[Contact], list[Contact], int | None]:
    """Up to ``count`` matches above ``after_id`` not shown in phase 0, passing the filters.

    Candidates come from the text index in id order, a chunk at a time; the filters and
    the phase-0 exclusion are checked on each chunk. When filters reject most candidates,
    a few growing chunks are tried, then one query with everything in it. Phase 0's rows
    (``first_ids``, in that order) are read in the same query as the first chunk and
    returned first. Also returns the id to resume after when the search stopped early
    (see search.matching_ids).
    """
    found: list[Contact] = []
    firsts: dict[int, Contact] = {}
    pending = set(first_ids)

    def read(others: Q | None) -> list[Contact]:
        nonlocal pending
        if others is None and not pending:
            return []
        wanted = count - len(found)
        if not pending:
            qs = base.filter(others).order_by("id")
        else:
            # Phase 0's rows first, so that the slice keeps them all.
            qs = base.filter(others | Q(pk__in=pending) if others else Q(pk__in=pending))
            qs = qs.order_by(Case(When(pk__in=pending, then=Value(0)), default=Value(1)), "id")
        rows = list(contact_prefetch(qs)[: wanted + len(pending)])
        firsts.update((c.pk, c) for c in rows if c.pk in pending)
        pending = set()
        return [c for c in rows if c.pk not in firsts][:wanted]

    def done(resume_after: int | None) -> tuple[list[Contact], list[Contact], int | None]:
        read(None)
        return [firsts[pk] for pk in first_ids if pk in firsts], found, resume_after

    chunk = count + 10  # a few spare for rows that phase 0 already showed
    for _ in range(4):
        matches = search.matching_ids(Contact, query, after_id=after_id, limit=chunk)
        ids = matches.ids
        if ids:
            found += read(Q(pk__in=ids) & ~head)
        if len(found) >= count:
            return done(None)
        if matches.resume_after is not None:
            return done(matches.resume_after)
        if len(ids) < chunk:
            return done(None)
        after_id = ids[-1]
        chunk *= 4
    rest = search.contains_all(base, query).exclude(head).filter(id__gt=after_id).order_by("id")
    found += list(contact_prefetch(rest)[: count - len(found)])
    return done(None)


def contact_get(*, actor: Any, contact_id: int) -> Contact:
    """One contact with everything its page shows; raises Contact.DoesNotExist."""
    policy.require(actor, "contacts.view")
    return contact_prefetch(Contact.objects.all()).get(pk=contact_id)


def history_for(
    *, actor: Any, object_type: str, object_id: int, limit: int = 100
) -> list[ChangeRecord]:
    policy.require(actor, "contacts.view" if object_type == "contact" else "organizations.view")
    return list(
        ChangeRecord.objects.filter(object_type=object_type, object_id=object_id)
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )


@dataclass
class OrganizationFilters:
    tags: list[str] = field(default_factory=list)
    owner: str | None = None
    parent: int | None = None
    industry: str | None = None
    country: str | None = None
    custom: dict[str, str] = field(default_factory=dict)


def organization_list(
    *,
    actor: Any,
    q: str = "",
    filters: OrganizationFilters | None = None,
    sort: str = "",
    cursor: str | None = None,
    limit: int = 25,
) -> Page:
    """Organizations, searched and filtered, one keyset page at a time."""
    policy.require(actor, "organizations.view")
    limit = _limit(limit)
    qs = organizations_matching(actor=actor, q=q, filters=filters, sort=sort)
    order = SORTS[sort or "name"]
    qs = (
        _keyset(qs, order, cursor)
        .select_related("owner", "parent")
        .prefetch_related("tags", "phones", "addresses")
    )
    rows = list(qs[: limit + 1])
    field_name = order[0].lstrip("-")
    return _page(rows, limit, lambda o: [getattr(o, field_name), o.pk])


def organizations_matching(
    *, actor: Any, q: str = "", filters: OrganizationFilters | None = None, sort: str = ""
) -> QuerySet[Organization]:
    """Every organization ``organization_list`` shows for this search and filters, unordered.

    Raises InvalidInput for a bad sort or filter, NotPermitted when the actor may not
    read organizations.
    """
    policy.require(actor, "organizations.view")
    if sort and sort not in SORTS:
        raise InvalidInput.single("sort", f"Must be one of: {', '.join(SORTS)}.")
    filters = filters or OrganizationFilters()
    qs = Organization.objects.all()
    qs = with_all_tags(qs, filters.tags)
    if filters.owner:
        qs = qs.filter(owner__username=filters.owner)
    if filters.parent:
        qs = qs.filter(parent_id=filters.parent)
    if filters.industry:
        qs = qs.filter(industry__iexact=filters.industry)
    if filters.country:
        qs = qs.filter(
            Exists(
                Address.objects.filter(organization=OuterRef("pk"), country=filters.country.upper())
            )
        )
    qs = _custom_filters(qs, filters.custom, "organization")
    query = search.parse(q)
    if query.fragments:
        if len(query.fragments) == 1 and len(query.fragments[0]) < search.MIN_FRAGMENT:
            qs = qs.filter(search.starts_with("sort_name", query.text))
        else:
            qs = search.contains_all(qs, query)
    return qs


def organization_count(
    *, actor: Any, q: str = "", filters: OrganizationFilters | None = None, sort: str = ""
) -> MatchCount:
    """How many organizations ``organization_list`` finds (see MatchCount)."""
    return _count(organizations_matching(actor=actor, q=q, filters=filters, sort=sort))


def organization_get(*, actor: Any, org_id: int) -> Organization:
    policy.require(actor, "organizations.view")
    return (
        Organization.objects.select_related("owner", "parent")
        .prefetch_related("tags", "phones", "addresses", "children")
        .get(pk=org_id)
    )


@dataclass
class ChartNode:
    """One person in an organization's chart and the people who report to them."""

    affiliation: Affiliation
    reports: list[ChartNode] = field(default_factory=list)


def organization_chart(*, actor: Any, org: Organization) -> list[ChartNode]:
    """The current people of ``org`` as trees built from reports-to; roots first by name."""
    policy.require(actor, "organizations.view")
    current = list(
        Affiliation.objects.filter(organization=org, is_current=True)
        .select_related("contact")
        .order_by("contact__sort_name", "id")
    )
    nodes = {a.contact_id: ChartNode(a) for a in current}
    roots = []
    for a in current:
        boss = nodes.get(a.reports_to_id) if a.reports_to_id else None
        if boss is not None and boss is not nodes[a.contact_id]:
            boss.reports.append(nodes[a.contact_id])
        else:
            roots.append(nodes[a.contact_id])
    return roots


def organization_people(*, actor: Any, org: Organization) -> list[Affiliation]:
    policy.require(actor, "organizations.view")
    return list(
        Affiliation.objects.filter(organization=org)
        .select_related("contact", "reports_to")
        .order_by("-is_current", "contact__sort_name", "id")
    )


def tag_list(*, actor: Any) -> list[Tag]:
    policy.require(actor, "tags.view")
    return list(Tag.objects.order_by("name_key"))


def custom_field_list(*, actor: Any, target: str | None = None) -> list[CustomFieldDefinition]:
    policy.require(actor, "custom_fields.view")
    qs = CustomFieldDefinition.objects.all()
    if target:
        qs = qs.filter(target=target)
    return list(qs.order_by("target", "position", "label"))


def search_everything(*, actor: Any, q: str, limit: int = 8) -> dict[str, list[Any]]:
    """The global search box: the best contacts and organizations for ``q``."""
    result: dict[str, list[Any]] = {"contacts": [], "organizations": []}
    if policy.can(actor, "contacts.view"):
        result["contacts"] = contact_list(actor=actor, q=q, limit=limit).items
    if policy.can(actor, "organizations.view"):
        result["organizations"] = organization_list(actor=actor, q=q, limit=min(limit, 5)).items
    return result


@dataclass
class AffiliationFilters:
    contact: int | None = None
    organization: int | None = None
    is_current: bool | None = None


def affiliation_list(
    *,
    actor: Any,
    q: str = "",
    filters: AffiliationFilters | None = None,
    cursor: str | None = None,
    limit: int = 25,
) -> Page:
    """Who works where, oldest link first, one keyset page at a time.

    ``q`` matches the title, department, person or organization name. Raises InvalidInput
    for a bad cursor or limit, NotPermitted when the actor may not read contacts.
    """
    policy.require(actor, "contacts.view")
    limit = _limit(limit)
    filters = filters or AffiliationFilters()
    qs = Affiliation.objects.select_related("contact", "organization", "reports_to")
    if filters.contact:
        qs = qs.filter(contact_id=filters.contact)
    if filters.organization:
        qs = qs.filter(organization_id=filters.organization)
    if filters.is_current is not None:
        qs = qs.filter(is_current=filters.is_current)
    text = (q or "").strip()[:200]
    if text:
        qs = qs.filter(
            Q(title__icontains=text)
            | Q(department__icontains=text)
            | Q(contact__display_name__icontains=text)
            | Q(organization__name__icontains=text)
        )
    qs = qs.order_by("id")
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        if not isinstance(last_id, int):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        qs = qs.filter(id__gt=last_id)
    return _page(list(qs[: limit + 1]), limit, lambda a: [a.pk])


def affiliation_get(*, actor: Any, affiliation_id: int) -> Affiliation:
    """One affiliation with its person, organization and manager; raises DoesNotExist."""
    policy.require(actor, "contacts.view")
    return Affiliation.objects.select_related("contact", "organization", "reports_to").get(
        pk=affiliation_id
    )


def tag_get(*, actor: Any, tag_id: int) -> Tag:
    policy.require(actor, "tags.view")
    return Tag.objects.get(pk=tag_id)


def custom_field_get(*, actor: Any, definition_id: int) -> CustomFieldDefinition:
    policy.require(actor, "custom_fields.view")
    return CustomFieldDefinition.objects.get(pk=definition_id)
