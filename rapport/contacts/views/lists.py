"""What the contact and organization lists share: match counts, chosen columns, and the
bulk actions on selected records with their progress page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from rapport.contacts import columns, forms, selectors
from rapport.contacts.models import BulkJob, Contact
from rapport.contacts.services import bulk, saved_views
from rapport.contacts.views._common import is_htmx, page, vary_on_htmx
from rapport.core import listing, policy
from rapport.core.errors import InvalidInput
from rapport.merges.services._merge import MAX_MERGED

# Parameters of a list's address that are not part of its search and filters.
_NOT_SELECTION = ("cursor", "fragment", "view")
EXPORT_FORMATS = {
    "contacts": [
        ("csv", "CSV"),
        ("xlsx", "Excel (.xlsx)"),
        ("vcf", "vCard 4.0"),
        ("vcf3", "vCard 3.0"),
        ("json", "JSON"),
    ],
    "organizations": [("csv", "CSV"), ("xlsx", "Excel (.xlsx)"), ("json", "JSON")],
}


def list_query(params: QueryDict) -> str:
    """The list's search, filters and sort as a query string (no cursor)."""
    kept = params.copy()
    for key in _NOT_SELECTION:
        kept.pop(key, None)
    return kept.urlencode()


def count_query(params: QueryDict) -> str:
    """The query string that asks a list for just its count (``fragment=count``)."""
    kept = params.copy()
    for key in ("cursor", "fragment"):
        kept.pop(key, None)
    kept["fragment"] = "count"
    return kept.urlencode()


@dataclass
class ListRead:
    """What one request to a list page asked for and got: rows, a count, or an error."""

    fragment: str
    page: Any = None
    count: selectors.MatchCount | None = None
    error: InvalidInput | None = None


def list_read(
    request: HttpRequest,
    *,
    parse_filters: Callable[[QueryDict], Any],
    rows: Callable[..., Any],
    count: Callable[..., selectors.MatchCount],
) -> ListRead:
    """Read a list page the same way for contacts and organizations.

    Typing in the search box swaps in the rows at once and their count follows in a
    request of its own (``fragment=count``), as counting a common search costs more
    than the page; a full page load counts in place; ``fragment=rows`` (Load more)
    never counts.
    """
    params = request.GET
    read = ListRead(fragment=params.get("fragment", ""))
    search = {"actor": request.user, "q": params.get("q", ""), "sort": params.get("sort", "")}
    try:
        filters = parse_filters(params)
        if read.fragment != "count":
            read.page = rows(**search, filters=filters, cursor=params.get("cursor") or None)
        if read.fragment == "count" or (read.fragment != "rows" and not is_htmx(request)):
            read.count = count(**search, filters=filters)
    except InvalidInput as exc:
        read.error = exc
    return read


def list_context(request: HttpRequest, list_name: str) -> dict[str, Any]:
    """The columns a list shows and can show, and its saved views, for its templates. A
    saved view (``view=ID``) shows its own columns."""
    chosen = columns.columns_chosen(actor=request.user, list_name=list_name)
    views = saved_views.saved_views_for(actor=request.user, list_name=list_name)
    current = next((v for v in views if str(v.pk) == request.GET.get("view", "")), None)
    if current is not None and current.columns:
        available = {
            c.key: c for c in columns.columns_available(actor=request.user, list_name=list_name)
        }
        chosen = [available[k] for k in current.columns if k in available]
    return {
        "saved_views": views,
        "current_view": current,
        "columns": chosen,
        "column_keys": [c.key for c in chosen],
        "all_columns": columns.columns_available(actor=request.user, list_name=list_name),
        "list_query": list_query(request.GET),
        "list_name": list_name,
        "now_moment": timezone.now(),
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


def bulk_actions(actor: Any, kind: str) -> list[tuple[str, str]]:
    """The bulk bar's actions on ``kind`` that ``actor`` may run, as (value, label)."""
    labels = dict(BulkJob.Action.choices)
    actions: list[tuple[str, str]] = []
    if policy.can(actor, f"{kind}.change"):
        actions += [(a, str(labels[a])) for a in BulkJob.ACTIONS[kind] if a != "delete"]
    if policy.can(actor, f"{kind}.export"):
        actions.append(("export", "Export"))
    if policy.can(actor, f"{kind}.merge"):
        actions.append(("merge", "Merge"))
    actions += [
        (a.key, a.label) for a in listing.bulk_actions_for(kind) if policy.can(actor, a.permission)
    ]
    if policy.can(actor, f"{kind}.delete"):
        actions.append(("delete", "Delete…"))
    return actions


def bulk_context(request: HttpRequest, kind: str) -> dict[str, Any]:
    """What the bulk bar and the tick boxes of ``kind``'s list need."""
    from rapport.contacts.views.contacts import owner_choices  # it imports this module

    actions = bulk_actions(request.user, kind)
    return {
        "bulk_actions": actions,
        "bulk_action_values": [value for value, _ in actions],
        "bulk_url": reverse(_BULK_URL[kind]),
        "bulk_noun": kind,
        "bulk_singular": kind.removesuffix("s"),
        "owners": owner_choices(),
        "tags": selectors.tag_list(actor=request.user),
        "stages": Contact.Lifecycle.choices,
        "export_formats": EXPORT_FORMATS[kind],
    }


_LIST_URL = {"contacts": "contacts:list", "organizations": "contacts:organizations"}
_BULK_URL = {"contacts": "contacts:bulk", "organizations": "contacts:organization_bulk"}
_FILTERS: dict[str, Callable[[QueryDict], Any]] = {
    "contacts": forms.contact_filters,
    "organizations": forms.organization_filters,
}


def _selected(request: HttpRequest) -> list[int] | None:
    """The ticked ids, or None when "all matching" was chosen."""
    if request.POST.get("scope") == "all":
        return None
    ids: list[int] = []
    for value in request.POST.getlist("id"):
        if not value.isdecimal() or len(value) > 18:
            raise InvalidInput.single("ids", "Ids must be whole numbers.")
        ids.append(int(value))
    return ids


def _list_url(kind: str, query: str) -> str:
    return reverse(_LIST_URL[kind]) + (f"?{query}" if query else "")


@page
@require_POST
def contact_bulk(request: HttpRequest) -> HttpResponse:
    """Apply the bulk bar's action to the ticked contacts (or all matching the list)."""
    return _bulk(request, "contacts")


@page
@require_POST
def organization_bulk(request: HttpRequest) -> HttpResponse:
    """Apply the bulk bar's action to the ticked organizations (or all matching the list)."""
    return _bulk(request, "organizations")


def _bulk(request: HttpRequest, kind: str) -> HttpResponse:
    action = request.POST.get("action", "")
    query = request.POST.get("query", "")
    params = QueryDict(query)
    back = _list_url(kind, query)
    try:
        ids = _selected(request)
        if ids is not None and not ids:
            raise InvalidInput.single("ids", f"Select at least one {kind.removesuffix('s')}.")
        if action == "export":
            return _export(request, kind, ids, query)
        if action == "merge":
            return _merge(request, kind, ids, back)
        elsewhere = {a.key: a for a in listing.bulk_actions_for(kind)}.get(action)
        if elsewhere is not None:
            target = QueryDict(mutable=True)
            target.setlist("id", [str(pk) for pk in ids or []])
            target.update({"scope": "all" if ids is None else "selected", "query": query})
            return redirect(reverse(elsewhere.url) + "?" + target.urlencode())
        field = "value_tag" if action in ("tag", "untag") else f"value_{action}"
        value = request.POST.get(field, "")
        # Deleting everything matching acts on the records its confirmation counted and
        # named (its snapshot), never on whatever the search matches at the click.
        snapshot = request.POST.get("snapshot") or None
        if action == BulkJob.Action.DELETE and (
            request.POST.get("confirmed") != "yes" or (ids is None and snapshot is None)
        ):
            return _confirm_delete(request, kind, ids, params, query)
        try:
            job = bulk.bulk_start(
                kind=kind,
                actor=request.user,
                action=action,
                value=value,
                ids=ids,
                q=params.get("q", ""),
                filters=_FILTERS[kind](params),
                sort=params.get("sort", ""),
                via="ui",
                snapshot=snapshot,
            )
        except bulk.SelectionChanged as exc:
            messages.error(request, str(exc))
            return _confirm_delete(request, kind, ids, params, query)
    except InvalidInput as exc:
        messages.error(request, "Nothing was changed: " + " ".join(e.message for e in exc.errors))
        return redirect(back)
    if job.is_active:
        return redirect(reverse("contacts:bulk_job", args=[job.pk]) + f"?{urlencode({'q': query})}")
    messages.success(request, bulk.bulk_job_summary(job))
    for failure in job.failures[:5]:
        messages.error(request, f"{failure['name'] or failure['id']}: {failure['message']}")
    return redirect(back)


def _export(request: HttpRequest, kind: str, ids: list[int] | None, query: str) -> HttpResponse:
    """The selection (or every match) as a download, written while it is sent."""
    from rapport.ingest.export_views import streaming_download
    from rapport.ingest.exporters import contacts_export, organizations_export

    params = QueryDict(query)
    exporter = contacts_export if kind == "contacts" else organizations_export
    export = exporter(
        actor=request.user,
        file_format=request.POST.get("value_export", "csv"),
        q=params.get("q", "") if ids is None else "",
        filters=_FILTERS[kind](params) if ids is None else None,
        ids=ids,
    )
    return streaming_download(export)  # type: ignore[return-value]  # streamed, not buffered


def _merge(request: HttpRequest, kind: str, ids: list[int] | None, back: str) -> HttpResponse:
    """The merge comparison of the ticked records (the merges app's, for either kind)."""
    policy.require(request.user, f"{kind}.merge")
    if ids is None or not 2 <= len(ids) <= MAX_MERGED + 1:
        raise InvalidInput.single(
            "ids", f"Tick between 2 and {MAX_MERGED + 1} {kind} to merge them."
        )
    target = QueryDict(mutable=True)
    target.setlist("ids", [str(pk) for pk in ids])
    target["next"] = back
    return redirect(reverse("merges:start", args=[kind]) + "?" + target.urlencode())


def _confirm_delete(
    request: HttpRequest, kind: str, ids: list[int] | None, params: QueryDict, query: str
) -> HttpResponse:
    """Which records a delete would remove, resolved now; its form sends back the
    snapshot that pins exactly these. Raises InvalidInput as ``bulk_start`` would."""
    spec = bulk.bulk_kind(kind)
    preview = bulk.bulk_preview(
        kind=kind,
        actor=request.user,
        action=BulkJob.Action.DELETE,
        ids=ids,
        q=params.get("q", ""),
        filters=_FILTERS[kind](params),
        sort=params.get("sort", ""),
    )
    context = {
        "kind": kind,
        "noun": spec.noun(preview.total),
        "ids": ids or [],
        "scope": "all" if ids is None else "selected",
        "total": preview.total,
        "sample": preview.sample,
        "snapshot": preview.snapshot,
        "query": query,
        "bulk_url": reverse(_BULK_URL[kind]),
        "back": _list_url(kind, query),
    }
    return render(request, "contacts/bulk_confirm_delete.html", context)


@page
@require_GET
def bulk_job(request: HttpRequest, pk: int) -> HttpResponse:
    """A bulk action's progress; the page polls itself (htmx) until the job ends."""
    job = bulk.bulk_job_get(actor=request.user, job_id=pk)
    query = request.GET.get("q", "")
    spec = bulk.bulk_kind(job.kind)
    context = {
        "job": job,
        "noun": spec.noun(job.total),
        "detail_url": "contacts:detail" if job.kind == "contacts" else "contacts:organization",
        "summary": "" if job.is_active else bulk.bulk_job_summary(job),
        "back": _list_url(job.kind, query),
        "query": query,
    }
    if is_htmx(request):
        return vary_on_htmx(render(request, "contacts/_bulk_progress.html", context))
    return vary_on_htmx(render(request, "contacts/bulk_job.html", context))


@page
@require_POST
def view_save(request: HttpRequest, list_name: str) -> HttpResponse:
    """Save the list as it is shown now (search, filters, sort, columns) under a name."""
    fallback = reverse("contacts:list" if list_name == "contacts" else "contacts:organizations")
    try:
        view = saved_views.saved_view_create(
            actor=request.user,
            data={
                "list_name": list_name,
                "name": request.POST.get("name", ""),
                "query": request.POST.get("query", ""),
                "columns": request.POST.getlist("column"),
                "shared": request.POST.get("shared") == "on",
            },
        )
    except InvalidInput as exc:
        messages.error(request, " ".join(e.message for e in exc.errors))
        return redirect(_safe_next(request, fallback))
    messages.success(request, f"Saved the view “{view.name}”.")
    query = f"{view.query}&view={view.pk}" if view.query else f"view={view.pk}"
    return redirect(f"{fallback}?{query}")


@page
@require_POST
def view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    from django.core.exceptions import PermissionDenied
    from django.shortcuts import get_object_or_404

    from rapport.contacts.models import SavedView
    from rapport.core.errors import NotPermitted

    view = get_object_or_404(SavedView, pk=pk)
    fallback = reverse(
        "contacts:list" if view.list_name == "contacts" else "contacts:organizations"
    )
    try:
        saved_views.saved_view_delete(actor=request.user, view=view)
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    messages.success(request, f"Deleted the view “{view.name}”.")
    return redirect(fallback)
