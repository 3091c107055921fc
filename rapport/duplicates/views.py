"""Duplicate pages: the review queue, one cluster side by side, scans and decisions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from rapport.contacts.models import Contact
from rapport.contacts.services import contact_values
from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.duplicates import selectors, services
from rapport.duplicates.models import DuplicateCluster
from rapport.merges.selectors import merge_proposal

# The rows of the side-by-side comparison: label and how to read it from contact_values.
_ROWS: tuple[tuple[str, str], ...] = (
    ("Name", "display_name"),
    ("Given name", "given_name"),
    ("Family name", "family_name"),
    ("Suffix", "suffix"),
    ("Emails", "emails"),
    ("Phones", "phones"),
    ("Addresses", "addresses"),
    ("Job title", "job_title"),
    ("Birthday", "birthday"),
    ("Tags", "tags"),
    ("Source", "source"),
    ("External ids", "external_ids"),
)


def _text(value: Any) -> str:
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, dict):
                text = (
                    item.get("address")
                    or item.get("number")
                    or ", ".join(
                        str(item.get(k) or "")
                        for k in ("street", "locality", "postcode", "country")
                        if item.get(k)
                    )
                    or (f"{item.get('source')}: {item.get('id')}" if item.get("source") else "")
                )
                parts.append(str(text))
            else:
                parts.append(str(getattr(item, "name", item)))
        return "\n".join(p for p in parts if p)
    return "" if value is None else str(value)


def organization_rows(orgs: list[Any]) -> list[dict[str, Any]]:
    """For each organization field, every organization's value and whether they differ."""
    rows = []
    fields = [
        ("Name", lambda o: o.name),
        ("Legal name", lambda o: o.legal_name),
        ("Web domains", lambda o: "\n".join(o.domains)),
        ("Website", lambda o: o.website),
        ("Phones", lambda o: "\n".join(p.number for p in o.phones.all())),
        (
            "Addresses",
            lambda o: "\n".join(
                ", ".join(x for x in (a.street, a.locality, a.postcode, a.country) if x)
                for a in o.addresses.all()
            ),
        ),
        ("Industry", lambda o: o.industry),
    ]
    for label, read in fields:
        texts = [str(read(o) or "") for o in orgs]
        rows.append({"label": label, "values": texts, "differs": len(set(texts)) > 1})
    return [r for r in rows if any(r["values"])]


def comparison_rows(contacts: list[Contact]) -> list[dict[str, Any]]:
    """For each field, every contact's value as text and whether they differ."""
    values = [{**contact_values(c), "display_name": c.display_name} for c in contacts]
    organizations = [
        ", ".join(a.organization.name for a in c.affiliations.all() if a.is_current)
        for c in contacts
    ]
    rows = []
    for label, key in _ROWS:
        texts = [_text(v.get(key)) for v in values]
        rows.append({"label": label, "values": texts, "differs": len(set(texts)) > 1})
    rows.insert(
        8,
        {
            "label": "Organization",
            "values": organizations,
            "differs": len(set(organizations)) > 1,
        },
    )
    return [r for r in rows if any(r["values"])]


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
        "rows": organization_rows(view.contacts) if orgs else comparison_rows(view.contacts),
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
