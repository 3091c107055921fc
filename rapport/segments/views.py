"""Segment and list pages: the list, the editor (a visual builder and the query text,
one tree behind both, with a live exact count), a segment's members with "why is this
contact in it", and lists."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rapport.contacts.models import Contact
from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.counting import count_within
from rapport.core.errors import Conflict, InvalidInput
from rapport.segments import selectors, services
from rapport.segments.models import ContactList, Segment
from rapport.segments.query import TreeError, from_json, to_json
from rapport.segments.query import render as render_query
from rapport.segments.query.fields import AGGREGATES, FIELDS

PREVIEW_SAMPLE = 10
PREVIEW_SECONDS = 1.0  # the live count answers within this, or says it is still counting


def _purposes() -> list[tuple[str, str]]:
    from rapport.consent.models import Purpose

    return list(Purpose.objects.filter(archived_at__isnull=True).values_list("key", "name"))


def _segment(request: HttpRequest, pk: int) -> Segment:
    policy.require(request.user, "segments.view")
    return get_object_or_404(selectors.segments_visible(request.user), pk=pk)


@page
@require_GET
def segment_list(request: HttpRequest) -> HttpResponse:
    policy.require(request.user, "segments.view")
    context = {
        "segments": selectors.segments_visible(request.user).select_related("owner"),
        "lists": selectors.lists_visible(request.user).select_related("owner"),
        "can_change": policy.can(request.user, "segments.change"),
    }
    return render(request, "segments/segment_list.html", context)


def _builder_fields() -> list[dict[str, Any]]:
    """The fields the builder offers: the language's own, then each score
    (``score.KEY``)."""
    from rapport.segments.models import Score

    fields = [
        {"name": f.name, "kind": f.kind, "help": f.help, "choices": list(f.choices)}
        for f in FIELDS.values()
    ]
    scores = Score.objects.order_by("name_key").values_list("key", "name")
    return fields + [
        {"name": f"score.{key}", "kind": "number", "help": f"the score “{name}” (0 when none)",
         "choices": []}
        for key, name in scores
    ]  # fmt: skip


@page
@require_http_methods(["GET", "POST"])
def segment_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    policy.require(request.user, "segments.change")
    segment = _segment(request, pk) if pk else None
    errors: dict[str, list[str]] = {}
    values = {
        "name": segment.name if segment else "",
        "description": segment.description if segment else "",
        "query": segment.query if segment else request.GET.get("q", ""),
        "shared": segment.shared if segment else True,
    }
    if request.method == "POST":
        values = {
            "name": request.POST.get("name", ""),
            "description": request.POST.get("description", ""),
            "query": request.POST.get("query", ""),
            "shared": request.POST.get("shared") == "on",
        }
        try:
            if segment is None:
                segment = services.segment_create(actor=request.user, data=values)
            else:
                version = request.POST.get("version", "")
                segment = services.segment_update(
                    actor=request.user, segment=segment, data=values,
                    expected_version=int(version) if version.isdecimal() and len(version) < 10 else None,
                )  # fmt: skip
            messages.success(request, f"Saved the segment “{segment.name}”.")
            return redirect("segments:detail", pk=segment.pk)
        except InvalidInput as exc:
            errors = exc.by_field()
        except Conflict as exc:
            errors = {"query": [str(exc)]}
    context = {
        "segment": segment,
        "values": values,
        "errors": errors,
        "fields_json": json.dumps(_builder_fields()),
        "aggregates": AGGREGATES,
    }
    return render(request, "segments/segment_edit.html", context, status=422 if errors else 200)


@page
@require_POST
def segment_preview(request: HttpRequest) -> HttpResponse:
    """The live count under the editor (htmx): exact, with the first members, or the
    error with its position."""
    policy.require(request.user, "contacts.view")
    text = request.POST.get("query", "")
    context: dict[str, Any] = {"query": text}
    if text.strip():
        try:
            matching = selectors.query_matching(request.user, text)
            # within a second, or say so and count in full with a second request
            full = request.POST.get("full") == "1"
            context["count"] = matching.count() if full else count_within(matching, PREVIEW_SECONDS)
            if context["count"] is None:
                context["counting"] = True
            else:
                sample = list(
                    matching.select_related("owner").order_by("sort_name", "pk")[:PREVIEW_SAMPLE]
                )
                context["sample"] = selectors.members_out(sample)
        except InvalidInput as exc:
            context["error"] = exc.errors[0].message
    return render(request, "segments/_preview.html", context)


@page
@require_POST
def segment_parse(request: HttpRequest) -> JsonResponse:
    """Text to the builder's tree and back (what the builder and the text box exchange)."""
    policy.require(request.user, "contacts.view")
    try:
        if "tree" in request.POST:
            text = render_query(from_json(json.loads(request.POST["tree"]), "tree"))
            tree = selectors.query_tree(text)
        else:
            tree = selectors.query_tree(request.POST.get("query", ""))
    except InvalidInput as exc:
        return JsonResponse({"error": exc.errors[0].message}, status=422)
    except (TreeError, ValueError, RecursionError) as exc:
        message = "The tree nests too deep." if isinstance(exc, RecursionError) else str(exc)
        return JsonResponse({"error": message}, status=422)
    return JsonResponse({"query": render_query(tree), "tree": to_json(tree)})


@page
@require_GET
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    segment = _segment(request, pk)
    cursor = request.GET.get("cursor") or None
    sort = request.GET.get("sort", "")[:60]
    try:
        page = selectors.query_members(
            request.user, segment.query, cursor=cursor, limit=50, sort=sort
        )
        error = ""
    except InvalidInput as exc:
        page, error = None, exc.errors[0].message
    context = {
        "segment": segment,
        "changes": selectors.segment_changes(
            segment, since=timezone.now() - dt.timedelta(days=30), limit=20
        ),
        "members": selectors.members_out(page.items) if page else [],
        "next_cursor": page.next_cursor if page else None,
        "error": error,
        "can_change": policy.can(request.user, "segments.change"),
        "can_bulk": policy.can(request.user, "contacts.change"),
        "lists": selectors.lists_visible(request.user),
        "stages": Contact.Lifecycle.choices,
        "purposes": _purposes(),
        "sort": sort,
        "by_score": page is not None and sort not in ("", "name"),
        "sorts": [("", "Name")]
        + [
            (f"{direction}score.{key}", f"{name}, {order}")
            for key, name in selectors.scores_visible(request.user).values_list("key", "name")
            for direction, order in (("-", "highest first"), ("", "lowest first"))
        ],
    }
    template = (
        "segments/_members.html"
        if request.headers.get("HX-Request") and cursor
        else ("segments/segment_detail.html")
    )
    return render(request, template, context)


@page
@require_GET
def segment_count(request: HttpRequest, pk: int) -> HttpResponse:
    segment = _segment(request, pk)
    try:
        count = selectors.query_count(request.user, segment.query)
        return HttpResponse(f"{count:,}")
    except InvalidInput as exc:
        return HttpResponse(f'<span class="field-error">{exc.errors[0].message}</span>')


@page
@require_GET
def segment_why(request: HttpRequest, pk: int, contact_id: int) -> HttpResponse:
    segment = _segment(request, pk)
    try:
        explained = selectors.query_explain(request.user, segment.query, contact_id)
    except InvalidInput as exc:
        raise Http404(exc.errors[0].message) from None
    return render(request, "segments/_why.html", {"node": explained, "segment": segment})


def _deleted(request: HttpRequest, delete: Any, back: str, pk: int, done: str) -> HttpResponse:
    """Run a delete service: back to the record with its reason when it refuses."""
    try:
        delete()
    except InvalidInput as exc:
        messages.error(request, exc.errors[0].message)
        return redirect(back, pk=pk)
    messages.success(request, done)
    return redirect("segments:list")


@page
@require_POST
def segment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    segment = _segment(request, pk)
    return _deleted(
        request,
        lambda: services.segment_delete(actor=request.user, segment=segment),
        "segments:detail", pk, f"Deleted the segment “{segment.name}”.",
    )  # fmt: skip


@page
@require_POST
def list_new(request: HttpRequest) -> HttpResponse:
    policy.require(request.user, "segments.change")
    try:
        found = services.list_create(
            actor=request.user,
            data={
                "name": request.POST.get("name", ""),
                "shared": request.POST.get("shared") != "off",
            },
        )
    except InvalidInput as exc:
        messages.error(request, " ".join(e.message for e in exc.errors))
        return redirect("segments:list")
    messages.success(request, f"Made the list “{found.name}”.")
    return redirect("segments:list_detail", pk=found.pk)


def _list(request: HttpRequest, pk: int) -> ContactList:
    policy.require(request.user, "segments.view")
    return get_object_or_404(selectors.lists_visible(request.user), pk=pk)


@page
@require_http_methods(["GET", "POST"])
def list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    found = _list(request, pk)
    if request.method == "POST":
        policy.require(request.user, "segments.change")
        ids = [int(i) for i in request.POST.getlist("ids") if i.isdecimal() and len(i) < 19]
        try:
            source = request.POST.get("source", "")
            if source in ("query", "import"):
                batch = request.POST.get("import_batch", "")
                contacts = (
                    selectors.query_matching(request.user, request.POST.get("query", ""))
                    if source == "query"
                    else selectors.import_contacts(
                        request.user, int(batch) if batch.isdecimal() and len(batch) < 19 else None
                    )
                )
                changed = services.list_add_matching(
                    actor=request.user, contact_list=found, contacts=contacts
                )
                messages.success(request, f"Added {changed} to the list.")
            elif request.POST.get("action") == "remove":
                changed = services.list_remove(
                    actor=request.user, contact_list=found, contact_ids=ids
                )
                messages.success(request, f"Took {changed} out of the list.")
            else:
                changed = services.list_add(actor=request.user, contact_list=found, contact_ids=ids)
                messages.success(request, f"Added {changed} to the list.")
        except InvalidInput as exc:
            messages.error(request, " ".join(e.message for e in exc.errors))
        return redirect("segments:list_detail", pk=pk)
    from rapport.segments.query.tree import quote

    page = selectors.query_members(request.user, f"in:{quote(found.name)}", limit=200)
    context = {
        "contact_list": found,
        "members": selectors.members_out(page.items),
        "more": page.next_cursor is not None,
        "can_change": policy.can(request.user, "segments.change"),
        "imports": selectors.recent_imports(),
    }
    return render(request, "segments/list_detail.html", context)


@page
@require_http_methods(["GET", "POST"])
def list_add_selection(request: HttpRequest) -> HttpResponse:
    """The contact list's bulk bar "Add to list…": the ticked contacts, or all that the
    list's search and filters match, into a list (an existing one or a new one), or out
    of one."""
    from django.http import QueryDict
    from django.urls import reverse

    from rapport.contacts import forms as contact_forms
    from rapport.contacts.selectors import contacts_matching

    policy.require(request.user, "segments.change")
    params = request.POST if request.method == "POST" else request.GET
    query = params.get("query", "")
    listed = QueryDict(query)
    back = reverse("contacts:list") + (f"?{query}" if query else "")
    everything = params.get("scope") == "all"
    ids = [int(i) for i in params.getlist("id") if i.isdecimal() and len(i) < 19]
    if not everything and not ids:
        messages.error(request, "Select at least one contact.")
        return redirect(back)
    errors: list[str] = []
    if request.method == "POST":
        try:
            target = params.get("list", "")
            if target == "new":
                chosen = services.list_create(
                    actor=request.user, data={"name": params.get("name", ""), "shared": True}
                )
            else:
                chosen = get_object_or_404(
                    selectors.lists_visible(request.user),
                    pk=int(target) if target.isdecimal() and len(target) < 19 else 0,
                )
            contacts = (
                contacts_matching(
                    actor=request.user, q=listed.get("q", ""),
                    filters=contact_forms.contact_filters(listed), sort="",
                )
                if everything
                else Contact.objects.filter(pk__in=ids)
            )  # fmt: skip
            remove = params.get("action") == "remove"
            changed = services.list_add_matching(
                actor=request.user, contact_list=chosen, contacts=contacts, remove=remove
            )
            messages.success(
                request,
                f"Took {changed} out of “{chosen.name}”."
                if remove
                else f"Added {changed} to “{chosen.name}”.",
            )
            return redirect("segments:list_detail", pk=chosen.pk)
        except InvalidInput as exc:
            errors = [e.message for e in exc.errors]
    context = {
        "ids": ids, "scope": "all" if everything else "selected", "query": query, "back": back,
        "count": None if everything else len(ids), "errors": errors, "values": params,
        "lists": selectors.lists_visible(request.user).order_by("name_key"),
    }  # fmt: skip
    return render(request, "segments/list_add.html", context, status=422 if errors else 200)


@page
@require_POST
def list_delete(request: HttpRequest, pk: int) -> HttpResponse:
    found = _list(request, pk)
    return _deleted(
        request,
        lambda: services.list_delete(actor=request.user, contact_list=found),
        "segments:list_detail", pk, f"Deleted the list “{found.name}”.",
    )  # fmt: skip


@page
@require_POST
def segment_bulk(request: HttpRequest, pk: int) -> HttpResponse:
    """A bulk action on every member: tag, untag, owner, stage and list at once; delete
    after a confirmation naming how many and whom."""
    from rapport.contacts.services.bulk import SelectionChanged

    segment = _segment(request, pk)
    action = request.POST.get("action", "")
    value = request.POST.get("value", "").strip()
    try:
        if action == "delete" and not request.POST.get("snapshot"):
            preview = services.segment_bulk_preview(
                actor=request.user, segment=segment, action=action
            )
            return render(
                request, "segments/bulk_confirm.html", {"segment": segment, "preview": preview}
            )
        done = services.segment_bulk(
            actor=request.user, segment=segment, action=action, value=value,
            snapshot=request.POST.get("snapshot") or None,
        )  # fmt: skip
    except SelectionChanged as exc:
        messages.error(request, str(exc))
        return redirect("segments:detail", pk=pk)
    except InvalidInput as exc:
        messages.error(request, " ".join(e.message for e in exc.errors))
        return redirect("segments:detail", pk=pk)
    if isinstance(done, int):
        messages.success(request, f"Added {done} to the list “{value}”.")
    else:
        from rapport.contacts.services.bulk import bulk_job_summary

        messages.success(request, bulk_job_summary(done))
    return redirect("segments:detail", pk=pk)


@page
@require_GET
def segment_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The members as a download (CSV, XLSX, vCard, JSON); with ``purpose``, only those
    the contact gate lets through for it now."""
    from rapport.ingest.export_views import streaming_download
    from rapport.ingest.exporters import contacts_export

    segment = _segment(request, pk)
    purpose = request.GET.get("purpose", "").strip()
    try:
        members = selectors.query_matching(request.user, segment.query)
        export = contacts_export(
            actor=request.user, file_format=request.GET.get("format", "csv"), base=members,
            **({"purpose": purpose, "channel": request.GET.get("channel", "email")} if purpose else {}),
        )  # fmt: skip
    except InvalidInput as exc:
        text = "Nothing was exported:\n" + "\n".join(f"{e.path}: {e.message}" for e in exc.errors)
        return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
    return streaming_download(export)  # type: ignore[return-value]
