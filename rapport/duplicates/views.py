"""Duplicate pages: the review queue, one cluster side by side, scans and decisions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from rapport.contacts.normalize import phone_display
from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.duplicates import selectors, services
from rapport.duplicates.models import DuplicateCluster
from rapport.merges.selectors import merge_proposal


def _lines(items: Any) -> str:
    return "\n".join(str(item) for item in items if item)


def _address(a: Any) -> str:
    return ", ".join(x for x in (a.street, a.locality, a.postcode, a.country) if x)


# The rows of the side-by-side comparisons: label and how to read it from a record. A
# contact's lists come from contact_prefetch (no query per contact).
_CONTACT_ROWS: tuple[tuple[str, Any], ...] = (
    ("Name", lambda c: c.display_name),
    ("Given name", lambda c: c.given_name),
    ("Family name", lambda c: c.family_name),
    ("Suffix", lambda c: c.suffix),
    ("Emails", lambda c: _lines(e.address for e in c.email_list)),
    # one international form, so the same number typed two ways is not a difference
    ("Phones", lambda c: _lines(
        phone_display(p.e164) + (f" ext. {p.extension}" if p.extension else "")
        for p in c.phone_list
    )),
    ("Addresses", lambda c: _lines(_address(a) for a in c.address_list)),
    ("Job title", lambda c: c.job_title),
    ("Organization", lambda c: _lines(
        a.organization.name for a in c.affiliation_list if a.is_current
    )),
    ("Birthday", lambda c: c.birthday or ""),
    ("Tags", lambda c: _lines(t.name for t in c.tag_list)),
    ("Source", lambda c: c.source),
    ("External ids", lambda c: _lines(f"{x.source}: {x.value}" for x in c.external_id_list)),
)  # fmt: skip
_ORGANIZATION_ROWS: tuple[tuple[str, Any], ...] = (
    ("Name", lambda o: o.name),
    ("Legal name", lambda o: o.legal_name),
    ("Web domains", lambda o: _lines(o.domains)),
    ("Website", lambda o: o.website),
    ("Phones", lambda o: _lines(p.number for p in o.phones.all())),
    ("Addresses", lambda o: _lines(_address(a) for a in o.addresses.all())),
    ("Industry", lambda o: o.industry),
)


def comparison_rows(records: list[Any], rows: tuple[tuple[str, Any], ...]) -> list[dict[str, Any]]:
    """For each field, every record's value as text and whether they differ; fields no
    record has are left out."""
    out = []
    for label, read in rows:
        texts = [str(read(r) or "") for r in records]
        if any(texts):
            out.append({"label": label, "values": texts, "differs": len(set(texts)) > 1})
    return out


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
    view = selectors.cluster_get(actor=request.user, cluster_id=pk)
    orgs = view.is_organizations
    names = {c.pk: (c.name if orgs else c.display_name) for c in view.contacts}
    pairs = []
    for p in view.pairs:
        a, b = (
            (p.organization_a_id, p.organization_b_id) if orgs else (p.contact_a_id, p.contact_b_id)
        )
        pairs.append({"pair": p, "a": names.get(a), "b": names.get(b)})
    context: dict[str, Any] = {
        "view": view,
        "rows": comparison_rows(view.contacts, _ORGANIZATION_ROWS if orgs else _CONTACT_ROWS),
        "pairs": pairs,
        "next_id": selectors.next_open_cluster(actor=request.user, after=view.cluster),
    }
    context["after_merge"] = (
        reverse("duplicates:cluster", args=[context["next_id"]])
        if context["next_id"]
        else reverse("duplicates:queue")
    )
    kind = "organization" if orgs else "contact"
    decidable = view.cluster.status in (
        DuplicateCluster.Status.OPEN,
        DuplicateCluster.Status.SKIPPED,
    )
    if decidable and len(view.contacts) > 1 and policy.can(request.user, f"{kind}s.merge"):
        # the oldest record survives by default: links and history most likely point at it
        context["proposal"] = merge_proposal(
            actor=request.user, kind=kind, ids=[c.pk for c in view.contacts]
        )
    return render(request, "duplicates/cluster.html", context)


def _after_decision(request: HttpRequest, cluster_id: int) -> HttpResponse:
    current = DuplicateCluster.objects.filter(pk=cluster_id).first()
    following = selectors.next_open_cluster(actor=request.user, after=current)
    if following is not None:
        return redirect("duplicates:cluster", pk=following)
    messages.info(request, "No more clusters to review.")
    return redirect("duplicates:queue")


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
