"""What the contact and organization lists share: match counts, chosen columns, and the
bulk actions on selected contacts with their progress page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from rapport.contacts import columns, forms
from rapport.contacts.models import BulkJob, Contact
from rapport.contacts.services import bulk
from rapport.contacts.views._common import is_htmx, page, vary_on_htmx
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.merges.services._merge import MAX_MERGED

# Parameters of a list's address that are not part of its search and filters.
_NOT_SELECTION = ("cursor", "fragment")
EXPORT_FORMATS = [
    ("csv", "CSV"),
    ("xlsx", "Excel (.xlsx)"),
    ("vcf", "vCard 4.0"),
    ("vcf3", "vCard 3.0"),
    ("json", "JSON"),
]


def list_query(params: QueryDict) -> str:
    """The list's search, filters and sort as a query string (no cursor)."""
    kept = params.copy()
    for key in _NOT_SELECTION:
        kept.pop(key, None)
    return kept.urlencode()


def list_context(request: HttpRequest, list_name: str) -> dict[str, Any]:
    """The columns a list shows and can show, for its templates."""
    chosen = columns.columns_chosen(actor=request.user, list_name=list_name)
    return {
        "columns": chosen,
        "column_keys": [c.key for c in chosen],
        "all_columns": columns.columns_available(actor=request.user, list_name=list_name),
        "list_query": list_query(request.GET),
        "list_name": list_name,
    }


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@page
@require_POST
def list_columns(request: HttpRequest, list_name: str) -> HttpResponse:
    """Remember the columns the user ticked for a list; "reset" goes back to the defaults."""
    keys = [] if "reset" in request.POST else request.POST.getlist("column")
    fallback = reverse("contacts:list" if list_name == "contacts" else "contacts:organizations")
    try:
        columns.columns_choose(actor=request.user, list_name=list_name, keys=keys)
    except InvalidInput as exc:
        messages.error(request, " ".join(e.message for e in exc.errors))
    else:
        messages.success(request, "The columns were saved.")
    return redirect(_safe_next(request, fallback))


def _selected(request: HttpRequest) -> list[int] | None:
    """The ticked ids, or None when "all matching" was chosen."""
    if request.POST.get("scope") == "all":
        return None
    ids: list[int] = []
    for value in request.POST.getlist("id"):
        if not value.isdigit() or len(value) > 18:
            raise InvalidInput.single("ids", "Ids must be whole numbers.")
        ids.append(int(value))
    return ids


def _list_url(query: str) -> str:
    return reverse("contacts:list") + (f"?{query}" if query else "")


@page
@require_POST
def contact_bulk(request: HttpRequest) -> HttpResponse:
    """Apply the bulk bar's action to the ticked contacts (or all matching the list)."""
    action = request.POST.get("action", "")
    query = request.POST.get("query", "")
    params = QueryDict(query)
    back = _list_url(query)
    try:
        ids = _selected(request)
        if ids is not None and not ids:
            raise InvalidInput.single("ids", "Select at least one contact.")
        if action == "export":
            return _export(request, ids, query)
        if action == "merge":
            return _merge(request, ids, back)
        field = "value_tag" if action in ("tag", "untag") else f"value_{action}"
        value = request.POST.get(field, "")
        if action == BulkJob.Action.DELETE and request.POST.get("confirmed") != "yes":
            return _confirm_delete(request, ids, params, query)
        job = bulk.contacts_bulk_start(
            actor=request.user,
            action=action,
            value=value,
            ids=ids,
            q=params.get("q", ""),
            filters=forms.contact_filters(params),
            sort=params.get("sort", ""),
            via="ui",
        )
    except InvalidInput as exc:
        messages.error(request, "Nothing was changed: " + " ".join(e.message for e in exc.errors))
        return redirect(back)
    if job.is_active:
        return redirect(reverse("contacts:bulk_job", args=[job.pk]) + f"?{urlencode({'q': query})}")
    messages.success(request, bulk.bulk_job_summary(job))
    for failure in job.failures[:5]:
        messages.error(request, f"{failure['name'] or failure['id']}: {failure['message']}")
    return redirect(back)


def _export(request: HttpRequest, ids: list[int] | None, query: str) -> HttpResponse:
    """The selection (or every match) as a download, written while it is sent."""
    from rapport.ingest.export_views import streaming_download
    from rapport.ingest.exporters import contacts_export

    params = QueryDict(query)
    export = contacts_export(
        actor=request.user,
        file_format=request.POST.get("value_export", "csv"),
        q=params.get("q", "") if ids is None else "",
        filters=forms.contact_filters(params) if ids is None else None,
        ids=ids,
    )
    return streaming_download(export)  # type: ignore[return-value]  # streamed, not buffered


def _merge(request: HttpRequest, ids: list[int] | None, back: str) -> HttpResponse:
    policy.require(request.user, "contacts.merge")
    if ids is None or not 2 <= len(ids) <= MAX_MERGED + 1:
        raise InvalidInput.single(
            "ids", f"Tick between 2 and {MAX_MERGED + 1} contacts to merge them."
        )
    target = QueryDict(mutable=True)
    target.setlist("ids", [str(pk) for pk in ids])
    target["next"] = back
    return redirect(reverse("merges:start", args=["contacts"]) + "?" + target.urlencode())


def _confirm_delete(
    request: HttpRequest, ids: list[int] | None, params: QueryDict, query: str
) -> HttpResponse:
    policy.require(request.user, "contacts.delete")
    if ids is None:
        from rapport.contacts.selectors import contacts_matching

        matching = contacts_matching(
            actor=request.user,
            q=params.get("q", ""),
            filters=forms.contact_filters(params),
            sort=params.get("sort", ""),
        )
    else:
        matching = Contact.objects.filter(pk__in=ids[:1000])
    total = len(ids) if ids is not None else matching.count()
    sample = list(matching.order_by("sort_name", "id")[:10])
    context = {
        "ids": ids or [],
        "scope": "all" if ids is None else "selected",
        "total": total,
        "sample": sample,
        "query": query,
        "back": _list_url(query),
    }
    return render(request, "contacts/bulk_confirm_delete.html", context)


@page
@require_GET
def bulk_job(request: HttpRequest, pk: int) -> HttpResponse:
    """A bulk action's progress; the page polls itself (htmx) until the job ends."""
    job = bulk.bulk_job_get(actor=request.user, job_id=pk)
    query = request.GET.get("q", "")
    context = {
        "job": job,
        "summary": "" if job.is_active else bulk.bulk_job_summary(job),
        "back": _list_url(query),
        "query": query,
    }
    if is_htmx(request):
        return vary_on_htmx(render(request, "contacts/_bulk_progress.html", context))
    return vary_on_htmx(render(request, "contacts/bulk_job.html", context))
