"""The bulk scan: a whole database, a segment or an import batch; clusters for review."""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from rapport.contacts.models import Contact, ExternalId
from rapport.core import jobs, policy
from rapport.core.errors import InvalidInput
from rapport.duplicates import records
from rapport.duplicates.matching.features import PersonFeatures
from rapport.duplicates.matching.model import (
    MatchModel,
    contradicted,
    default_model,
    explanation_contradicted,
    model_source,
)
from rapport.duplicates.matching.organizations import (
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
    OrganizationPair,
)
from rapport.duplicates.scanning import Progress, ScoredPair, clusters, connected, scan

# Rows fetched per key at entry: a key shared by more contacts (a switchboard, "Smith J")
# proposes only this many of them; the other keys still find the rest.
from rapport.duplicates.services._common import (
    LARGE_SCOPE_SHARE,
    auto_merge_threshold,
    cluster_members,
    current_model,
    forget_model,
    key_holders,
    review_threshold,
)
from rapport.quality.services import quality_duplicates_mark

logger = logging.getLogger(__name__)

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
        holders = key_holders(ordered[start : start + 200])
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
    claim = jobs.job_claim(
        DuplicateScan,
        scan_id,
        startable=(DuplicateScan.Status.QUEUED,),
        running=DuplicateScan.Status.RUNNING,
        started_at=timezone.now(),
        error="",
    )
    scan_row = DuplicateScan.objects.get(pk=scan_id)
    if claim is None:
        raise InvalidInput.single(
            "status", f"Scan {scan_id} is {scan_row.get_status_display().lower()}."
        )
    with jobs.job_heartbeat(claim):
        return _scan_run_claimed(claim, scan_row, progress, pairs_out)


def duplicates_scan_stopped_message(scan_row: DuplicateScan) -> str:
    """What ``jobs_recover`` records on a scan whose worker died."""
    return (
        f"The process running this scan stopped during {scan_row.phase or 'its start'} "
        f"({jobs.last_heard(scan_row)}); start a new scan."
    )


def _scan_run_claimed(
    claim: jobs.Claim,
    scan_row: DuplicateScan,
    progress: Progress | None,
    pairs_out: IO[str] | None,
) -> DuplicateScan:
    scan_id = scan_row.pk
    report: Progress = progress or (lambda phase, done, total: None)
    last_save = [0.0]

    def tell(phase: str, done: int, total: int) -> None:
        report(phase, done, total)
        now = time.monotonic()
        if now - last_save[0] > 1.0:
            last_save[0] = now
            claim.update(phase=phase, done=done, total=total)

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
        if full:
            logger.info("Duplicate scan %s: %s", scan_id, model_source(result.model))
        if scope is not None:
            inside = set(scope)
            found = [p for p in found if people[p.a].id in inside or people[p.b].id in inside]
        if pairs_out is not None:
            write_pairs(pairs_out, people, found)
        with transaction.atomic():
            claim.confirm()  # the results replace the open clusters only while it holds
            if full:
                LearnedModel.objects.update_or_create(
                    kind="person", defaults={"parameters": result.model.as_json()}
                )
            made = _save_clusters(scan_row, people, found, result.model, scope)
            if full:
                made += _organization_clusters(scan_row, threshold)
        forget_model()
        auto_merged = _auto_merge(claim, scan_row) if settings.RAPPORT_DUPLICATE_AUTO_MERGE else 0
        quality_duplicates_mark()
        claim.update(
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
    except jobs.ClaimLost:
        raise  # the scan is another process's now
    except Exception as exc:
        claim.update(
            status=DuplicateScan.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:2000]
        )
        raise
    return DuplicateScan.objects.get(pk=scan_id)


def _auto_merge(claim: jobs.Claim, scan_row: DuplicateScan) -> int:
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
        if any(map(explanation_contradicted, cluster.pairs.values_list("explanation", flat=True))):
            continue  # a birthday or Jr./Sr. that disagrees: for a person to decide
        members = sorted(cluster_members(cluster))
        try:
            with transaction.atomic():
                claim.confirm()
                contacts_merge(
                    actor=actor, survivor_id=members[0], merged_ids=members[1:], via="auto"
                )
        except InvalidInput:
            continue  # e.g. a reporting loop: left for a person to review
        merged += 1
    return merged


def _members_of(pairs: Iterable[tuple[int, int, int]]) -> dict[int, frozenset[int]]:
    """Each cluster's record ids, from its pairs' (cluster, a, b) rows."""
    members: dict[int, set[int]] = {}
    for cluster_id, a, b in pairs:
        members.setdefault(cluster_id, set()).update((a, b))
    return {pk: frozenset(ids) for pk, ids in members.items()}


def _kept_ids(
    groups: Sequence[frozenset[int]], before: dict[int, frozenset[int]]
) -> list[int | None]:
    """For each cluster a scan found, the id of the undecided cluster it replaces, so a
    rescan does not break a review link: the same records first, then the one sharing
    most of them (at least half of both together); each old id is given once."""
    kept: list[int | None] = [None] * len(groups)
    by_members = {members: pk for pk, members in before.items()}
    free = dict(before)
    for i, group in enumerate(groups):
        pk = by_members.get(group)
        if pk is not None and pk in free:
            kept[i] = pk
            del free[pk]
    holders: dict[int, list[int]] = {}
    for pk, members in free.items():
        for record in members:
            holders.setdefault(record, []).append(pk)
    scored = []
    for i, group in enumerate(groups):
        if kept[i] is not None:
            continue
        for pk in {pk for record in group for pk in holders.get(record, [])}:
            overlap = len(group & free[pk]) / len(group | free[pk])
            if overlap >= 0.5:
                scored.append((-overlap, pk, i))
    for _, pk, i in sorted(scored):
        if kept[i] is None and pk in free:
            kept[i] = pk
            del free[pk]
    return kept


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
    before = _members_of(
        DuplicatePair.objects.filter(cluster__in=stale.values("pk")).values_list(
            "cluster_id", "contact_a_id", "contact_b_id"
        )
    )
    stale.delete()
    groups = clusters(found)
    kept = _kept_ids(
        [frozenset(people[i].id for p in group for i in (p.a, p.b)) for group in groups], before
    )
    made = DuplicateCluster.objects.bulk_create(
        [
            DuplicateCluster(
                pk=pk,
                scan=scan_row,
                origin=f"scan {scan_row.pk}",
                confidence=round(max(p.probability for p in group), 6),
                size=len({people[i].id for p in group for i in (p.a, p.b)}),
            )
            for group, pk in zip(groups, kept, strict=True)
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
                explanation=model.explain(p.levels, p.name_holders, p.area_holders),
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
    auto-merge threshold with no contradiction, see model.CONTRADICTIONS; else
    ``review``)."""
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
                "auto_merge" if p.probability >= auto and not contradicted(p.levels) else "review",
            ]
        )


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
    stale = DuplicateCluster.objects.filter(
        kind=DuplicateCluster.Kind.ORGANIZATION,
        status__in=[DuplicateCluster.Status.OPEN, DuplicateCluster.Status.SKIPPED],
    )
    before = _members_of(
        OrganizationPair.objects.filter(cluster__in=stale.values("pk")).values_list(
            "cluster_id", "organization_a_id", "organization_b_id"
        )
    )
    stale.delete()
    groups = connected(found, lambda pair: (pair[0], pair[1]))
    kept = _kept_ids([frozenset(x for p in group for x in p[:2]) for group in groups], before)
    made = DuplicateCluster.objects.bulk_create(
        [
            DuplicateCluster(
                pk=pk,
                kind=DuplicateCluster.Kind.ORGANIZATION,
                scan=scan_row,
                origin=f"scan {scan_row.pk}",
                confidence=max(p[2] for p in group),
                size=len({x for p in group for x in p[:2]}),
            )
            for group, pk in zip(groups, kept, strict=True)
        ]
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
            for cluster, group in zip(made, groups, strict=True)
            for a, b, p, why in group
        ],  # fmt: skip
        batch_size=2000,
    )
    return len(made)
