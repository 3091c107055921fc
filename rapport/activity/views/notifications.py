"""The notifications page: what concerns the user, newest first; marking read."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from rapport.activity.models import Notification
from rapport.activity.services import notifications as services
from rapport.activity.services.zones import user_zone
from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import InvalidInput


@page
def notification_list(request: HttpRequest) -> HttpResponse:
    policy.require(request.user, "notifications.own")
    unread = request.GET.get("unread") == "1"
    try:
        rows, next_cursor = services.notification_list(
            user=request.user, cursor=request.GET.get("cursor") or None, unread=unread
        )
    except InvalidInput:
        return redirect("activity:notifications")
    context = {
        "rows": rows,
        "next_cursor": next_cursor,
        "unread": unread,
        "zone": user_zone(request.user),
    }
    return render(request, "activity/notifications/notification_list.html", context)


@page
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    """Mark the posted ``id``s read, or all with ``all=1``."""
    policy.require(request.user, "notifications.own")
    if request.POST.get("all") == "1":
        services.notifications_mark_read(user=request.user)
    else:
        ids = [int(v) for v in request.POST.getlist("id") if v.isdecimal()]
        services.notifications_mark_read(user=request.user, ids=ids)
    return redirect("activity:notifications")


@page
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification to where it leads, marking it read on the way."""
    policy.require(request.user, "notifications.own")
    notification = Notification.objects.get(pk=pk, user_id=request.user.pk)
    services.notifications_mark_read(user=request.user, ids=[notification.pk])
    url = notification.url
    if url.startswith("/") and not url.startswith("//"):
        return redirect(url)
    return redirect("activity:notifications")
