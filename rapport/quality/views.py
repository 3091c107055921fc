"""Data quality pages: the audit, contacts with one problem, suggestions, confirmations."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from rapport.contacts.models import Contact
from rapport.contacts.views._common import page
from rapport.core.errors import InvalidInput
from rapport.quality import enrichment, rules, selectors, services
from rapport.quality.models import Suggestion


def _scope(request: HttpRequest) -> selectors.Scope:
    return selectors.scope_from(
        source=request.GET.get("source") or None, batch=request.GET.get("batch") or None
    )


@page
def audit(request: HttpRequest) -> HttpResponse:
    """The audit of everything, one source or one import batch, with the trend."""
    try:
        scope = _scope(request)
    except InvalidInput as exc:
        return render(request, "quality/audit.html", {"error": exc}, status=400)
    report = selectors.audit_report(actor=request.user, scope=scope)
    context: dict[str, Any] = {
        "report": report,
        "scope": scope,
        "trend": selectors.audit_trend(actor=request.user, scope=scope),
        "sources": selectors.source_summary(actor=request.user),
        "batches": selectors.recent_batches(actor=request.user),
        "rules": rules.RULES,
    }
    context["chart_data"] = {"distribution": report.distribution, "trend": context["trend"]}
    return render(request, "quality/audit.html", context)


@page
def problem_contacts(request: HttpRequest, problem: str) -> HttpResponse:
    """Contacts with one problem, in id order, a keyset page at a time."""
    try:
        scope = _scope(request)
        result = selectors.contacts_with_problem(
            actor=request.user,
            problem=problem,
            scope=scope,
            cursor=request.GET.get("cursor") or None,
        )
    except InvalidInput as exc:
        return render(request, "quality/problem.html", {"error": exc}, status=400)
    context = {"page": result, "rule": rules.RULES_BY_CODE[problem], "scope": scope}
    return render(request, "quality/problem.html", context)


@page
@require_POST
def contact_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """ "These details are current": restarts the stale clock."""
    contact = Contact.objects.get(pk=pk)
    services.contact_verify(actor=request.user, contact=contact)
    messages.success(request, f"{contact.display_name}: details confirmed as current.")
    return redirect("contacts:detail", pk=pk)


def _suggestion_filters(params: Any) -> selectors.SuggestionFilters:
    return selectors.SuggestionFilters(
        status=params.get("status", Suggestion.Status.PENDING) or "",
        field=params.get("field") or None,
        provider=params.get("provider") or None,
    )


@page
def suggestion_list(request: HttpRequest) -> HttpResponse:
    """Pending (or decided) suggestions with filters, select-all and accept/reject."""
    error, result = None, None
    try:
        filters = _suggestion_filters(request.GET)
        result = selectors.suggestion_list(
            actor=request.user, filters=filters, cursor=request.GET.get("cursor") or None
        )
    except InvalidInput as exc:
        error = exc
    context = {
        "page": result,
        "error": error,
        "statuses": Suggestion.Status.choices,
        "fields": Suggestion.Field.choices,
        "providers": [p.name for p in enrichment.default_providers()],
        "counts": selectors.suggestion_counts(actor=request.user),
    }
    return render(request, "quality/suggestions.html", context, status=400 if error else 200)


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("quality:suggestions")
    return redirect(target)


@page
@require_POST
def suggestion_decide(request: HttpRequest) -> HttpResponse:
    """Accept or reject the ticked suggestions, or every one matching the filters."""
    if request.POST.get("scope") == "matching":
        ids = selectors.suggestion_ids(
            actor=request.user, filters=_suggestion_filters(request.POST)
        )
    else:
        ids = [int(x) for x in request.POST.getlist("ids") if x.isdecimal()]
    if not ids:
        messages.error(request, "Tick at least one suggestion.")
        return _back(request)
    if request.POST.get("action") == "reject":
        count = services.suggestion_reject(actor=request.user, suggestion_ids=ids)
        messages.success(request, f"Rejected {count} suggestion{'s' if count != 1 else ''}.")
        return _back(request)
    result = services.suggestion_accept_many(actor=request.user, suggestion_ids=ids)
    accepted = result["accepted"]
    messages.success(request, f"Applied {accepted} suggestion{'s' if accepted != 1 else ''}.")
    for failure in result["failed"][:10]:
        messages.error(request, f"Suggestion {failure['id']} not applied: {failure['reason']}")
    if len(result["failed"]) > 10:
        messages.error(request, f"… and {len(result['failed']) - 10} more not applied.")
    return _back(request)


@page
@require_POST
def suggestion_generate(request: HttpRequest) -> HttpResponse:
    """Run the providers over every contact (or one source) now."""
    try:
        scope = selectors.scope_from(
            source=request.POST.get("source") or None, batch=request.POST.get("batch") or None
        )
    except InvalidInput as exc:
        messages.error(request, exc.errors[0].message)
        return _back(request)
    counts = services.enrichment_generate(actor=request.user, scope=scope)
    total = sum(counts.values())
    messages.success(request, f"{total} new suggestion{'s' if total != 1 else ''}.")
    return _back(request)
