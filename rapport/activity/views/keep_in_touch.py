"""Keep-in-touch pages: cadences per contact and per tag, and who is due to be reached."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from rapport.activity.models import KeepInTouch
from rapport.activity.services import keep_in_touch as services
from rapport.contacts.models import Contact, Tag
from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import InvalidInput


@page
def reach_out(request: HttpRequest) -> HttpResponse:
    """Contacts whose reach-out day has come, longest waiting first; "load more" pages
    with a cursor. ``?mine=1`` keeps the ones the user owns."""
    mine = request.GET.get("mine") == "1"
    try:
        found = services.due_to_reach_out(
            actor=request.user,
            owner_id=request.user.pk if mine else None,
            cursor=request.GET.get("cursor") or None,
        )
    except InvalidInput:
        return redirect(reverse("activity:reach_out") + ("?mine=1" if mine else ""))
    context = {"page": found, "mine": mine}
    return render(request, "activity/tasks/reach_out.html", context)


@page
@require_http_methods(["GET", "POST"])
def keep_in_touch(request: HttpRequest) -> HttpResponse:
    """Every cadence, a form for one contact (``?contact=<id>``) and one for a tag."""
    policy.require(request.user, "contacts.view")
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("contact_id", "tag_id", "every_days")}
        data = {k: v for k, v in values.items() if v != ""}
        try:
            cadence = services.keep_in_touch_set(actor=request.user, data=data)
        except InvalidInput as exc:
            errors = exc.by_field()
        else:
            target = cadence.contact or cadence.tag
            messages.success(
                request, f"Keep in touch with {target} every {cadence.every_days} days."
            )
            back = request.POST.get("next", "")
            if back.startswith("/") and not back.startswith("//"):
                return redirect(back)
            return redirect("activity:keep_in_touch")
    contact = None
    wanted = request.GET.get("contact") or values.get("contact_id") or ""
    if str(wanted).isdecimal() and 0 < int(wanted) < 2**63:
        contact = Contact.objects.filter(pk=int(wanted)).first()
    own = KeepInTouch.objects.filter(contact=contact).first() if contact else None
    context = {
        "contact": contact,
        "own": own,
        "covering": services.cadences_of([contact.pk]).get(contact.pk) if contact else None,
        "tag_cadences": KeepInTouch.objects.filter(tag__isnull=False)
        .select_related("tag")
        .order_by("tag__name_key"),
        "contact_cadences": KeepInTouch.objects.filter(contact__isnull=False)
        .select_related("contact")
        .order_by("-id")[:100],
        "tags": Tag.objects.order_by("name_key"),
        "errors": errors,
        "values": values,
        "next": request.GET.get("next", "") or request.POST.get("next", ""),
    }
    return render(
        request, "activity/tasks/keep_in_touch.html", context, status=422 if errors else 200
    )


@page
@require_POST
def keep_in_touch_remove(request: HttpRequest, pk: int) -> HttpResponse:
    cadence = KeepInTouch.objects.select_related("contact", "tag").get(pk=pk)
    target = cadence.contact or cadence.tag
    services.keep_in_touch_remove(actor=request.user, cadence=cadence)
    messages.success(request, f"No more keep-in-touch cadence for {target}.")
    return redirect("activity:keep_in_touch")
