"""Calendar pages: import an .ics file, and keep the calendars subscribed to by URL."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from rapport.activity.calendar import subscriptions as service
from rapport.activity.calendar.importing import calendar_import, max_bytes, read_limited
from rapport.activity.calendar.store import ImportReport
from rapport.activity.models import CalendarSubscription
from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput


def _home(
    request: HttpRequest,
    *,
    report: ImportReport | None = None,
    upload_errors: list[FieldError] | None = None,
    subscribe_errors: list[FieldError] | None = None,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        "report": report,
        "upload_errors": upload_errors or [],
        "subscribe_errors": subscribe_errors or [],
        "form": request.POST if subscribe_errors else {},
        "subscriptions": [
            (s, service.subscription_url_shown(s))
            for s in service.subscription_list(actor=request.user)
        ],
        "min_minutes": service.MIN_MINUTES,
        "max_minutes": service.MAX_MINUTES,
        "max_upload_mb": max(1, max_bytes() // 1_048_576),
    }
    return render(request, "activity/calendar/calendar.html", context, status=status)


@page
@require_http_methods(["GET", "POST"])
def calendar_home(request: HttpRequest) -> HttpResponse:
    """Upload an .ics file (the result shows on the same page) and the subscriptions."""
    policy.require(request.user, "calendars.import")
    if request.method != "POST":
        return _home(request)
    uploads = request.FILES.getlist("file")
    try:
        if not uploads:
            raise InvalidInput.single("file", "Choose an .ics file to import.")
        report = ImportReport(file_name=", ".join(u.name or "upload" for u in uploads))
        for upload in uploads:
            data = read_limited(upload, size=upload.size)
            report.add(
                calendar_import(actor=request.user, data=data, file_name=upload.name or "upload")
            )
    except InvalidInput as exc:
        return _home(request, upload_errors=exc.errors, status=422)
    return _home(request, report=report)


@page
@require_POST
def subscription_create(request: HttpRequest) -> HttpResponse:
    data = {
        "name": request.POST.get("name", ""),
        "url": request.POST.get("url", ""),
        "refresh_minutes": request.POST.get("refresh_minutes", "60"),
    }
    try:
        subscription = service.subscription_create(actor=request.user, data=data)
    except InvalidInput as exc:
        return _home(request, subscribe_errors=exc.errors, status=422)
    service.subscription_request_refresh(actor=request.user, subscription=subscription)
    messages.success(request, f"Subscribed to {subscription.name}; it is being fetched now.")
    return redirect("activity:calendar_subscription", pk=subscription.pk)


def _subscription(request: HttpRequest, pk: int) -> CalendarSubscription:
    return service.subscription_get(actor=request.user, subscription_id=pk)


@page
@require_http_methods(["GET", "POST"])
def subscription_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A subscription's state (last refresh, error in words, what it brought) and its
    settings."""
    subscription = _subscription(request, pk)
    errors: list[FieldError] = []
    if request.method == "POST":
        data = {
            "name": request.POST.get("name", ""),
            "refresh_minutes": request.POST.get("refresh_minutes", ""),
            "enabled": request.POST.get("enabled") == "on",
        }
        if request.POST.get("url", "").strip():  # left empty: keep the stored address
            data["url"] = request.POST["url"]
        try:
            service.subscription_update(actor=request.user, subscription=subscription, data=data)
        except InvalidInput as exc:
            errors = exc.errors
        else:
            messages.success(request, "Saved.")
            return redirect("activity:calendar_subscription", pk=pk)
    context = {
        "subscription": subscription,
        "shown_url": service.subscription_url_shown(subscription),
        "errors": errors,
        "problems": (subscription.last_report or {}).get("problems", []),
        "counts": (subscription.last_report or {}).get("counts"),
        "min_minutes": service.MIN_MINUTES,
        "max_minutes": service.MAX_MINUTES,
    }
    return render(
        request,
        "activity/calendar/subscription.html",
        context,
        status=422 if errors else 200,
    )


@page
@require_POST
def subscription_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    try:
        service.subscription_request_refresh(actor=request.user, subscription=subscription)
    except InvalidInput as exc:
        messages.error(request, str(exc.errors[0].message))
    else:
        messages.success(request, "The calendar is being refreshed.")
    return redirect("activity:calendar_subscription", pk=pk)


@page
@require_POST
def subscription_delete(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    service.subscription_delete(actor=request.user, subscription=subscription)
    messages.success(request, f"Unsubscribed from {subscription.name}; its meetings stay.")
    return redirect("activity:calendar")
