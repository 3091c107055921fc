"""Reads of the duplicates area: the review queue, one cluster side by side, scans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from rapport.contacts.models import Contact, Organization
from rapport.contacts.selectors import Page, contact_prefetch
from rapport.core import policy
from rapport.core.cursor import decode_cursor, encode_cursor
from rapport.core.errors import InvalidInput
from rapport.duplicates.models import (
    DuplicateCluster,
    DuplicatePair,
    DuplicateScan,
    OrganizationPair,
)

MAX_LIMIT = 200


@dataclass
class ClusterView:
    """A cluster with its contacts or organizations (oldest first) and its pairs (most
    likely first)."""

    cluster: DuplicateCluster
    contacts: list[Any]
    pairs: list[Any]

    @property
    def is_organizations(self) -> bool:
        return self.cluster.kind == DuplicateCluster.Kind.ORGANIZATION


def cluster_list(
    *, actor: Any, status: str = "open", cursor: str | None = None, limit: int = 50
) -> Page:
    """Clusters with this status, the most confident first; keyset pages of ``limit``.
    Raises NotPermitted, InvalidInput for an unknown status, a bad cursor or limit."""
    policy.require(actor, "contacts.view")
    if status not in DuplicateCluster.Status.values:
        raise InvalidInput.single(
            "status", f"Must be one of: {', '.join(DuplicateCluster.Status.values)}."
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.single("limit", f"Must be between 1 and {MAX_LIMIT}.")
    qs = DuplicateCluster.objects.filter(status=status).order_by("-confidence", "id")
    if cursor:
        confidence, last_id = decode_cursor(cursor, 2)
        if not isinstance(confidence, int | float) or not isinstance(last_id, int):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        qs = qs.filter(Q(confidence__lt=confidence) | Q(confidence=confidence, id__gt=last_id))
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    _attach_members(rows)
    last = rows[-1] if rows else None
    return Page(
        items=rows,
        next_cursor=encode_cursor([last.confidence, last.pk]) if more and last else None,
    )


def _attach_members(clusters: list[DuplicateCluster]) -> None:
    """Give each cluster ``members``: (id, name) of its contacts or organizations."""
    by_cluster: dict[int, set[int]] = {c.pk: set() for c in clusters}
    for cid, a, b in DuplicatePair.objects.filter(cluster__in=clusters).values_list(
        "cluster_id", "contact_a_id", "contact_b_id"
    ):
        by_cluster[cid].update((a, b))
    org_members: dict[int, set[int]] = {c.pk: set() for c in clusters}
    for cid, a, b in OrganizationPair.objects.filter(cluster__in=clusters).values_list(
        "cluster_id", "organization_a_id", "organization_b_id"
    ):
        org_members[cid].update((a, b))
    people = set().union(*by_cluster.values()) if by_cluster else set()
    orgs = set().union(*org_members.values()) if org_members else set()
    names = dict(Contact.objects.filter(pk__in=people).values_list("pk", "display_name"))
    org_names = dict(Organization.objects.filter(pk__in=orgs).values_list("pk", "name"))
    for cluster in clusters:
        if cluster.kind == DuplicateCluster.Kind.ORGANIZATION:
            ids, known = sorted(org_members[cluster.pk]), org_names
        else:
            ids, known = sorted(by_cluster[cluster.pk]), names
        cluster.members = [(i, known.get(i, "")) for i in ids]  # type: ignore[attr-defined]


def cluster_get(*, actor: Any, cluster_id: int) -> ClusterView:
    """One cluster with everything a reviewer compares. Raises NotPermitted, or
    DuplicateCluster.DoesNotExist."""
    policy.require(actor, "contacts.view")
    cluster = DuplicateCluster.objects.get(pk=cluster_id)
    if cluster.kind == DuplicateCluster.Kind.ORGANIZATION:
        org_pairs = list(cluster.organization_pairs.order_by("-probability", "id"))
        ids = sorted({i for p in org_pairs for i in (p.organization_a_id, p.organization_b_id)})
        orgs = list(
            Organization.objects.filter(pk__in=ids)
            .prefetch_related("phones", "addresses")
            .order_by("pk")
        )
        return ClusterView(cluster=cluster, contacts=orgs, pairs=org_pairs)
    pairs = list(cluster.pairs.order_by("-probability", "id"))
    ids = sorted({i for p in pairs for i in (p.contact_a_id, p.contact_b_id)})
    contacts = list(contact_prefetch(Contact.objects.filter(pk__in=ids)).order_by("pk"))
    return ClusterView(cluster=cluster, contacts=contacts, pairs=pairs)


def next_open_cluster(*, actor: Any, after: DuplicateCluster | None = None) -> int | None:
    """The id of the open cluster to review after ``after`` in queue order, starting
    again from the top when ``after`` was the last (never ``after`` itself); the first
    open one without ``after``; None when none is open."""
    policy.require(actor, "contacts.view")
    qs = DuplicateCluster.objects.filter(status=DuplicateCluster.Status.OPEN).order_by(
        "-confidence", "id"
    )
    if after is None:
        return qs.values_list("pk", flat=True).first()
    following = qs.filter(
        Q(confidence__lt=after.confidence) | Q(confidence=after.confidence, id__gt=after.pk)
    )
    found = following.values_list("pk", flat=True).first()
    if found is None:
        found = qs.exclude(pk=after.pk).values_list("pk", flat=True).first()
    return found


def cluster_was_replaced(*, actor: Any, cluster_id: int) -> bool:
    """True when a missing cluster id is likely one a later scan replaced: a scan has run
    (before any, no cluster ever existed). Its link then leads on, not to a 404."""
    policy.require(actor, "contacts.view")
    return 0 < cluster_id < 2**63 and DuplicateScan.objects.exists()


def open_cluster_count(*, actor: Any) -> int:
    policy.require(actor, "contacts.view")
    return DuplicateCluster.objects.filter(status=DuplicateCluster.Status.OPEN).count()


def scan_get(*, actor: Any, scan_id: int) -> DuplicateScan:
    policy.require(actor, "contacts.view")
    return DuplicateScan.objects.get(pk=scan_id)


def scan_latest(*, actor: Any) -> DuplicateScan | None:
    policy.require(actor, "contacts.view")
    return DuplicateScan.objects.order_by("-created_at", "-id").first()


def scan_out(scan: DuplicateScan) -> dict[str, Any]:
    return {
        "id": scan.pk,
        "status": scan.status,
        "scope": scan.scope,
        "scope_detail": scan.scope_detail,
        "phase": scan.phase,
        "done": scan.done,
        "total": scan.total,
        "contacts": scan.contacts,
        "pairs_compared": scan.pairs_compared,
        "pairs_found": scan.pairs_found,
        "clusters_found": scan.clusters_found,
        "created_at": scan.created_at,
        "started_at": scan.started_at,
        "finished_at": scan.finished_at,
        "error": scan.error,
    }


def match_model_explain(*, actor: Any) -> dict[str, Any]:
    """The person match model in use: where its parameters came from, the prior, the
    thresholds, and every comparison level's m, u and weight in bits."""
    import math

    from rapport.duplicates.matching.model import model_source, model_table
    from rapport.duplicates.models import LearnedModel
    from rapport.duplicates.services import auto_merge_threshold, current_model, review_threshold

    policy.require(actor, "contacts.view")
    model = current_model()
    stored = LearnedModel.objects.filter(kind="person").values_list("learned_at", flat=True)
    return {
        "source": model_source(model),
        "learned_at": stored.first(),
        "population": model.population,
        "prior": model.prior,
        "prior_bits": round(math.log2(model.prior / (1 - model.prior)), 2),
        "review_threshold": review_threshold(),
        "auto_merge_threshold": auto_merge_threshold(),
        "learned": model.learned,
        "comparisons": model_table(model),
    }
