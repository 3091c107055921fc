"""Reading the contacts to export: which ones, and their data a chunk at a time.

Rows are read in keyset chunks by id (never OFFSET, never the whole table at once).
Each chunk is one query for the contacts and one per kind of related row (emails,
phones, addresses, links, external ids, tags, current affiliation), so the number of
queries grows with the number of chunks, not of rows. These reads go straight to the
database cursor as plain tuples of text: model instances, and even the ORM's per-value
conversions (dates, JSON, time zones), cost more than the writers' work, and an export
of a million contacts is meant to reach 50,000 rows a second. Which contacts are
exported is still decided by the ORM queryset the contact list uses.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Q, QuerySet

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


# Positions in a contact row (Chunk.contacts): the id, then text, "" when blank. Birthday
# is "YYYY-MM-DD", owner a username, custom_fields JSON text (see custom_fields()); the
# two timestamps are UTC as "YYYY-MM-DD HH:MM:SS", with ".ffffff" unless the microseconds
# are 0 (str() of a naive datetime).
(
    ID,
    DISPLAY_NAME,
    PREFIX,
    GIVEN_NAME,
    MIDDLE_NAME,
    FAMILY_NAME,
    SUFFIX,
    NICKNAME,
    JOB_TITLE,
    BIRTHDAY,
    TIME_ZONE,
    LANGUAGE,
    LIFECYCLE_STAGE,
    OWNER,
    SOURCE,
    NOTES,
    PHOTO,
    CUSTOM_FIELDS,
    CREATED_AT,
    UPDATED_AT,
) = range(20)


@dataclass(slots=True)
class Chunk:
    """One chunk of contacts in id order, and their related rows keyed by contact id.

    Related rows are tuples in the order the contact shows them, the primary one first
    (the import makes the first one primary); the primary flag is their last field.
    """

    contacts: list[tuple[Any, ...]]
    # (address, label, primary)
    emails: dict[int, list[tuple[str, str, bool]]]
    # (number, label, e164, extension, primary)
    phones: dict[int, list[tuple[str, str, str, str, bool]]]
    # (street, locality, region, postcode, country, label, primary)
    addresses: dict[int, list[tuple[str, str, str, str, str, str, bool]]]
    # (url, label, kind, primary)
    urls: dict[int, list[tuple[str, str, str, bool]]]
    # (source, id) by source
    external_ids: dict[int, list[tuple[str, str]]]
    tags: dict[int, list[str]]
    # (organization name, title, department) of the current affiliation, the latest started
    affiliations: dict[int, tuple[str, str, str]]


def id_chunks(
    qs: QuerySet[Contact] | Sequence[int], *, size: int = CHUNK_SIZE
) -> Iterator[list[int]]:
    """The ids of ``qs`` in ascending order, ``size`` at a time (keyset, no OFFSET);
    ``qs`` may be the ids themselves, already read in ascending order."""
    if not isinstance(qs, QuerySet):
        for start in range(0, len(qs), size):
            yield list(qs[start : start + size])
        return
    last = 0
    while True:
        ids = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if ids:
            yield ids
        if len(ids) < size:
            return
        last = ids[-1]


def chunks(qs: QuerySet[Contact] | Sequence[int], *, size: int = CHUNK_SIZE) -> Iterator[Rows]:
    """Every contact of ``qs`` with its related rows, in id order, ``size`` at a time
    (as read; ``chunk_of`` groups them)."""
    for ids in id_chunks(qs, size=size):
        yield _records(ids)


# PostgreSQL's text for a timestamp (ISO, as psycopg requires): like str() of the naive
# UTC datetime but with the fraction's trailing zeros left off (_utc_timestamps pads them).
# Cheaper for the server than to_char.
_PG_UTC_TEXT = "({} AT TIME ZONE 'UTC')::text"


def _sql() -> dict[str, str]:
    """The chunk queries for this connection's database, with ``{of}`` for the contacts."""
    pg = connection.vendor == "postgresql"

    def table(model: Any) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    user_table = table(Contact._meta.get_field("owner").related_model)

    if pg:
        # Text in the same form as SQLite stores it, so both give the writers one shape.
        created = _PG_UTC_TEXT.format("c.created_at")
        updated = _PG_UTC_TEXT.format("c.updated_at")
        birthday = "coalesce(to_char(c.birthday, 'YYYY-MM-DD'), '')"
        custom = "c.custom_fields::text"
        primary = '"primary"'
        # A hash of the few users, not a lookup per contact.
        owner = "coalesce(u.username, '')"
        owner_join = f" LEFT JOIN {user_table} u ON u.id = c.owner_id"
    else:
        # Expressions, not bare columns: the driver converts declared date/datetime
        # columns into objects, which is slower than the text they are stored as.
        created, updated = "(c.created_at || '')", "(c.updated_at || '')"
        birthday = "coalesce(c.birthday || '', '')"
        custom = "(c.custom_fields || '')"
        primary = '"primary"'
        # SQLite would scan the users for each contact in a join; this is a rowid lookup.
        owner = f"coalesce((SELECT u.username FROM {user_table} u WHERE u.id = c.owner_id), '')"
        owner_join = ""
    point = f"ORDER BY x.contact_id, x.{primary} DESC, x.position, x.id"
    return {
        "contacts": (
            "SELECT c.id, c.display_name, c.prefix, c.given_name, c.middle_name,"
            " c.family_name, c.suffix, c.nickname, c.job_title, "
            f"{birthday}, c.time_zone, c.language, c.lifecycle_stage,"
            f" {owner},"
            f" c.source, c.notes, c.photo, {custom}, {created}, {updated}"
            f" FROM {table(Contact)} c{owner_join} WHERE {{of}} ORDER BY c.id"
        ),
        "emails": (
            f"SELECT x.contact_id, x.address, x.label, x.{primary}"
            f" FROM {table(Email)} x WHERE {{of}} {point}"
        ),
        "phones": (
            f"SELECT x.contact_id, x.number, x.label, x.e164, x.extension, x.{primary}"
            f" FROM {table(Phone)} x WHERE {{of}} {point}"
        ),
        "addresses": (
            "SELECT x.contact_id, x.street, x.locality, x.region, x.postcode, x.country,"
            f" x.label, x.{primary} FROM {table(Address)} x WHERE {{of}} {point}"
        ),
        "urls": (
            f"SELECT x.contact_id, x.url, x.label, x.kind, x.{primary}"
            f" FROM {table(WebLink)} x WHERE {{of}} {point}"
        ),
        "external_ids": (
            f"SELECT x.contact_id, x.source, x.value FROM {table(ExternalId)} x"
            " WHERE {of} ORDER BY x.contact_id, x.source, x.id"
        ),
        "tags": (
            f"SELECT x.contact_id, t.name FROM {table(Contact.tags.through)} x"
            f" JOIN {table(Contact.tags.field.related_model)} t ON t.id = x.tag_id"
            " WHERE {of} ORDER BY x.contact_id, t.name_key"
        ),
        "affiliations": (
            # A lookup per affiliation: PostgreSQL would hash every organization.
            "SELECT x.contact_id,"
            f" (SELECT o.name FROM {table(Organization)} o WHERE o.id = x.organization_id),"
            f" x.title, x.department FROM {table(Affiliation)} x WHERE {{of}} AND x.is_current"
            " ORDER BY x.contact_id, x.start_date DESC NULLS LAST, x.id"
        ),
    }


_queries: dict[str, dict[str, str]] = {}


# A chunk as read: the contact rows, then each kind of related rows with the contact id
# first, in _KINDS order. Plain lists of tuples, so another process can take them cheaply.
Rows = tuple[list[tuple[Any, ...]], ...]
_KINDS = ("emails", "phones", "addresses", "urls", "external_ids", "tags", "affiliations")


def _records(ids: list[int]) -> Rows:
    """The rows of the contacts with these ids (ascending) and of their related rows."""
    sql = _queries.get(connection.vendor)
    if sql is None:
        sql = _queries[connection.vendor] = _sql()
    # A dense chunk (the usual case) is read as an id range: a long IN list costs more to
    # send and plan than the few rows of unselected contacts a range may bring along.
    dense = ids[-1] - ids[0] < 2 * len(ids)
    if dense:
        params: list[int] = [ids[0], ids[-1]]
        of_contacts, of_chunk = "x.contact_id BETWEEN %s AND %s", "c.id BETWEEN %s AND %s"
    else:
        params = ids
        marks = ", ".join(["%s"] * len(ids))
        of_contacts, of_chunk = f"x.contact_id IN ({marks})", f"c.id IN ({marks})"
    with connection.cursor() as cursor, _collection_paused():
        cursor.execute(sql["contacts"].format(of=of_chunk), params)
        contacts = cursor.fetchall()
        if len(contacts) != len(ids):
            selected = set(ids)
            contacts = [row for row in contacts if row[0] in selected]
        rows = [contacts]
        for kind in _KINDS:
            cursor.execute(sql[kind].format(of=of_contacts), params)
            rows.append(cursor.fetchall())
    return tuple(rows)


@contextmanager
def _collection_paused() -> Iterator[None]:
    """No garbage collection while a chunk's rows are read: the rows are plain tuples
    (no cycles), and the collector would otherwise walk them again and again as they
    arrive, a sixth of the read."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def chunk_of(rows: Rows) -> Chunk:
    """The Chunk of rows read by _records: related rows grouped by contact."""
    contacts, emails, phones, addresses, urls, external_ids, tags, affiliations = rows
    return Chunk(
        contact_rows(contacts),
        by_contact(emails),
        by_contact(phones),
        by_contact(addresses),
        by_contact(urls),
        by_contact(external_ids),
        tag_names(tags),
        current_affiliations(affiliations),
    )


def by_contact(rows: list[tuple[Any, ...]]) -> dict[int, list[Any]]:
    """Related rows (contact id first) grouped by contact, without the contact id."""
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        items = grouped.get(row[0])
        if items is None:
            grouped[row[0]] = [row[1:]]
        else:
            items.append(row[1:])
    return grouped


def tag_names(rows: list[tuple[int, str]]) -> dict[int, list[str]]:
    """The tags query's rows as each contact's tag names."""
    tags: dict[int, list[str]] = {}
    for contact_id, name in rows:
        names = tags.get(contact_id)
        if names is None:
            tags[contact_id] = [name]
        else:
            names.append(name)
    return tags


def current_affiliations(rows: list[tuple[Any, ...]]) -> dict[int, tuple[str, str, str]]:
    """The affiliations query's rows as each contact's latest started current one."""
    affiliations: dict[int, tuple[str, str, str]] = {}
    for row in rows:  # the latest started first
        if row[0] not in affiliations:
            affiliations[row[0]] = row[1:]
    return affiliations


def contact_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The contacts query's rows, timestamps in one form (see _utc_timestamps)."""
    return _utc_timestamps(list(rows))


def _utc_timestamps(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows whose timestamps are all in the form Django writes to SQLite (and the
    PostgreSQL query writes), naive UTC; any other form SQLite may hold (an offset, a
    "T") is rewritten into it."""
    for i, row in enumerate(rows):
        created, updated = row[CREATED_AT], row[UPDATED_AT]
        if (
            len(created) not in (19, 26)
            or len(updated) not in (19, 26)
            or created[10] != " "
            or updated[10] != " "
        ):
            fixed = list(row)
            fixed[CREATED_AT] = _naive_utc(created)
            fixed[UPDATED_AT] = _naive_utc(updated)
            rows[i] = tuple(fixed)
    return rows


def _naive_utc(text: str) -> str:
    if 20 < len(text) < 26 and text[19] == "." and text[10] == " ":
        return text.ljust(26, "0")
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return str(value)


def custom_fields(text: str | None) -> dict[str, Any]:
    """A contact row's custom fields (stored as JSON text) as a dict."""
    if not text or text == "{}":
        return {}
    return json.loads(text) or {}


@dataclass(frozen=True)
class Shape:
    """How many columns a table export needs: the most values any exported contact has."""

    emails: int
    phones: int
    addresses: int
    urls: int
    custom_keys: tuple[str, ...]
    external_sources: tuple[str, ...]


def export_shape(
    qs: QuerySet[Contact],
    custom_keys: Sequence[str],
    *,
    audience: QuerySet[Contact] | None = None,
    audience_ids: Collection[int] = (),
) -> Shape:
    """Counted in the database, a few grouped queries before the first row is written.

    For an export narrowed to an ``audience`` (a campaign's: ``qs`` less whoever the
    contact gate leaves out, already read as ``audience_ids``) the counts are taken
    over ``qs`` and kept for the audience's contacts here: the gate's filter is several
    anti-joins, too slow to run again inside each grouped query.
    """
    # Everything (no filter): skip the subquery, but not the organizations' phones.
    selected = Q(contact__isnull=False) if not qs.query.where else Q(contact__in=qs.values("pk"))
    keep = set(audience_ids) if audience is not None else None

    def most(model: Any) -> int:
        counted = (
            model._default_manager.filter(selected).values("contact_id").annotate(n=Count("id"))
        )
        if keep is not None:
            # only contacts with two or more: few, and one is the floor anyway
            several = counted.filter(n__gt=1).values_list("contact_id", "n")
            return max([n for pk, n in several if pk in keep], default=1)
        found = counted.aggregate(m=Max("n"))["m"]
        return max(1, found or 0)

    sources = list(
        ExternalId.objects.filter(selected)
        .order_by("source")
        .values_list("source", flat=True)
        .distinct()
    )
    if audience is not None:
        sources = [
            source
            for source in sources
            if ExternalId.objects.filter(source=source, contact__in=audience.values("pk")).exists()
        ]
    return Shape(
        emails=most(Email),
        phones=most(Phone),
        addresses=most(Address),
        urls=most(WebLink),
        custom_keys=tuple(custom_keys),
        external_sources=tuple(sources),
    )
