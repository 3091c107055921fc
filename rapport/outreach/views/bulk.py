"""Bulk sends from the contact list: the form the list's bulk bar opens (what to send,
for which purpose, now or when allowed), the list of past sends, the job's page
(progress, counts by outcome) and its per-recipient results as CSV."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from rapport.consent.models import Purpose
from rapport.contacts import forms as contact_forms
from rapport.contacts.views._common import is_htmx, page, vary_on_htmx
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.outreach.models import BulkSend, MessageTemplate
from rapport.outreach.selectors import bulk as selectors
from rapport.outreach.services import bulk


def _selection(params: QueryDict) -> list[int] | None:
    if params.get("scope") == "all":
        return None
    ids: list[int] = []
    for value in params.getlist("id"):
        if not value.isdecimal() or len(value) > 18:
            raise InvalidInput.single("ids", "Ids must be whole numbers.")
        ids.append(int(value))
    return ids


@page
@require_http_methods(["GET", "POST"])
def bulk_new(request: HttpRequest) -> HttpResponse:
    """The bulk bar's "Send email…": choose the purpose and the message, then send."""
    policy.require(request.user, "messages.send")
    params = request.POST if request.method == "POST" else request.GET
    query = params.get("query", "")
    listed = QueryDict(query)
    errors: dict[str, str] = {}
    try:
        ids = _selection(params)
    except InvalidInput as exc:
        messages.error(request, " ".join(e.message for e in exc.errors))
        return redirect(reverse("contacts:list") + (f"?{query}" if query else ""))
    if request.method == "POST":
        try:
            job = bulk.bulk_send_start(
                actor=request.user,
                purpose=params.get("purpose", ""),
                ids=ids,
                q=listed.get("q", "") if ids is None else "",
                filters=contact_forms.contact_filters(listed) if ids is None else None,
                sort=listed.get("sort", "") if ids is None else "",
                template=params.get("template") or None,
                subject=params.get("subject", ""),
                body_text=params.get("body_text", ""),
                when=params.get("when", "now"),
                via="ui",
                base_url=request.build_absolute_uri("/").rstrip("/"),
            )
        except InvalidInput as exc:
            errors = {e.path: e.message for e in exc.errors}
        else:
            return redirect("outreach:bulk_send", pk=job.pk)
    context: dict[str, Any] = {
        "ids": ids or [],
        "scope": "all" if ids is None else "selected",
        "query": query,
        "count": len(ids) if ids is not None else None,
        "purposes": Purpose.objects.filter(archived_at__isnull=True).order_by("name"),
        "templates": MessageTemplate.objects.order_by("name"),
        "values": params,
        "errors": errors,
        "back": reverse("contacts:list") + (f"?{query}" if query else ""),
    }
    return render(request, "outreach/bulk_new.html", context, status=422 if errors else 200)


@page
def bulk_list(request: HttpRequest) -> HttpResponse:
    """The bulk sends one started (an admin: everyone's), newest first, by status and
    purpose; "Load more" brings the next rows (htmx), or a page of them without it."""
    status = request.GET.get("status", "")
    purpose = request.GET.get("purpose", "")
    cursor = request.GET.get("cursor") or None
    errors: list[str] = []
    try:
        result = selectors.bulk_send_list(
            actor=request.user, cursor=cursor, status=status or None, purpose=purpose or None
        )
    except InvalidInput as exc:
        if is_htmx(request) and cursor:
            return HttpResponse(str(exc), status=422, content_type="text/plain; charset=utf-8")
        result, errors = selectors.BulkSendPage([], None), [str(e) for e in exc.errors]
    purposes = list(Purpose.objects.order_by("name"))
    context: dict[str, Any] = {
        "page": result,
        "status": status,
        "purpose": purpose,
        "statuses": BulkSend.Status.choices,
        "purposes": purposes,
        "purpose_names": {p.key: p.name for p in purposes},
        "filtered": bool(status or purpose),
        "errors": errors,
    }
    if is_htmx(request) and cursor:
        return vary_on_htmx(render(request, "outreach/_bulk_rows.html", context))
    response = render(request, "outreach/bulk_list.html", context, status=422 if errors else 200)
    return vary_on_htmx(response)


def _job(request: HttpRequest, pk: int) -> BulkSend:
    try:
        return bulk.bulk_send_get(actor=request.user, job_id=pk)
    except BulkSend.DoesNotExist as exc:
        raise Http404(str(exc)) from exc


@page
def bulk_send(request: HttpRequest, pk: int) -> HttpResponse:
    """A bulk send's progress and counts by outcome (refreshing while it runs)."""
    job = _job(request, pk)
    counts = bulk.bulk_send_counts(job)
    outcomes = [
        ("Sent", counts.sent),
        ("Queued until allowed", counts.queued),
        ("Blocked", counts.blocked),
        ("Failed", counts.failed),
        ("Skipped", counts.skipped),
        ("Not reached yet", counts.pending),
    ]
    template = (
        "outreach/_bulk_send_progress.html"
        if request.headers.get("HX-Request")
        else "outreach/bulk_send.html"
    )
    return render(request, template, {"job": job, "outcomes": outcomes})


@page
def bulk_send_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The per-recipient results as a CSV download."""
    job = _job(request, pk)
    response = StreamingHttpResponse(bulk.bulk_send_csv(job), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="bulk-send-{job.pk}.csv"'
    return response
