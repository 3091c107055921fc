"""Reads of contacts: the list with search, filters, ranking and cursors, one contact
with everything its page shows, and its history."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone

from rapport.access.models import ChangeRecord, with_device_names
from rapport.contacts.models import (
    Address,
    Affiliation,
    Contact,
    Email,
)
from rapport.contacts.selectors._common import (
    _RELATED_LISTS,
    CONTACT_SORTS,
    MatchCount,
    Page,
    _count,
    _custom_filters,
    _keyset,
    _limit,
    _page,
    _WithRelatedLists,
    with_all_tags,
)
from rapport.core import listing, policy, search
from rapport.core.cursor import decode_cursor, encode_cursor
from rapport.core.errors import InvalidInput


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
    # kept by the activity area: a two-way interaction since / none since (never counts
    # as none), the next step (``any``, ``none``, ``overdue``), due to reach out
    contacted_after: dt.datetime | None = None
    not_contacted_since: dt.datetime | None = None
    next_step: str | None = None
    reach_out_due: bool = False
    custom: dict[str, str] = field(default_factory=dict)
    # filters other areas added (core.listing), by query parameter: reachable=call
    extra: dict[str, str] = field(default_factory=dict)


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
    if filters.contacted_after:
        qs = qs.filter(last_contacted_at__gte=filters.contacted_after)
    if filters.not_contacted_since:
        qs = qs.filter(
            Q(last_contacted_at__lt=filters.not_contacted_since) | Q(last_contacted_at__isnull=True)
        )
    if filters.next_step == "any":
        qs = qs.filter(next_step__isnull=False)
    elif filters.next_step == "none":
        qs = qs.filter(next_step__isnull=True)
    elif filters.next_step == "overdue":
        qs = qs.filter(next_step_at__lt=timezone.now())
    if filters.reach_out_due:
        qs = qs.filter(reach_out_by__lte=timezone.localdate())
    for key, value in filters.extra.items():
        extension = listing.filter_named("contacts", key)
        if extension is None:
            raise InvalidInput.single(key, "There is no such filter.")
        qs = extension.apply(qs, value)
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
    if sort and sort not in CONTACT_SORTS:
        raise InvalidInput.single("sort", f"Must be one of: {', '.join(CONTACT_SORTS)}.")
    base = _contact_filtered(filters or ContactFilters())
    query = search.parse(q)
    if query.fragments and not sort:
        return _ranked_page(base, query, cursor, limit)
    if query.fragments:
        base = search.contains_all(base, query)
    order = CONTACT_SORTS[sort or "name"]
    rows = list(contact_prefetch(_keyset(base, order, cursor))[: limit + 1])
    field_name = order[0].lstrip("-")
    return _page(rows, limit, lambda c: [getattr(c, field_name), c.pk])


_WHOLE_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")


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
    if sort and sort not in CONTACT_SORTS:
        raise InvalidInput.single("sort", f"Must be one of: {', '.join(CONTACT_SORTS)}.")
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
    return with_device_names(
        list(
            ChangeRecord.objects.filter(object_type=object_type, object_id=object_id)
            .select_related("actor")
            .order_by("-at", "-id")[:limit]
        )
    )
