"""Reading the contacts to export: which ones, and their data a chunk at a time.

Rows are read in keyset chunks by id (never OFFSET, never the whole table at once) as
plain tuples: model instances cost more than the writers' work, and an export of a
million contacts must stay well above 50,000 rows a second. Each chunk's emails,
phones, addresses, links, external ids, tags and current affiliation come in one query
per kind, so the number of queries grows with the number of chunks, not of rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Max, Q, QuerySet

from rapport.contacts.models import (
    Address,
    Affiliation,
    Contact,
    Email,
    ExternalId,
    Phone,
    WebLink,
)
from rapport.contacts.selectors import ContactFilters, _contact_filtered
from rapport.core import search

CHUNK_SIZE = 2_000
MAX_SELECTION = 10_000


def contacts_matching(
    *, q: str = "", filters: ContactFilters | None = None, ids: Sequence[int] | None = None
) -> QuerySet[Contact]:
    """The contacts a list with this search and these filters shows (in any order).

    A one- or two-letter search matches names that start with it, as on the list page;
    longer searches match contacts whose text contains every word. ``ids`` narrows to a
    selection. Raises InvalidInput for a filter that does not exist.
    """
    qs = _contact_filtered(filters or ContactFilters())
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    query = search.parse(q)
    if not query.fragments:
        return qs
    if len(query.fragments) == 1 and len(query.fragments[0]) < search.MIN_FRAGMENT:
        return qs.filter(
            search.starts_with("sort_name", query.text)
            | search.starts_with("family_key", query.text)
        )
    return search.contains_all(qs, query)


CONTACT_COLUMNS = (
    "id",
    "display_name",
    "prefix",
    "given_name",
    "middle_name",
    "family_name",
    "suffix",
    "nickname",
    "birthday",
    "job_title",
    "time_zone",
    "language",
    "notes",
    "photo",
    "owner__username",
    "source",
    "lifecycle_stage",
    "custom_fields",
    "created_at",
    "updated_at",
)


@dataclass(slots=True)
class ContactRecord:
    """One contact's exported data: scalars and its related rows as tuples, in order."""

    id: int
    display_name: str
    prefix: str
    given_name: str
    middle_name: str
    family_name: str
    suffix: str
    nickname: str
    birthday: dt.date | None
    job_title: str
    time_zone: str
    language: str
    notes: str
    photo: str
    owner: str | None
    source: str
    lifecycle_stage: str
    custom_fields: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    # (address, label, primary)
    emails: list[tuple[str, str, bool]]
    # (number, e164, extension, label, primary)
    phones: list[tuple[str, str, str, str, bool]]
    # (street, locality, region, postcode, country, label, primary)
    addresses: list[tuple[str, str, str, str, str, str, bool]]
    # (url, kind, label, primary)
    urls: list[tuple[str, str, str, bool]]
    # (source, id)
    external_ids: list[tuple[str, str]]
    tags: list[str]
    # (organization name, title, department) of the current affiliation, if any
    affiliation: tuple[str, str, str] | None


def _grouped(qs: QuerySet, fields: tuple[str, ...]) -> dict[int, list[tuple[Any, ...]]]:
    grouped: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in qs.values_list("contact_id", *fields):
        grouped[row[0]].append(row[1:])
    return grouped


_POINT_ORDER = ("contact_id", "position", "id")
_EMPTY: list[Any] = []


def id_chunks(qs: QuerySet[Contact], *, size: int = CHUNK_SIZE) -> Iterator[list[int]]:
    """The ids of ``qs`` in ascending order, ``size`` at a time (keyset, no OFFSET)."""
    last = 0
    while True:
        ids = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if ids:
            yield ids
        if len(ids) < size:
            return
        last = ids[-1]


def record_chunks(
    qs: QuerySet[Contact], *, size: int = CHUNK_SIZE
) -> Iterator[list[ContactRecord]]:
    """Every contact of ``qs`` as ContactRecords, in id order, ``size`` at a time."""
    for ids in id_chunks(qs, size=size):
        yield _records(ids)


def _records(ids: list[int]) -> list[ContactRecord]:
    # A dense chunk (the usual case) is read as an id range: a long IN list costs more to
    # send and plan than the few rows of unselected contacts a range may bring along.
    dense = ids[-1] - ids[0] < 2 * len(ids)
    of_contacts = (
        Q(contact_id__gte=ids[0], contact_id__lte=ids[-1]) if dense else Q(contact_id__in=ids)
    )
    of_chunk = Q(pk__gte=ids[0], pk__lte=ids[-1]) if dense else Q(pk__in=ids)
    rows = list(Contact.objects.filter(of_chunk).order_by("pk").values_list(*CONTACT_COLUMNS))
    if len(rows) != len(ids):
        selected = set(ids)
        rows = [row for row in rows if row[0] in selected]
    emails = _grouped(
        Email.objects.filter(of_contacts).order_by(*_POINT_ORDER),
        ("address", "label", "primary"),
    )
    phones = _grouped(
        Phone.objects.filter(of_contacts).order_by(*_POINT_ORDER),
        ("number", "e164", "extension", "label", "primary"),
    )
    addresses = _grouped(
        Address.objects.filter(of_contacts).order_by(*_POINT_ORDER),
        ("street", "locality", "region", "postcode", "country", "label", "primary"),
    )
    urls = _grouped(
        WebLink.objects.filter(of_contacts).order_by(*_POINT_ORDER),
        ("url", "kind", "label", "primary"),
    )
    external = _grouped(
        ExternalId.objects.filter(of_contacts).order_by("contact_id", "source", "id"),
        ("source", "value"),
    )
    tags: dict[int, list[str]] = defaultdict(list)
    for contact_id, name in (
        Contact.tags.through.objects.filter(of_contacts)
        .order_by("contact_id", "tag__name_key")
        .values_list("contact_id", "tag__name")
    ):
        tags[contact_id].append(name)
    affiliations: dict[int, tuple[str, str, str]] = {}
    for contact_id, *rest in (
        Affiliation.objects.filter(of_contacts, is_current=True)
        .order_by("contact_id", F("start_date").desc(nulls_last=True), "id")
        .values_list("contact_id", "organization__name", "title", "department")
    ):
        affiliations.setdefault(contact_id, tuple(rest))  # type: ignore[arg-type]
    return [
        ContactRecord(  # type: ignore[misc]  # row holds the CONTACT_COLUMNS
            *row,
            emails=emails.get(row[0], _EMPTY),
            phones=phones.get(row[0], _EMPTY),
            addresses=addresses.get(row[0], _EMPTY),
            urls=urls.get(row[0], _EMPTY),
            external_ids=external.get(row[0], _EMPTY),
            tags=tags.get(row[0], _EMPTY),
            affiliation=affiliations.get(row[0]),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Shape:
    """How many columns a table export needs: the most values any exported contact has."""

    emails: int
    phones: int
    addresses: int
    urls: int
    custom_keys: tuple[str, ...]
    external_sources: tuple[str, ...]


def export_shape(qs: QuerySet[Contact], custom_keys: Sequence[str]) -> Shape:
    """Counted in the database, a few grouped queries before the first row is written."""
    # Everything (no filter): skip the subquery, but not the organizations' phones.
    selected = Q(contact__isnull=False) if not qs.query.where else Q(contact__in=qs.values("pk"))

    def most(model: Any) -> int:
        found = (
            model._default_manager.filter(selected)
            .values("contact_id")
            .annotate(n=Count("id"))
            .aggregate(m=Max("n"))["m"]
        )
        return max(1, found or 0)

    sources = (
        ExternalId.objects.filter(selected)
        .order_by("source")
        .values_list("source", flat=True)
        .distinct()
    )
    return Shape(
        emails=most(Email),
        phones=most(Phone),
        addresses=most(Address),
        urls=most(WebLink),
        custom_keys=tuple(custom_keys),
        external_sources=tuple(sources),
    )
