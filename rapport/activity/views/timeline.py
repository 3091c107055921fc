"""The timeline on contact and organization pages, its "load more" pages, and logging a
note, call or meeting right from a contact's page."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from rapport.activity.models import Interaction, Task
from rapport.activity.selectors import timeline as selectors
from rapport.activity.services import interactions as services
from rapport.contacts.models import Contact, Organization
from rapport.contacts.views._common import is_htmx, page, vary_on_htmx
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.core.panels import Panel

QUICK_KINDS = [("note", "Note", "n"), ("call", "Call", "c"), ("meeting", "Meeting", "m")]
FILTERS = [
    ("", "All"),
    ("note", "Notes"),
    ("call", "Calls"),
    ("meeting", "Meetings"),
    ("email", "Emails"),
    ("message", "Messages"),
    ("task", "Tasks"),
    ("change", "Changes"),
]


def _kinds(request: HttpRequest) -> list[str]:
    kind = request.GET.get("kind", "").strip()
    return [kind] if kind in selectors.SOURCES else []


def _read(request: HttpRequest, kind: str, record_id: int) -> selectors.Timeline:
    cursor = request.GET.get("cursor") or None
    if kind == "contact":
        return selectors.contact_timeline(
            actor=request.user, contact_id=record_id, kinds=_kinds(request), cursor=cursor
        )
    return selectors.organization_timeline(
        actor=request.user, organization_id=record_id, kinds=_kinds(request), cursor=cursor
    )


def _context(request: HttpRequest, kind: str, record: Any, **extra: Any) -> dict[str, Any]:
    try:
        timeline = _read(request, kind, record.pk)
        error = None
    except InvalidInput as exc:
        timeline, error = selectors.Timeline([], None), str(exc)
    url_name = (
        "activity:contact_timeline" if kind == "contact" else "activity:organization_timeline"
    )
    return {
        "record": record,
        "record_kind": kind,
        "timeline": timeline,
        "timeline_error": error,
        "timeline_url": reverse(url_name, args=[record.pk]),
        "kind_filter": request.GET.get("kind", ""),
        "filters": FILTERS,
        "can_log": kind == "contact" and policy.can(request.user, "interactions.add"),
        "quick_kinds": QUICK_KINDS,
        "outcomes": Interaction.Outcome.choices,
        "log_kind": request.GET.get("log", "note")
        if request.GET.get("log") in ("note", "call", "meeting")
        else "note",
        "log_task": request.GET.get("task", "") if request.GET.get("task", "").isdecimal() else "",
        "now_local": timezone.localtime(timezone.now(), _zone(request.user)),
        **extra,
    }


def contact_panels(request: HttpRequest, contact: Contact) -> list[Panel]:
    """The timeline (which includes the change history) and the "last contacted / next
    step" box of a contact's page."""
    if not policy.can(request.user, "interactions.view"):
        return []
    main = render_to_string(
        "activity/_timeline_panel.html", _context(request, "contact", contact), request=request
    )
    side = render_to_string(
        "activity/_contact_activity.html",
        {"contact": contact, "task_create": _task_create_url(contact.pk), "now": timezone.now()},
        request=request,
    )
    return [
        Panel(html=main, place="main", order=10, replaces=("history",)),  # type: ignore[arg-type]
        Panel(html=side, place="side", order=5),  # type: ignore[arg-type]
    ]


def organization_panels(request: HttpRequest, org: Organization) -> list[Panel]:
    if not policy.can(request.user, "interactions.view"):
        return []
    main = render_to_string(
        "activity/_timeline_panel.html", _context(request, "organization", org), request=request
    )
    return [Panel(html=main, place="main", order=10, replaces=("history",))]  # type: ignore[arg-type]


def _task_create_url(contact_id: int) -> str:
    from django.urls import NoReverseMatch

    try:
        return reverse("activity:task_create") + f"?contact={contact_id}"
    except NoReverseMatch:
        return ""


def _timeline_page(request: HttpRequest, kind: str, record: Any) -> HttpResponse:
    context = _context(request, kind, record)
    if is_htmx(request):
        template = (
            "activity/_timeline_entries.html"
            if request.GET.get("cursor")
            else "activity/_timeline_panel.html"
        )
        return vary_on_htmx(render(request, template, context))
    return render(request, "activity/timeline_page.html", context)


@page
def contact_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """A contact's timeline: the panel (a filter chosen), or the next entries ("load
    more"), or a whole page of it without JavaScript."""
    policy.require(request.user, "contacts.view")
    return _timeline_page(request, "contact", get_object_or_404(Contact, pk=pk))


@page
def organization_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    policy.require(request.user, "organizations.view")
    return _timeline_page(request, "organization", get_object_or_404(Organization, pk=pk))


def _zone(user: Any) -> dt.tzinfo:
    name = getattr(user, "time_zone", "") or ""
    try:
        return zoneinfo.ZoneInfo(name) if name else timezone.get_current_timezone()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_current_timezone()


def local_moment(value: str, user: Any) -> str | None:
    """A ``datetime-local`` input (the user's wall clock) as an ISO moment with offset."""
    value = value.strip()
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value  # the service names the field and the problem
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(user))
    return moment.isoformat()


def quick_log_data(post: Any, *, contact_id: int, user: Any) -> dict[str, Any]:
    """The service's input from the quick-log form: the contact takes part in the role
    its kind gives it, the user who logs it in the other."""
    kind = post.get("kind", "note")
    direction = post.get("direction", "outbound") if kind == "call" else None
    data: dict[str, Any] = {
        "kind": kind,
        "body": post.get("body", ""),
        "subject": post.get("subject", ""),
        "private": post.get("private") in ("1", "on", "true"),
    }
    when = local_moment(post.get("occurred_at", ""), user)
    if when:
        data["occurred_at"] = when
    me = {"user": user.get_username()}
    if kind == "call":
        data["direction"] = direction
        data["outcome"] = post.get("outcome", "") or None
        minutes = post.get("duration_minutes", "").strip()
        if minutes:
            try:
                data["duration_seconds"] = round(float(minutes.replace(",", ".")) * 60)
            except ValueError:
                data["duration_seconds"] = minutes  # reported as the field's problem
        inbound = direction == "inbound"
        data["participants"] = [
            {"contact_id": contact_id, "role": "caller" if inbound else "callee"},
            {**me, "role": "callee" if inbound else "caller"},
        ]
    elif kind == "meeting":
        data["direction"] = "outbound"
        data["location"] = post.get("location", "")
        minutes = post.get("duration_minutes", "").strip()
        if minutes.isdecimal() and when:
            start = dt.datetime.fromisoformat(when)
            data["ends_at"] = (start + dt.timedelta(minutes=int(minutes))).isoformat()
        data["participants"] = [
            {"contact_id": contact_id, "role": "attendee"},
            {**me, "role": "organizer"},
        ]
    else:
        data["participants"] = [{"contact_id": contact_id, "role": "subject"}]
    return data


@page
@require_POST
def contact_log(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a note, call or meeting with a contact from its page; with ``task`` (a call
    task just completed), the call is linked to that task."""
    contact = get_object_or_404(Contact, pk=pk)
    data = quick_log_data(request.POST, contact_id=contact.pk, user=request.user)
    error = None
    try:
        captured = services.interaction_create(actor=request.user, data=data, via="ui")
    except InvalidInput as exc:
        error = exc
    else:
        task_id = request.POST.get("task", "")
        if task_id.isdecimal():
            Task.objects.filter(pk=int(task_id), interaction__isnull=True).update(
                interaction=captured.interaction
            )
    if is_htmx(request):
        context = _context(
            request, "contact", contact, log_error=error, log_values=request.POST if error else None
        )
        if error is None:
            context["logged"] = captured.interaction.get_kind_display()
        response = render(request, "activity/_timeline_panel.html", context)
        return vary_on_htmx(response)
    if error is not None:
        messages.error(request, f"Nothing was logged. {error}")
    else:
        messages.success(request, f"{captured.interaction.get_kind_display()} logged.")
    return redirect(reverse("contacts:detail", args=[contact.pk]) + "#timeline")
