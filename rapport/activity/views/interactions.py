"""Interaction pages: the team's recent activity, one interaction (an email read as part
of its thread), changing or deleting one, and its attachments."""

from __future__ import annotations

import contextlib

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from rapport.activity.models import Attachment, Interaction, Participant
from rapport.activity.selectors import interactions as selectors
from rapport.activity.services import interactions as services
from rapport.activity.views.timeline import local_moment
from rapport.contacts.views._common import is_htmx, page, vary_on_htmx
from rapport.core import policy
from rapport.core.errors import Conflict, InvalidInput

HOME_KINDS = [("", "All")] + [(k.value, k.label) for k in Interaction.Kind]


@page
def activity_home(request: HttpRequest) -> HttpResponse:
    """Everything the team logged and captured lately, newest first, by kind."""
    kind = request.GET.get("kind", "")
    error = None
    try:
        filters = selectors.interaction_filters(kinds=[kind] if kind else [])
        result = selectors.interaction_list(
            actor=request.user, filters=filters, cursor=request.GET.get("cursor") or None
        )
    except InvalidInput as exc:
        result, error = selectors.Page([], None), str(exc)
    context = {"page": result, "kind": kind, "kinds": HOME_KINDS, "error": error}
    if is_htmx(request) and request.GET.get("cursor"):
        return vary_on_htmx(render(request, "activity/_home_rows.html", context))
    return render(request, "activity/home.html", context)


def _visible(request: HttpRequest, pk: int) -> Interaction:
    try:
        return selectors.interaction_get(actor=request.user, interaction_id=pk)
    except Interaction.DoesNotExist:
        raise Http404("No such interaction.") from None


@page
def interaction_detail(request: HttpRequest, pk: int) -> HttpResponse:
    interaction = _visible(request, pk)
    thread: list[Interaction] = []
    if interaction.thread_id:
        thread = selectors.interaction_list(
            actor=request.user,
            filters=selectors.InteractionFilters(thread=interaction.thread_id),
            limit=selectors.MAX_PAGE,
        ).items[::-1]
    contact_id = (
        Participant.objects.filter(interaction=interaction, contact__isnull=False)
        .values_list("contact_id", flat=True)
        .first()
    )
    return render(
        request,
        "activity/interaction_detail.html",
        {
            "interaction": interaction,
            "thread": thread,
            "contact_id": contact_id,
            "may_change": _may_change(request, interaction),
        },
    )


def _may_change(request: HttpRequest, interaction: Interaction) -> bool:
    if not policy.can(request.user, "interactions.change"):
        return False
    own = interaction.author_id == request.user.pk
    captured = interaction.source not in (Interaction.Source.MANUAL, Interaction.Source.API)
    return own or captured or policy.sees_all_private(request.user)


def _back(interaction_id: int, contact_id: int | None) -> str:
    if contact_id:
        return reverse("contacts:detail", args=[contact_id]) + "#timeline"
    return reverse("activity:home")


@page
@require_http_methods(["GET", "POST"])
def interaction_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct what was logged: when, subject, text, outcome, duration, private."""
    interaction = _visible(request, pk)
    errors: InvalidInput | None = None
    if request.method == "POST":
        data: dict[str, object] = {
            "subject": request.POST.get("subject", ""),
            "body": request.POST.get("body", ""),
            "private": request.POST.get("private") in ("1", "on"),
        }
        if interaction.kind == "call":
            data["outcome"] = request.POST.get("outcome") or None
        when = local_moment(request.POST.get("occurred_at", ""), request.user)
        if when:
            data["occurred_at"] = when
        version = request.POST.get("version", "")
        try:
            services.interaction_update(
                actor=request.user,
                interaction=interaction,
                data=data,
                expected_version=int(version) if version.isdecimal() else None,
            )
        except InvalidInput as exc:
            errors = exc
        except Conflict as exc:
            messages.error(request, f"{exc} Your changes were not saved; here is what it says now.")
            return redirect("activity:interaction_edit", pk=pk)
        else:
            messages.success(request, "Saved.")
            return redirect("activity:interaction", pk=pk)
    return render(
        request,
        "activity/interaction_form.html",
        {"interaction": interaction, "errors": errors, "outcomes": Interaction.Outcome.choices},
    )


@page
@require_http_methods(["GET", "POST"])
def interaction_delete(request: HttpRequest, pk: int) -> HttpResponse:
    interaction = _visible(request, pk)
    contact_id = (
        Participant.objects.filter(interaction=interaction, contact__isnull=False)
        .values_list("contact_id", flat=True)
        .first()
    )
    if request.method == "POST":
        # deleted meanwhile: the result is the same
        with contextlib.suppress(Conflict):
            services.interaction_delete(actor=request.user, interaction=interaction)
        messages.success(request, f"{interaction.get_kind_display()} deleted.")
        return redirect(_back(pk, contact_id))
    return render(request, "activity/interaction_delete.html", {"interaction": interaction})


@page
def attachment_download(request: HttpRequest, pk: int) -> HttpResponse:
    """A file kept with an interaction the user may see, always as a download (never
    rendered by the browser, whatever its type)."""
    attachment = Attachment.objects.filter(pk=pk).select_related("interaction").first()
    if attachment is None or not attachment.file:
        raise Http404("No such file.")
    _visible(request, attachment.interaction_id)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
