"""Merge pages: pick records, compare them, merge; the list of merges, unmerge."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from rapport.contacts import selectors as contact_selectors
from rapport.contacts.models import Contact, Organization
from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.merges import fields as mf
from rapport.merges import selectors, services

KINDS = {"contacts": mf.CONTACT, "organizations": mf.ORGANIZATION}


def _ids(values: list[str]) -> list[int]:
    ids: list[int] = []
    for value in values:
        for part in value.split(","):
            if part.strip().isdecimal() and int(part) not in ids and int(part) < 2**63:
                ids.append(int(part))
    return ids


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _candidates(request: HttpRequest, kind: str, q: str, chosen: list[int]) -> list[Any]:
    if not q.strip():
        return []
    try:
        if kind == mf.CONTACT:
            found = contact_selectors.contact_list(actor=request.user, q=q, limit=10).items
        else:
            found = contact_selectors.organization_list(actor=request.user, q=q, limit=10).items
    except InvalidInput:
        return []
    return [x for x in found if x.pk not in chosen]


@page
def merge_start(request: HttpRequest, kind_path: str) -> HttpResponse:
    """Pick the records (search, tick), then compare them side by side and choose."""
    kind = KINDS[kind_path]
    policy.require(request.user, services_permission(kind))
    ids = _ids(request.GET.getlist("ids"))
    survivor = request.GET.get("survivor", "")
    if survivor.isdecimal() and int(survivor) in ids:
        ids.remove(int(survivor))
        ids.insert(0, int(survivor))
    q = request.GET.get("q", "")
    proposal, error = None, None
    if len(ids) >= 2:
        try:
            proposal = selectors.merge_proposal(actor=request.user, kind=kind, ids=ids)
        except InvalidInput as exc:
            error = exc
    chosen: list[Any] = []
    if proposal is None and ids:
        model = Contact if kind == mf.CONTACT else Organization
        chosen = list(model.objects.filter(pk__in=ids))
    context = {
        "kind": kind,
        "kind_path": kind_path,
        "noun": "contact" if kind == mf.CONTACT else "organization",
        "ids": ids,
        "q": q,
        "chosen": chosen,
        "candidates": _candidates(request, kind, q, ids) if proposal is None else [],
        "proposal": proposal,
        "error": error,
        "next": _safe_next(request, ""),
    }
    return render(request, "merges/merge_start.html", context)


def services_permission(kind: str) -> str:
    return "contacts.merge" if kind == mf.CONTACT else "organizations.merge"


def _choices(post: QueryDict) -> dict[str, int]:
    return {
        key.removeprefix("choice-"): int(str(value))
        for key, value in post.items()
        if key.startswith("choice-") and str(value).isdecimal()
    }


@page
@require_POST
def merge_do(request: HttpRequest, kind_path: str) -> HttpResponse:
    """First POST shows what will happen; the second (``confirm``) merges."""
    kind = KINDS[kind_path]
    policy.require(request.user, services_permission(kind))
    ids = _ids(request.POST.getlist("ids"))
    raw = str(request.POST.get("survivor", ""))
    survivor = int(raw) if raw.isdecimal() else 0
    merged = [pk for pk in ids if pk != survivor]
    choices = _choices(request.POST)
    back = reverse("merges:start", args=[kind_path])
    if not request.POST.get("confirm"):
        try:
            proposal = selectors.merge_proposal(
                actor=request.user, kind=kind, ids=[survivor, *merged]
            )
        except InvalidInput as exc:
            messages.error(request, " ".join(e.message for e in exc.errors))
            return redirect(back)
        picked = [
            (f, choices.get(f.name, f.default), f.values.get(choices.get(f.name, f.default), ""))
            for f in proposal.fields
            if f.choosable
        ]
        context = {
            "kind_path": kind_path,
            "noun": "contact" if kind == mf.CONTACT else "organization",
            "proposal": proposal,
            "survivor": next(x for x in proposal.records if x.pk == survivor),
            "merged": [x for x in proposal.records if x.pk != survivor],
            "picked": picked,
            "choices": choices,
            "next": _safe_next(request, ""),
        }
        return render(request, "merges/merge_confirm.html", context)
    service = services.contacts_merge if kind == mf.CONTACT else services.organizations_merge
    try:
        merge = service(
            actor=request.user, survivor_id=survivor, merged_ids=merged, choices=choices, via="ui"
        )
    except InvalidInput as exc:
        messages.error(request, "Nothing was merged: " + " ".join(e.message for e in exc.errors))
        query = "&".join(f"ids={pk}" for pk in [survivor, *merged])
        return redirect(f"{back}?{query}")
    detail = (
        reverse("contacts:detail", args=[survivor])
        if kind == mf.CONTACT
        else reverse("contacts:organization", args=[survivor])
    )
    messages.success(
        request,
        format_html(
            'Merged {} {} into {}. <a href="{}">Undo merge #{}</a>',
            len(merged),
            "record" if len(merged) == 1 else "records",
            _current_name(kind, survivor) or merge.names.get(str(survivor), ""),
            reverse("merges:undo", args=[merge.pk]),
            merge.pk,
        ),
    )
    return redirect(_safe_next(request, detail))


def _current_name(kind: str, pk: int) -> str:
    """The record's name now: a merge may have given the survivor another one's name."""
    if kind == mf.CONTACT:
        return str(Contact.objects.filter(pk=pk).values_list("display_name", flat=True).first())
    return str(Organization.objects.filter(pk=pk).values_list("name", flat=True).first())


@page
def merge_list(request: HttpRequest) -> HttpResponse:
    result = selectors.merge_list(
        actor=request.user, cursor=request.GET.get("cursor") or None, limit=25
    )
    return render(request, "merges/merge_list.html", {"page": result})


@page
@require_http_methods(["GET", "POST"])
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST splits the merge."""
    merge = selectors.merge_get(actor=request.user, merge_id=pk)
    policy.require(request.user, services_permission(merge.kind))
    if request.method == "POST":
        try:
            merge = services.merge_undo(actor=request.user, merge_id=pk, via="ui")
        except InvalidInput as exc:
            messages.error(request, " ".join(e.message for e in exc.errors))
            return redirect("merges:list")
        messages.success(request, f"Merge #{merge.pk} was undone.")
        for note in merge.undo_notes:
            messages.info(request, note)
        return redirect(
            reverse("contacts:detail", args=[merge.survivor_id])
            if merge.kind == mf.CONTACT
            else reverse("contacts:organization", args=[merge.survivor_id])
        )
    return render(request, "merges/undo_confirm.html", {"merge": merge})
