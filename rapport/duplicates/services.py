"""Duplicate detection: keys kept current, the check at entry, the bulk scan, decisions.

- ``match_keys_refresh`` is called by the contact services on every write.
- ``duplicate_check`` answers "who might this new or edited person already be?" from the
  keys table: a few index lookups and at most ``MAX_CANDIDATES`` comparisons.
- ``duplicates_scan`` searches a whole database (or a segment, or one import batch),
  learns the model from it, and proposes clusters for review.
- ``cluster_dismiss`` / ``cluster_skip`` record a reviewer's decision; "not duplicates" is
  remembered per pair and never proposed again.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from tqdm import tqdm

from rapport.contacts.models import Contact, ExternalId, Organization
from rapport.core import bulk, policy
from rapport.core.errors import InvalidInput
from rapport.duplicates import records
from rapport.duplicates.matching.comparisons import Context, compare, people_among
from rapport.duplicates.matching.features import PersonFeatures, person_features
from rapport.duplicates.matching.keys import name_key, person_keys
from rapport.duplicates.matching.model import MatchModel, default_model
from rapport.duplicates.matching.organizations import (
    OrganizationFeatures,
    organization_features,
    organization_keys,
    organization_score,
)
from rapport.duplicates.models import (
    DuplicateCluster,
    DuplicatePair,
    DuplicateScan,
    LearnedModel,
    MatchKey,
    NotDuplicate,
    OrganizationMatchKey,
    OrganizationPair,
)
from rapport.duplicates.scanning import Progress, ScoredPair, clusters, scan
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


# -- keys ------------------------------------------------------------------------------


def match_keys_refresh(*, contact_ids: Iterable[int]) -> None:
    """Bring the blocking keys of these contacts in line with what is saved now: keys
    no longer made are deleted, new ones added, the others left as they are."""
    ids = list(dict.fromkeys(contact_ids))
    if not ids:
        return
    found = records.features_of(ids)
    wanted = {(cid, key) for cid, features in found.items() for key in person_keys(features)}
    with transaction.atomic():
        stale: list[int] = []
        for start in range(0, len(ids), 500):
            for pk, cid, key in MatchKey.objects.filter(
                contact_id__in=ids[start : start + 500]
            ).values_list("pk", "contact_id", "key"):
                if (cid, key) in wanted:
                    wanted.discard((cid, key))
                else:
                    stale.append(pk)
        for start in range(0, len(stale), 500):
            MatchKey.objects.filter(pk__in=stale[start : start + 500]).delete()
        bulk.insert_rows(MatchKey, [{"contact_id": c, "key": k} for c, k in sorted(wanted)])


def duplicates_after_merge(*, survivor_id: int) -> None:
    """After contacts were merged into ``survivor_id`` (their keys and pairs now point at
    it): its keys follow its merged values, and clusters left with one contact close."""
    match_keys_refresh(contact_ids=[survivor_id])
    _close_merged(DuplicatePair.objects.filter(Q(contact_a=survivor_id) | Q(contact_b=survivor_id)))


def organizations_after_merge(*, survivor_id: int) -> None:
    """After organizations were merged into ``survivor_id``: its keys follow its values,
    and organization clusters left with one organization close."""
    organization_keys_refresh(organization_ids=[survivor_id])
    _close_merged(
        OrganizationPair.objects.filter(
            Q(organization_a=survivor_id) | Q(organization_b=survivor_id)
        )
    )


def _close_merged(pairs: Any) -> None:
    """Mark as merged the undecided clusters of these pairs that have one record left."""
    touched = set(
        pairs.filter(
            cluster__status__in=[DuplicateCluster.Status.OPEN, DuplicateCluster.Status.SKIPPED]
        ).values_list("cluster_id", flat=True)
    )
    for cluster in DuplicateCluster.objects.filter(pk__in=touched):
        if len(cluster_members(cluster)) < 2:
            _decide(cluster, None, DuplicateCluster.Status.MERGED)


def duplicates_after_unmerge(*, contact_ids: Iterable[int]) -> None:
    """After an unmerge restored these contacts: their keys follow their values again."""
    match_keys_refresh(contact_ids=contact_ids)


def match_keys_add(people: Iterable[tuple[int, PersonFeatures]]) -> None:
    """Save the blocking keys of contacts that have none yet (just created)."""
    bulk.insert_rows(
        MatchKey,
        [
            {"contact_id": cid, "key": key}
            for cid, features in people
            for key in person_keys(features)
        ],
    )


def match_keys_build(*, after_id: int = 0, progress: bool = False) -> int:
    """Save the keys of every contact with an id above ``after_id`` (which has none yet):
    after a bulk load that did not go through the contact services, or a rebuild."""
    ids = list(Contact.objects.filter(pk__gt=after_id).order_by("pk").values_list("pk", flat=True))
    bar = tqdm(total=len(ids), unit=" contacts", desc="Match keys", disable=not progress)
    for chunk in records.all_features(ids):
        with transaction.atomic():
            match_keys_add((f.id, f) for f in chunk)
        bar.update(len(chunk))
    bar.close()
    return len(ids)


def match_keys_rebuild(*, progress: bool = False) -> int:
    """Recompute every contact's keys (after an upgrade changed how keys are made)."""
    MatchKey.objects.all().delete()
    return match_keys_build(progress=progress)


# -- the check at entry ------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A saved contact that may be the same person, with why."""

    contact_id: int
    display_name: str
    probability: float
    explanation: list[dict[str, Any]]


def draft_features(
    *, fields: Mapping[str, Any], children: Mapping[str, Sequence[Mapping[str, Any]]],
    organizations: Sequence[str] = (), contact_id: int = 0,
) -> PersonFeatures:  # fmt: skip
    """Features of a validated contact draft (``contact_draft``'s fields and children)."""
    return person_features(
        id=contact_id,
        given_name=fields.get("given_name") or "",
        middle_name=fields.get("middle_name") or "",
        family_name=fields.get("family_name") or "",
        suffix=fields.get("suffix") or "",
        birthday=fields.get("birthday"),
        job_title=fields.get("job_title") or "",
        emails=[row["address"] for row in children.get("emails", ())],
        phones=[(row["e164"], row.get("extension") or "") for row in children.get("phones", ())],
        addresses=[
            (
                row.get("street", ""),
                row.get("locality", ""),
                row.get("postcode", ""),
                row.get("country", ""),
            )
            for row in children.get("addresses", ())
        ],  # fmt: skip
        organizations=organizations,
    )


def _key_holders(keys: Collection[str]) -> dict[str, list[int]]:
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


def _count(key: str, cap: int) -> int:
    table = connection.ops.quote_name(MatchKey._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE key = %s LIMIT %s) t", [key, cap]
        )
        return int(cursor.fetchone()[0])


def duplicate_check(
    *,
    features: PersonFeatures,
    exclude: Collection[int] = (),
    threshold: float | None = None,
    limit: int = 5,
) -> list[Candidate]:
    """Saved contacts that are likely the person ``features`` describes, most likely
    first: those at or above ``threshold`` (the review threshold by default), at most
    ``limit``. ``exclude`` leaves out contacts (the one being edited). Pairs a reviewer
    said are different people are left out too."""
    threshold = review_threshold() if threshold is None else threshold
    keys = person_keys(features)
    holders = _key_holders(keys)
    # Everyone sharing a rare key is a candidate; of a key shared by many (a common
    # name, a switchboard) only those who share another key too: sharing that key
    # alone could not reach the threshold.
    shared: Counter[int] = Counter()
    for members in holders.values():
        shared.update(members)
    ids: dict[int, None] = {}
    for key in sorted(holders, key=lambda k: len(holders[k])):  # rare keys first
        common = len(holders[key]) > PER_KEY
        for cid in holders[key]:
            if cid not in exclude and (not common or shared[cid] > 1):
                ids[cid] = None
        if len(ids) >= MAX_CANDIDATES:
            break
    if not ids:
        return []
    if features.id:
        ids = {cid: None for cid in ids if cid not in _dismissed_with(features.id, ids)}
    found = records.features_of(list(ids)[:MAX_CANDIDATES])
    model = current_model()
    own_given = features.given.split(" ", 1)[0]
    phone_counts = {}
    for key, members in holders.items():
        if key.startswith("p:"):
            if len(members) > PER_KEY:
                phone_counts[key[2:]] = len(members)  # a switchboard
                continue
            givens = {found[c].given.split(" ", 1)[0] for c in members if c in found}
            phone_counts[key[2:]] = people_among(givens | {own_given})
    ctx = Context(phone_holders=lambda e164: phone_counts.get(e164, 1))
    own_name = name_key(features)
    name_holders = 0
    if own_name:
        name_holders = len(holders.get(own_name, ()))
        if name_holders > PER_KEY:
            name_holders = _count(own_name, NAME_COUNT_CAP)
        name_holders += 1  # the person being entered holds it too
    scored = []
    for cid, other in found.items():
        levels = compare(features, other, ctx)
        probability = model.probability(levels, name_holders)
        if probability >= threshold:
            scored.append((probability, cid, levels))
    scored.sort(key=lambda item: (-item[0], item[1]))
    scored = scored[:limit]
    names = dict(
        Contact.objects.filter(pk__in=[cid for _, cid, _ in scored]).values_list(
            "pk", "display_name"
        )
    )
    return [
        Candidate(cid, names.get(cid, ""), round(p, 4), model.explain(levels, name_holders))
        for p, cid, levels in scored
    ]


def _dismissed_with(contact_id: int, others: Collection[int]) -> set[int]:
    rows = NotDuplicate.objects.filter(
        Q(contact_a=contact_id, contact_b__in=list(others))
        | Q(contact_b=contact_id, contact_a__in=list(others))
    ).values_list("contact_a", "contact_b")
    return {b if a == contact_id else a for a, b in rows}


def contact_duplicate_check(
    *, actor: Any, data: Mapping[str, Any], contact_id: int | None = None, limit: int = 5
) -> list[Candidate]:
    """The likely duplicates of a contact as ``data`` would create it (or, with
    ``contact_id``, as that contact would be after this edit). Validates ``data`` as the
    contact services do: raises InvalidInput, and NotPermitted for an actor who may not
    see contacts."""
    from rapport.contacts.services import contact_draft, contact_values

    policy.require(actor, "contacts.view")
    merged = dict(data)
    if contact_id is not None:
        current = Contact.objects.filter(pk=contact_id).first()
        if current is None:
            raise InvalidInput.single("id", "No such contact.")
        merged = {**contact_values(current), **data}
    draft = contact_draft(actor=actor, data=merged)
    features = draft_features(
        fields=draft.fields, children=draft.children, contact_id=contact_id or 0
    )
    return duplicate_check(
        features=features, exclude={contact_id} if contact_id else set(), limit=limit
    )


# -- the bulk scan ---------------------------------------------------------------------


def duplicates_scan_create(
    *, actor: Any, scope: str = "all", detail: Mapping[str, Any] | None = None
) -> DuplicateScan:
    """A queued scan of all contacts, a segment (``detail``: ``q`` and ``filters`` as
    the contact list takes them) or one import batch (``detail``: ``batch``). Raises
    NotPermitted unless the actor may review duplicates, InvalidInput for a bad scope."""
    policy.require(actor, "duplicates.review")
    if scope not in DuplicateScan.Scope.values:
        raise InvalidInput.single("scope", f"Must be one of: {', '.join(DuplicateScan.Scope)}.")
    detail = dict(detail or {})
    if scope == DuplicateScan.Scope.BATCH:
        from rapport.ingest.models import ImportBatch

        batch_id = detail.get("batch")
        if not isinstance(batch_id, int) or not ImportBatch.objects.filter(pk=batch_id).exists():
            raise InvalidInput.single("batch", "No such import batch.")
    if scope == DuplicateScan.Scope.SEGMENT:
        _segment_ids(detail)  # raises InvalidInput for a filter that does not exist
    return DuplicateScan.objects.create(
        scope=scope, scope_detail=detail, started_by=actor if getattr(actor, "pk", None) else None
    )


def duplicates_scan_start(
    *, actor: Any, scope: str = "all", detail: Mapping[str, Any] | None = None
) -> DuplicateScan:
    """``duplicates_scan_create``, then run it in the background worker."""
    scan_row = duplicates_scan_create(actor=actor, scope=scope, detail=detail)
    from rapport.duplicates.tasks import run_scan

    transaction.on_commit(lambda: run_scan.enqueue(scan_id=scan_row.pk))
    return scan_row


def _segment_ids(detail: Mapping[str, Any]) -> list[int]:
    from rapport.contacts.selectors import ContactFilters
    from rapport.ingest.exporters import contacts_matching

    filters = detail.get("filters") or {}
    if not isinstance(filters, Mapping):
        raise InvalidInput.single("filters", "Must be an object.")
    try:
        parsed = ContactFilters(**filters)
    except TypeError:
        raise InvalidInput.single("filters", "Unknown filter.") from None
    qs = contacts_matching(q=str(detail.get("q") or ""), filters=parsed)
    return list(qs.order_by("pk").values_list("pk", flat=True))


def _scope_ids(scan_row: DuplicateScan) -> list[int] | None:
    """The contacts a scan covers, or None for all of them."""
    if scan_row.scope == DuplicateScan.Scope.ALL:
        return None
    if scan_row.scope == DuplicateScan.Scope.BATCH:
        from rapport.ingest.models import ImportChange

        return sorted(
            set(
                ImportChange.objects.filter(batch_id=scan_row.scope_detail.get("batch"))
                .values_list("contact_id", flat=True)
            )
        )  # fmt: skip
    return _segment_ids(scan_row.scope_detail)


def _with_neighbours(scope: list[int]) -> list[int]:
    """The scope's contacts and every contact sharing a key with one of them."""
    keys: set[str] = set()
    for start in range(0, len(scope), 1000):
        keys.update(
            MatchKey.objects.filter(contact_id__in=scope[start : start + 1000]).values_list(
                "key", flat=True
            )
        )
    found = set(scope)
    ordered = sorted(keys)
    for start in range(0, len(ordered), 200):
        holders = _key_holders(ordered[start : start + 200])
        for members in holders.values():
            found.update(members)
    return sorted(found)


def duplicates_scan_run(
    *, scan_id: int, progress: Progress | None = None, pairs_out: IO[str] | None = None
) -> DuplicateScan:
    """Run a queued scan: read the contacts, compare the blocked pairs, learn the model
    (full scans only), replace the open clusters it covers with what it found. Pairs a
    reviewer dismissed are never proposed again. ``pairs_out`` receives every scored pair
    at or above the review threshold as CSV (see ``write_pairs``)."""
    scan_row = DuplicateScan.objects.get(pk=scan_id)
    report: Progress = progress or (lambda phase, done, total: None)
    DuplicateScan.objects.filter(pk=scan_id).update(
        status=DuplicateScan.Status.RUNNING, started_at=timezone.now(), error=""
    )
    last_save = [0.0]

    def tell(phase: str, done: int, total: int) -> None:
        report(phase, done, total)
        now = time.monotonic()
        if now - last_save[0] > 1.0:
            last_save[0] = now
            DuplicateScan.objects.filter(pk=scan_id).update(phase=phase, done=done, total=total)

    try:
        scope = _scope_ids(scan_row)
        if scope is not None and len(scope) > LARGE_SCOPE_SHARE * Contact.objects.count():
            scope = None  # comparing everything costs less than looking up each key
        wanted = None if scope is None else _with_neighbours(scope)
        people: list[PersonFeatures] = []
        count = Contact.objects.count() if wanted is None else len(wanted)
        for chunk in records.all_features(wanted):
            people.extend(chunk)
            tell("reading", len(people), count)
        excluded = {
            (min(a, b), max(a, b))
            for a, b in NotDuplicate.objects.values_list("contact_a", "contact_b")
        }
        full = scope is None
        model = current_model() if not full else default_model(max(len(people), 2))
        threshold = review_threshold()
        result = scan(
            people, model=model, threshold=threshold, learn=full, excluded=excluded, progress=tell
        )
        found = result.pairs
        if scope is not None:
            inside = set(scope)
            found = [p for p in found if people[p.a].id in inside or people[p.b].id in inside]
        if pairs_out is not None:
            write_pairs(pairs_out, people, found)
        with transaction.atomic():
            if full:
                LearnedModel.objects.update_or_create(
                    kind="person", defaults={"parameters": result.model.as_json()}
                )
            made = _save_clusters(scan_row, people, found, result.model, scope)
            if full:
                made += _organization_clusters(scan_row, threshold)
        forget_model()
        auto_merged = _auto_merge(scan_row) if settings.RAPPORT_DUPLICATE_AUTO_MERGE else 0
        quality_duplicates_mark()
        DuplicateScan.objects.filter(pk=scan_id).update(
            auto_merged=auto_merged,
            status=DuplicateScan.Status.DONE,
            finished_at=timezone.now(),
            phase="",
            done=len(people),
            total=len(people),
            contacts=len(people) if scope is None else len(scope),
            pairs_compared=result.pairs_compared,
            pairs_found=len(found),
            clusters_found=made,
        )
    except Exception as exc:
        DuplicateScan.objects.filter(pk=scan_id).update(
            status=DuplicateScan.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:2000]
        )
        raise
    return DuplicateScan.objects.get(pk=scan_id)


def _auto_merge(scan_row: DuplicateScan) -> int:
    """Merge the scan's clusters whose every pair is at or above the auto-merge threshold
    into their oldest contact, with the default values; returns how many were merged.
    Each is an ordinary merge (history, undo) made by the person who started the scan."""
    from rapport.merges.services import contacts_merge

    actor = scan_row.started_by
    if actor is None or not policy.can(actor, "contacts.merge"):
        return 0
    threshold = auto_merge_threshold()
    merged = 0
    for cluster in scan_row.clusters.filter(status=DuplicateCluster.Status.OPEN):
        if cluster.pairs.filter(probability__lt=threshold).exists():
            continue
        members = sorted(cluster_members(cluster))
        try:
            with transaction.atomic():
                contacts_merge(
                    actor=actor, survivor_id=members[0], merged_ids=members[1:], via="auto"
                )
        except InvalidInput:
            continue  # e.g. a reporting loop: left for a person to review
        merged += 1
    return merged


def _save_clusters(
    scan_row: DuplicateScan,
    people: Sequence[PersonFeatures],
    found: Sequence[ScoredPair],
    model: MatchModel,
    scope: list[int] | None,
) -> int:
    """Replace the open clusters among the scanned contacts with the ones found."""
    stale = DuplicateCluster.objects.filter(
        kind=DuplicateCluster.Kind.CONTACT,
        status__in=[DuplicateCluster.Status.OPEN, DuplicateCluster.Status.SKIPPED],
    )
    if scope is not None:
        stale = stale.filter(pairs__contact_a__in=scope) | stale.filter(pairs__contact_b__in=scope)
    stale.delete()
    groups = list(clusters(found, len(people)))
    made = DuplicateCluster.objects.bulk_create(
        [
            DuplicateCluster(
                scan=scan_row,
                origin=f"scan {scan_row.pk}",
                confidence=round(max(p.probability for p in group), 6),
                size=len({people[i].id for p in group for i in (p.a, p.b)}),
            )
            for group in groups
        ],
        batch_size=2000,
    )
    DuplicatePair.objects.bulk_create(
        [
            DuplicatePair(
                cluster=cluster,
                contact_a_id=min(people[p.a].id, people[p.b].id),
                contact_b_id=max(people[p.a].id, people[p.b].id),
                probability=p.probability,
                explanation=model.explain(p.levels, p.name_holders),
            )
            for cluster, group in zip(made, groups, strict=True)
            for p in group
        ],
        batch_size=2000,
    )
    return len(made)


PAIRS_HEADER = ("contact_a", "contact_b", "external_ids_a", "external_ids_b", "probability",
                "decision")  # fmt: skip


def write_pairs(
    out: IO[str], people: Sequence[PersonFeatures], found: Sequence[ScoredPair]
) -> None:
    """Every pair as CSV: both contacts' ids and external ids (``source:value`` joined
    with "; "), the match probability and the decision (``auto_merge`` at or above the
    auto-merge threshold, else ``review``)."""
    ids = sorted({people[i].id for p in found for i in (p.a, p.b)})
    external: dict[int, list[str]] = {}
    for start in range(0, len(ids), 1000):
        for cid, source, value in ExternalId.objects.filter(
            contact_id__in=ids[start : start + 1000]
        ).values_list("contact_id", "source", "value"):
            external.setdefault(cid, []).append(f"{source}:{value}")
    auto = auto_merge_threshold()
    writer = csv.writer(out)
    writer.writerow(PAIRS_HEADER)
    for p in found:
        a, b = sorted((people[p.a].id, people[p.b].id))
        writer.writerow(
            [
                a,
                b,
                "; ".join(sorted(external.get(a, []))),
                "; ".join(sorted(external.get(b, []))),
                f"{p.probability:.6f}",
                "auto_merge" if p.probability >= auto else "review",
            ]
        )


# -- decisions ----------------------------------------------------------------------


def _decide(cluster: DuplicateCluster, actor: Any, status: str) -> None:
    cluster.status = status
    cluster.decided_by = actor if getattr(actor, "pk", None) else None
    cluster.decided_at = timezone.now()
    cluster.save(update_fields=["status", "decided_by", "decided_at"])
    if cluster.kind == DuplicateCluster.Kind.CONTACT:
        quality_duplicates_mark(contact_ids=cluster_members(cluster))


@transaction.atomic
def cluster_dismiss(*, actor: Any, cluster_id: int) -> DuplicateCluster:
    """Mark a cluster "not duplicates": every pair of its contacts is remembered and never
    proposed again. Raises NotPermitted, or DuplicateCluster.DoesNotExist."""
    policy.require(actor, "duplicates.review")
    cluster = DuplicateCluster.objects.select_for_update().get(pk=cluster_id)
    if cluster.kind == DuplicateCluster.Kind.ORGANIZATION:
        # its pairs stay with the dismissed cluster, which later scans leave out
        _decide(cluster, actor, DuplicateCluster.Status.DISMISSED)
        return cluster
    members = sorted(cluster_members(cluster))
    NotDuplicate.objects.bulk_create(
        [
            NotDuplicate(contact_a_id=a, contact_b_id=b, decided_by=actor if actor.pk else None)
            for i, a in enumerate(members)
            for b in members[i + 1 :]
        ],
        ignore_conflicts=True,
    )
    _decide(cluster, actor, DuplicateCluster.Status.DISMISSED)
    return cluster


@transaction.atomic
def cluster_skip(*, actor: Any, cluster_id: int) -> DuplicateCluster:
    """Put a cluster aside until the next scan proposes it again."""
    policy.require(actor, "duplicates.review")
    cluster = DuplicateCluster.objects.select_for_update().get(pk=cluster_id)
    _decide(cluster, actor, DuplicateCluster.Status.SKIPPED)
    return cluster


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


def contacts_not_duplicates(*, actor: Any, contact_ids: Sequence[int]) -> int:
    """Remember that these contacts are all different people (from the entry check's
    "create anyway" or a review); returns how many pairs were recorded."""
    policy.require(actor, "duplicates.review")
    ids = sorted(set(contact_ids))
    rows = [
        NotDuplicate(contact_a_id=a, contact_b_id=b, decided_by=actor if actor.pk else None)
        for i, a in enumerate(ids)
        for b in ids[i + 1 :]
    ]
    NotDuplicate.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# -- decisions at entry ------------------------------------------------------------------


@transaction.atomic
def contact_create_into(
    *, actor: Any, data: Mapping[str, Any], contact_id: int, via: str = "ui"
) -> Any:
    """ "Merge into it" at entry: ``data`` as a new contact merged straight into the
    existing contact ``contact_id``, which keeps its own values where it has one and
    gains the rest (every new email, phone, address, tag). Recorded as a merge, so it
    can be undone. Raises InvalidInput (nothing saved) or NotPermitted; returns the
    Merge."""
    from rapport.contacts.services import contact_create
    from rapport.merges.selectors import merge_proposal
    from rapport.merges.services import contacts_merge

    policy.require(actor, "contacts.merge")
    if not Contact.objects.filter(pk=contact_id).exists():
        raise InvalidInput.single("merge_into", "That contact no longer exists.")
    new = contact_create(actor=actor, data=data, via=via)
    proposal = merge_proposal(actor=actor, kind="contact", ids=[contact_id, new.pk])
    choices = {
        f.name: contact_id for f in proposal.differing if f.values.get(contact_id) not in (None, "")
    }
    return contacts_merge(
        actor=actor, survivor_id=contact_id, merged_ids=[new.pk], choices=choices, via=via
    )


# -- organizations -------------------------------------------------------------------------


def organization_keys_refresh(*, organization_ids: Iterable[int]) -> None:
    """Bring these organizations' blocking keys in line with what is saved now."""
    ids = list(dict.fromkeys(organization_ids))
    if not ids:
        return
    found = records.organization_features_of(ids)
    wanted = {(oid, key) for oid, f in found.items() for key in organization_keys(f)}
    with transaction.atomic():
        stale = []
        for pk, oid, key in OrganizationMatchKey.objects.filter(
            organization_id__in=ids
        ).values_list("pk", "organization_id", "key"):
            if (oid, key) in wanted:
                wanted.discard((oid, key))
            else:
                stale.append(pk)
        OrganizationMatchKey.objects.filter(pk__in=stale).delete()
        bulk.insert_rows(
            OrganizationMatchKey, [{"organization_id": o, "key": k} for o, k in sorted(wanted)]
        )


@dataclass(frozen=True)
class OrganizationCandidate:
    """A saved organization that may be the same one, with why."""

    organization_id: int
    name: str
    probability: float
    explanation: list[dict[str, Any]]


def organization_duplicate_check(
    *, features: OrganizationFeatures, exclude: Collection[int] = (), limit: int = 5
) -> list[OrganizationCandidate]:
    """Saved organizations that are likely the one ``features`` describes, most likely
    first, at or above the review threshold."""
    keys = organization_keys(features)
    if not keys:
        return []
    ids = set(
        OrganizationMatchKey.objects.filter(key__in=sorted(keys))
        .exclude(organization_id__in=list(exclude))
        .values_list("organization_id", flat=True)[:MAX_CANDIDATES]
    )
    threshold = review_threshold()
    scored = []
    for oid, other in records.organization_features_of(sorted(ids)).items():
        probability, explanation = organization_score(features, other)
        if probability >= threshold:
            scored.append((probability, oid, explanation))
    scored.sort(key=lambda item: (-item[0], item[1]))
    names = dict(
        Organization.objects.filter(pk__in=[oid for _, oid, _ in scored]).values_list("pk", "name")
    )
    return [
        OrganizationCandidate(oid, names.get(oid, ""), round(p, 4), why)
        for p, oid, why in scored[:limit]
    ]


def organization_duplicate_check_input(
    *, actor: Any, data: Mapping[str, Any], organization_id: int | None = None, limit: int = 5
) -> list[OrganizationCandidate]:
    """The likely duplicates of an organization as ``data`` would create it (or, with
    ``organization_id``, as that one would be after this edit). Validates as the
    organization services do: raises InvalidInput, NotPermitted."""
    from rapport.contacts.services import organization_draft
    from rapport.contacts.services.organizations import _current

    policy.require(actor, "organizations.view")
    merged = dict(data)
    if organization_id is not None:
        current = Organization.objects.filter(pk=organization_id).first()
        if current is None:
            raise InvalidInput.single("id", "No such organization.")
        merged = {**_current(current), **data}
    draft = organization_draft(actor=actor, data=merged)
    features = organization_features(
        name=draft.fields.get("name") or "",
        legal_name=draft.fields.get("legal_name") or "",
        domains=draft.fields.get("domains") or [],
        website=draft.fields.get("website") or "",
        phones=[row["e164"] for row in draft.children.get("phones", ())],
        addresses=[
            (row.get("street", ""), row.get("locality", ""), row.get("postcode", ""))
            for row in draft.children.get("addresses", ())
        ],
    )
    exclude = {organization_id} if organization_id else set()
    return organization_duplicate_check(features=features, exclude=exclude, limit=limit)


def _organization_clusters(scan_row: DuplicateScan, threshold: float) -> int:
    """Compare every pair of organizations sharing a key; replace the open organization
    clusters with the ones found."""
    people = records.organization_features_of()
    blocks: dict[str, list[int]] = {}
    for oid, f in people.items():
        for key in organization_keys(f):
            blocks.setdefault(key, []).append(oid)
    # pairs of clusters a reviewer said were different organizations
    excluded = {
        (min(a, b), max(a, b))
        for a, b in OrganizationPair.objects.filter(
            cluster__status=DuplicateCluster.Status.DISMISSED
        ).values_list("organization_a_id", "organization_b_id")
    }
    seen: set[tuple[int, int]] = set()
    found: list[tuple[int, int, float, list[dict[str, Any]]]] = []
    for members in blocks.values():
        if len(members) < 2 or len(members) > 200:
            continue
        members.sort()
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if (a, b) in seen:
                    continue
                seen.add((a, b))
                probability, why = organization_score(people[a], people[b])
                if probability >= threshold and (a, b) not in excluded:
                    found.append((a, b, probability, why))
    DuplicateCluster.objects.filter(
        kind=DuplicateCluster.Kind.ORGANIZATION,
        status__in=[DuplicateCluster.Status.OPEN, DuplicateCluster.Status.SKIPPED],
    ).delete()
    parent = {oid: oid for pair in found for oid in pair[:2]}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, _, _ in found:
        parent[max(root(a), root(b))] = min(root(a), root(b))
    groups: dict[int, list[tuple[int, int, float, list[dict[str, Any]]]]] = {}
    for pair in found:
        groups.setdefault(root(pair[0]), []).append(pair)
    for group in groups.values():
        cluster = DuplicateCluster.objects.create(
            kind=DuplicateCluster.Kind.ORGANIZATION,
            scan=scan_row,
            origin=f"scan {scan_row.pk}",
            confidence=max(p[2] for p in group),
            size=len({x for p in group for x in p[:2]}),
        )
        OrganizationPair.objects.bulk_create(
            [
                OrganizationPair(
                    cluster=cluster,
                    organization_a_id=a,
                    organization_b_id=b,
                    probability=p,
                    explanation=why,
                )
                for a, b, p, why in group
            ]  # fmt: skip
        )
    return len(groups)
