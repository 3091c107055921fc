"""Saved contacts as matching features, read a chunk at a time straight from the tables.

Six queries a chunk (contacts, emails, phones, addresses, current organizations), plain
tuples, no model instances: the bulk scan reads a million contacts this way.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection

from rapport.contacts.models import Address, Affiliation, Contact, Email, Organization, Phone
from rapport.duplicates.matching.features import PersonFeatures, person_features
from rapport.duplicates.matching.organizations import OrganizationFeatures, organization_features

CHUNK = 2_000


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _sql() -> dict[str, str]:
    return {
        "contacts": (
            "SELECT id, given_name, middle_name, family_name, suffix, birthday, job_title"
            f" FROM {_table(Contact)} WHERE id IN ({{ids}})"
        ),
        "emails": f"SELECT contact_id, address FROM {_table(Email)} WHERE contact_id IN ({{ids}})",
        "phones": (
            f"SELECT contact_id, e164, extension FROM {_table(Phone)} WHERE contact_id IN ({{ids}})"
        ),
        "addresses": (
            f"SELECT contact_id, street, locality, postcode, country FROM {_table(Address)}"
            " WHERE contact_id IN ({ids})"
        ),
        "organizations": (
            f"SELECT a.contact_id, o.name FROM {_table(Affiliation)} a"
            f" JOIN {_table(Organization)} o ON o.id = a.organization_id"
            " WHERE a.is_current AND a.contact_id IN ({ids})"
        ),
    }


# Up to this many contacts are read in one round trip (each contact's lists as JSON);
# more are read as one query per table.
FEW = 300


def _few_sql() -> str:
    if connection.vendor == "postgresql":
        agg, arr, marks = "json_agg", "json_build_array", "SELECT unnest(%s::bigint[])"
    else:
        agg, arr, marks = "json_group_array", "json_array", "{marks}"
    return (
        "SELECT c.id, c.given_name, c.middle_name, c.family_name, c.suffix, c.birthday,"
        f" c.job_title,"
        f" (SELECT {agg}(x.address) FROM {_table(Email)} x WHERE x.contact_id = c.id),"
        f" (SELECT {agg}({arr}(x.e164, x.extension)) FROM {_table(Phone)} x"
        "  WHERE x.contact_id = c.id),"
        f" (SELECT {agg}({arr}(x.street, x.locality, x.postcode, x.country))"
        f"  FROM {_table(Address)} x WHERE x.contact_id = c.id),"
        f" (SELECT {agg}(o.name) FROM {_table(Affiliation)} a"
        f"  JOIN {_table(Organization)} o ON o.id = a.organization_id"
        "  WHERE a.contact_id = c.id AND a.is_current)"
        f" FROM {_table(Contact)} c WHERE c.id IN ({marks})"
    )


def _listed(value: Any) -> list[Any]:
    """A JSON list as the database returns it (text or already parsed; NULL for none)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = json.loads(value)
    return [v for v in value if v is not None] if value else []


def _few(ids: list[int]) -> dict[int, PersonFeatures]:
    params: list[Any]
    if connection.vendor == "postgresql":
        sql, params = _few_sql(), [ids]
    else:
        sql = _few_sql().replace("{marks}", ", ".join(["%s"] * len(ids)))
        params = list(ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        row[0]: _person(
            row[:7],
            emails=_listed(row[7]),
            phones=[tuple(p) for p in _listed(row[8])],
            addresses=[tuple(a) for a in _listed(row[9])],
            organizations=_listed(row[10]),
        )
        for row in rows
    }


def _person(row: Sequence[Any], **lists: Any) -> PersonFeatures:
    """Features of a contact row (id, given, middle, family, suffix, birthday, title)."""
    cid, given, middle, family, suffix, birthday, title = row
    return person_features(
        id=cid,
        given_name=given,
        middle_name=middle,
        family_name=family,
        suffix=suffix,
        birthday=birthday,
        job_title=title,
        **lists,
    )


def features_of(contact_ids: Sequence[int]) -> dict[int, PersonFeatures]:
    """The features of these saved contacts (ids that do not exist are left out)."""
    ids = list(dict.fromkeys(contact_ids))
    if len(ids) <= FEW:
        return _few(ids) if ids else {}
    out: dict[int, PersonFeatures] = {}
    for start in range(0, len(ids), CHUNK):
        out.update(_chunk(ids[start : start + CHUNK]))
    return out


def _chunk(ids: list[int]) -> dict[int, PersonFeatures]:
    if not ids:
        return {}
    sql = _sql()
    params: list[Any]
    if connection.vendor == "postgresql":
        # one array parameter: cheaper to send and plan than a long IN list
        marks, params = "SELECT unnest(%s::bigint[])", [list(ids)]
    else:
        marks, params = ", ".join(["%s"] * len(ids)), list(ids)
    related: dict[str, defaultdict[int, list[Any]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql["contacts"].format(ids=marks), params)
        contacts = cursor.fetchall()
        for kind in ("emails", "phones", "addresses", "organizations"):
            cursor.execute(sql[kind].format(ids=marks), params)
            grouped: defaultdict[int, list[Any]] = defaultdict(list)
            for row in cursor.fetchall():
                grouped[row[0]].append(row[1:] if len(row) > 2 else row[1])
            related[kind] = grouped
    out = {}
    for row in contacts:
        cid = row[0]
        out[cid] = _person(
            row,
            emails=related["emails"].get(cid, ()),
            phones=related["phones"].get(cid, ()),
            addresses=related["addresses"].get(cid, ()),
            organizations=related["organizations"].get(cid, ()),
        )
    return out


def all_features(contact_ids: Sequence[int] | None = None) -> Iterator[list[PersonFeatures]]:
    """Every contact's features (or these contacts'), in id order, a chunk at a time."""
    if contact_ids is not None:
        ordered = sorted(set(contact_ids))
        for start in range(0, len(ordered), CHUNK):
            chunk = _chunk(ordered[start : start + CHUNK])
            yield [chunk[i] for i in sorted(chunk)]
        return
    last = 0
    while True:
        ids = list(
            Contact.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:CHUNK]
        )
        if not ids:
            return
        chunk = _chunk(ids)
        yield [chunk[i] for i in sorted(chunk)]
        last = ids[-1]


def organization_features_of(
    org_ids: Sequence[int] | None = None,
) -> dict[int, OrganizationFeatures]:
    """The features of these organizations (all of them for None)."""
    from rapport.contacts.models import Organization

    qs = (
        Organization.objects.all()
        if org_ids is None
        else Organization.objects.filter(pk__in=list(org_ids))
    )
    rows = list(qs.values_list("id", "name", "legal_name", "domains", "website"))
    ids = [r[0] for r in rows]
    phones: defaultdict[int, list[str]] = defaultdict(list)
    places: defaultdict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        for oid, e164 in Phone.objects.filter(organization_id__in=part).values_list(
            "organization_id", "e164"
        ):
            phones[oid].append(e164)
        for oid, street, locality, postcode in Address.objects.filter(
            organization_id__in=part
        ).values_list("organization_id", "street", "locality", "postcode"):
            places[oid].append((street, locality, postcode))
    return {
        oid: organization_features(
            id=oid,
            name=name,
            legal_name=legal,
            domains=domains or [],
            website=website,
            phones=phones.get(oid, ()),
            addresses=places.get(oid, ()),
        )  # fmt: skip
        for oid, name, legal, domains, website in rows
    }
