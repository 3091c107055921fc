"""Duplicate pages: the review queue, one cluster side by side, scans and decisions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.duplicates import selectors, services
from rapport.duplicates.models import DuplicateCluster
from rapport.merges.selectors import MergeProposal, merge_proposal


def comparison_rows(proposal: MergeProposal) -> list[dict[str, Any]]:
    """For each field of the merge (one definition: ``merges.fields`` and the kept lists),
    every record's value as text, whether they differ, and for a field a merge picks,
    which record's value the suggested merge keeps; fields no record has are left out."""
    out = []
    for f in proposal.fields:
        texts = [f.values.get(pk, "") for pk in proposal.ids]
        if not any(texts):
            continue
        kept = proposal.ids.index(f.default) if f.choosable and f.differ else None
        out.append(
            {
                "label": f.label,
                "values": texts,
                "differs": f.differ,
                "kept": kept,
                "reason": f.reason if kept is not None else "",
            }
        )
    return out


@page
def match_model(request: HttpRequest) -> HttpResponse:
    """How pairs are weighed: the model in use and where its parameters came from."""
    model = selectors.match_model_explain(actor=request.user)
    return render(request, "duplicates/model.html", {"model": model})


@page
def queue(request: HttpRequest) -> HttpResponse:
    """Open clusters, the most confident first, and the latest scan."""
    status = request.GET.get("status") or "open"
    try:
        result = selectors.cluster_list(
            actor=request.user, status=status, cursor=request.GET.get("cursor") or None
        )
    except InvalidInput as exc:
        return render(request, "duplicates/queue.html", {"error": exc}, status=400)
    context = {
        "page": result,
        "status": status,
        "statuses": DuplicateCluster.Status.choices,
        "scan": selectors.scan_latest(actor=request.user),
        "open_count": selectors.open_cluster_count(actor=request.user),
    }
    return render(request, "duplicates/queue.html", context)


@page
def scan_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The scan's progress as a fragment the queue page polls while it runs."""
    scan = selectors.scan_get(actor=request.user, scan_id=pk)
    return render(request, "duplicates/_scan_status.html", {"scan": scan})


@page
@require_POST
def scan_start(request: HttpRequest) -> HttpResponse:
    try:
        services.duplicates_scan_start(actor=request.user)
    except InvalidInput as exc:
        messages.error(request, "; ".join(e.message for e in exc.errors))
    else:
        messages.success(request, "Searching all contacts for duplicates in the background.")
    return redirect("duplicates:queue")


@page
def cluster(request: HttpRequest, pk: int) -> HttpResponse:
    """One cluster side by side, differing fields highlighted, with why it was proposed."""
    try:
        view = selectors.cluster_get(actor=request.user, cluster_id=pk)
    except DuplicateCluster.DoesNotExist:
        if not selectors.cluster_was_replaced(actor=request.user, cluster_id=pk):
            raise
        # a scan found these records no longer alike (or grouped them anew): go on
        messages.info(request, "That cluster is no longer proposed: a newer scan replaced it.")
        return _after_decision(request, pk)
    orgs = view.is_organizations
    names = {c.pk: (c.name if orgs else c.display_name) for c in view.contacts}
    pairs = []
    for p in view.pairs:
        a, b = (
            (p.organization_a_id, p.organization_b_id) if orgs else (p.contact_a_id, p.contact_b_id)
        )
        pairs.append({"pair": p, "a": names.get(a), "b": names.get(b)})
    kind = "organization" if orgs else "contact"
    ids = [c.pk for c in view.contacts]
    # one comparison for reading and merging; the oldest record survives by default:
    # links and history most likely point at it
    proposal = merge_proposal(actor=request.user, kind=kind, ids=ids) if len(ids) > 1 else None
    context: dict[str, Any] = {
        "view": view,
        "rows": comparison_rows(proposal) if proposal else [],
        "pairs": pairs,
        "next_id": selectors.next_open_cluster(actor=request.user, after=view.cluster),
    }
    # the next cluster is found after the merge, which may close or change others
    context["after_merge"] = reverse("duplicates:cluster_next", args=[view.cluster.pk])
    decidable = view.cluster.status in (
        DuplicateCluster.Status.OPEN,
        DuplicateCluster.Status.SKIPPED,
    )
    if decidable and proposal and policy.can(request.user, f"{kind}s.merge"):
        context["proposal"] = proposal
    return render(request, "duplicates/cluster.html", context)


def _after_decision(request: HttpRequest, cluster_id: int) -> HttpResponse:
    current = DuplicateCluster.objects.filter(pk=cluster_id).first()
    following = selectors.next_open_cluster(actor=request.user, after=current)
    if following is not None:
        return redirect("duplicates:cluster", pk=following)
    messages.info(request, "No more clusters to review.")
    return redirect("duplicates:queue")


@page
def cluster_next(request: HttpRequest, pk: int) -> HttpResponse:
    """Where a decision on cluster ``pk`` made elsewhere (a merge) goes on to: the next
    open cluster, or the queue when none is left."""
    return _after_decision(request, pk)


@page
@require_POST
def cluster_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    services.cluster_dismiss(actor=request.user, cluster_id=pk)
    messages.success(request, "Marked as different people; they will not be proposed again.")
    return _after_decision(request, pk)


@page
@require_POST
def cluster_skip(request: HttpRequest, pk: int) -> HttpResponse:
    services.cluster_skip(actor=request.user, cluster_id=pk)
    return _after_decision(request, pk)
