"""What the duplicate services share: thresholds, the current model, key lookups, cluster decisions."""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from rapport.contacts.models import Contact
from rapport.duplicates.matching.keys import KEY_FIELDS
from rapport.duplicates.matching.model import MatchModel, default_model
from rapport.duplicates.models import (
    DuplicateCluster,
    LearnedModel,
    MatchKey,
)
from rapport.quality.services import quality_duplicates_mark

# Rows fetched per key at entry: a key shared by more contacts (a switchboard, "Smith J")
# proposes only this many of them; the other keys still find the rest.


PER_KEY = 40
MAX_CANDIDATES = 200
# How many holders of a name are counted to weigh an exact name match.
NAME_COUNT_CAP = 5_000
_MODEL_TTL = 60.0
# A segment or batch holding more than this share of all contacts is scanned as a whole.
LARGE_SCOPE_SHARE = 0.2


def review_threshold() -> float:
    return float(settings.RAPPORT_DUPLICATE_REVIEW_THRESHOLD)


def auto_merge_threshold() -> float:
    return float(settings.RAPPORT_DUPLICATE_AUTO_MERGE_THRESHOLD)


# -- the model -----------------------------------------------------------------------

_cached: tuple[float, MatchModel] | None = None


def current_model() -> MatchModel:
    """The model the last full scan learned, or the defaults sized to this database.
    Cached for a minute per process."""
    global _cached
    now = time.monotonic()
    if _cached is not None and now - _cached[0] < _MODEL_TTL:
        return _cached[1]
    stored = LearnedModel.objects.filter(kind="person").first()
    if stored is not None and stored.parameters:
        model = MatchModel.from_json(stored.parameters)
    else:
        # The highest id stands in for the count: an index lookup, not a table scan.
        population = Contact.objects.aggregate(n=Max("id"))["n"] or 0
        model = default_model(max(population, 1000))
    _cached = (now, model)
    return model


def forget_model() -> None:
    global _cached
    _cached = None


def key_holders(keys: Collection[str]) -> dict[str, list[int]]:
    """For each key, up to PER_KEY + 1 contacts holding it (one query)."""
    if not keys:
        return {}
    table = connection.ops.quote_name(MatchKey._meta.db_table)
    sql = " UNION ALL ".join(
        f"SELECT * FROM (SELECT key, contact_id FROM {table} WHERE key = %s LIMIT %s) t{i}"
        for i in range(len(keys))
    )
    params: list[Any] = []
    for key in keys:
        params += [key, PER_KEY + 1]
    holders: dict[str, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for key, cid in cursor.fetchall():
            holders.setdefault(key, []).append(cid)
    return holders


def key_sharers(keys: Collection[str], limit: int) -> list[int]:
    """Up to ``limit`` contacts holding keys of at least two of the fields ``keys`` come
    from (a name and an address, say: two keys of one address count once), those
    sharing the most fields first. One query over the keys' index entries, however many
    contacts hold each."""
    fields: dict[str, list[str]] = {}
    for key in keys:
        fields.setdefault(KEY_FIELDS.get(key.split(":", 1)[0], key), []).append(key)
    if len(fields) < 2:
        return []
    table = connection.ops.quote_name(MatchKey._meta.db_table)
    parts, params = [], []
    for field, members in fields.items():
        marks = ", ".join(["%s"] * len(members))
        parts.append(f"SELECT contact_id, %s AS field FROM {table} WHERE key IN ({marks})")
        params += [field, *members]
    union = " UNION ALL ".join(parts)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT contact_id FROM ({union}) shared GROUP BY contact_id"
            " HAVING COUNT(DISTINCT field) >= 2"
            " ORDER BY COUNT(DISTINCT field) DESC, contact_id LIMIT %s",
            [*params, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def key_count(key: str, cap: int) -> int:
    table = connection.ops.quote_name(MatchKey._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE key = %s LIMIT %s) t", [key, cap]
        )
        return int(cursor.fetchone()[0])


def decide(cluster: DuplicateCluster, actor: Any, status: str) -> None:
    cluster.status = status
    cluster.decided_by = actor if getattr(actor, "pk", None) else None
    cluster.decided_at = timezone.now()
    cluster.save(update_fields=["status", "decided_by", "decided_at"])
    if cluster.kind == DuplicateCluster.Kind.CONTACT:
        quality_duplicates_mark(contact_ids=cluster_members(cluster))


def cluster_members(cluster: DuplicateCluster) -> set[int]:
    """The ids of the contacts (or organizations) of a cluster."""
    ids: set[int] = set()
    if cluster.kind == DuplicateCluster.Kind.ORGANIZATION:
        for a, b in cluster.organization_pairs.values_list(
            "organization_a_id", "organization_b_id"
        ):
            ids.update((a, b))
        return ids
    for a, b in cluster.pairs.values_list("contact_a_id", "contact_b_id"):
        ids.update((a, b))
    return ids
