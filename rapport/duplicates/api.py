"""/api/v1/duplicates: the entry check, bulk scans, the review queue and its decisions.

Thin handlers: parse, call a selector or service, return what it gives.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from rapport.contacts.api._http import READ_ERRORS, WRITE_ERRORS, ObjectId, actor, sent
from rapport.contacts.schemas import MAX_ID, ContactIn
from rapport.duplicates import selectors, services
from rapport.duplicates.models import DuplicateCluster, DuplicatePair, OrganizationPair
from rapport.duplicates.schemas import CandidateOut, candidates_out

router = Router(tags=["duplicates"])


class CheckOut(Schema):
    candidates: list[CandidateOut]


class CheckParams(Schema):
    contact_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Check this contact as the body would change it."
    )
    limit: int = Field(5, ge=1, le=50)


@router.post("/check", response={200: CheckOut, **READ_ERRORS}, summary="Check for duplicates")
def check(request: HttpRequest, payload: ContactIn, params: Query[CheckParams]) -> Any:
    """Saved contacts that are likely the person in the body (a contact as you would
    create it), with the match probability and, per field, what agreed or disagreed and
    how much it counted. With `contact_id`, the body is an edit of that contact, which is
    left out. Nothing is saved."""
    found = services.contact_duplicate_check(
        actor=actor(request), data=sent(payload), contact_id=params.contact_id, limit=params.limit
    )
    return {"candidates": candidates_out(found)}


class NotDuplicatesIn(Schema):
    contact_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        ..., min_length=2, max_length=50
    )


@router.post(
    "/not-duplicates", response={200: dict[str, int], **WRITE_ERRORS}, summary="Not duplicates"
)
def not_duplicates(request: HttpRequest, payload: NotDuplicatesIn) -> Any:
    """Remember that these contacts are different people: they are never proposed
    together again. Ids that are not contacts are named in a 422 answer."""
    recorded = services.contacts_not_duplicates(
        actor=actor(request), contact_ids=payload.contact_ids
    )
    return {"pairs": recorded}


# -- scans ---------------------------------------------------------------------------


class ScanIn(Schema):
    scope: str = Field("all", description="all, segment or batch.")
    q: str = Field("", description="For a segment: the search, as on the contact list.")
    tags: list[str] = Field(default_factory=list, description="For a segment: tags.")
    batch: int | None = Field(None, ge=1, le=MAX_ID, description="For a batch scan.")


@router.post("/scans", response={202: dict[str, Any], **WRITE_ERRORS}, summary="Start a scan")
def start_scan(request: HttpRequest, payload: ScanIn) -> Status[dict[str, Any]]:
    """Search all contacts (or a segment, or one import batch) for duplicates in the
    background; poll the scan for its progress. The clusters found replace the open ones
    it covers in the review queue."""
    detail: dict[str, Any] = {}
    if payload.scope == "segment":
        detail = {"q": payload.q, "filters": {"tags": payload.tags}}
    elif payload.scope == "batch":
        detail = {"batch": payload.batch}
    scan = services.duplicates_scan_start(actor=actor(request), scope=payload.scope, detail=detail)
    return Status(202, selectors.scan_out(scan))


@router.get("/scans/{scan_id}", response={200: dict[str, Any], **READ_ERRORS}, summary="A scan")
def get_scan(request: HttpRequest, scan_id: ObjectId) -> Any:
    """A scan's status, progress (phase, done of total) and what it found."""
    return selectors.scan_out(selectors.scan_get(actor=actor(request), scan_id=scan_id))


# -- the review queue ----------------------------------------------------------------


class ClusterParams(Schema):
    status: str = Field("open", description="open, merged, dismissed or skipped.")
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=selectors.MAX_LIMIT)


def _pair_out(pair: DuplicatePair | OrganizationPair) -> dict[str, Any]:
    if isinstance(pair, OrganizationPair):
        a, b = pair.organization_a_id, pair.organization_b_id
    else:
        a, b = pair.contact_a_id, pair.contact_b_id
    return {"a": a, "b": b, "probability": pair.probability, "explanation": pair.explanation}


def _cluster_out(cluster: DuplicateCluster) -> dict[str, Any]:
    base = "organizations" if cluster.kind == DuplicateCluster.Kind.ORGANIZATION else "contacts"
    return {
        "id": cluster.pk,
        "kind": cluster.kind,
        "status": cluster.status,
        "confidence": cluster.confidence,
        "size": cluster.size,
        "origin": cluster.origin,
        "created_at": cluster.created_at,
        "decided_at": cluster.decided_at,
        "records": [
            {"id": cid, "name": name, "url": f"/api/v1/{base}/{cid}"}
            for cid, name in getattr(cluster, "members", [])
        ],
    }


@router.get("/clusters", response={200: dict[str, Any], **READ_ERRORS}, summary="Review queue")
def list_clusters(request: HttpRequest, params: Query[ClusterParams]) -> Any:
    """Clusters of likely duplicates, the most confident first, one page at a time."""
    page = selectors.cluster_list(
        actor=actor(request), status=params.status, cursor=params.cursor, limit=params.limit
    )
    return {"items": [_cluster_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/clusters/{cluster_id}", response={200: dict[str, Any], **READ_ERRORS}, summary="A cluster"
)
def get_cluster(request: HttpRequest, cluster_id: ObjectId) -> Any:
    """A cluster's contacts (or organizations) and every scored pair with its explanation."""
    view = selectors.cluster_get(actor=actor(request), cluster_id=cluster_id)
    view.cluster.members = [  # type: ignore[attr-defined]
        (c.pk, c.name if view.is_organizations else c.display_name) for c in view.contacts
    ]
    return {**_cluster_out(view.cluster), "pairs": [_pair_out(p) for p in view.pairs]}


@router.post(
    "/clusters/{cluster_id}/dismiss",
    response={200: dict[str, Any], **WRITE_ERRORS},
    summary="Not duplicates",
)
def dismiss_cluster(request: HttpRequest, cluster_id: ObjectId) -> Any:
    """The cluster's contacts are different people; never proposed together again."""
    services.cluster_dismiss(actor=actor(request), cluster_id=cluster_id)
    return get_cluster(request, cluster_id)


@router.post(
    "/clusters/{cluster_id}/skip", response={200: dict[str, Any], **WRITE_ERRORS}, summary="Skip"
)
def skip_cluster(request: HttpRequest, cluster_id: ObjectId) -> Any:
    """Put the cluster aside; the next scan proposes it again."""
    services.cluster_skip(actor=actor(request), cluster_id=cluster_id)
    return get_cluster(request, cluster_id)


@router.get("/model", response={200: dict[str, Any], **READ_ERRORS}, summary="The match model")
def match_model(request: HttpRequest) -> Any:
    """The person match model in use: `source` (defaults, anchor pairs or EM, and why),
    the prior, the thresholds, and for each comparison every level's `m`, `u` and
    `weight` in bits."""
    return selectors.match_model_explain(actor=actor(request))
