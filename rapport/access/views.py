"""Sign-in, personal API tokens, app passwords, and the health check."""

from __future__ import annotations

import logging
import zoneinfo
from functools import lru_cache
from typing import Any

from axes.helpers import get_client_ip_address, get_client_username
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from rapport.access import services
from rapport.access.models import ApiToken, AppPassword, User
from rapport.access.services import (
    app_password_create,
    app_password_revoke,
    login_lockout_remaining,
    minutes_to_wait,
    token_create,
    token_revoke,
)
from rapport.core import policy
from rapport.core.errors import InvalidInput, NotPermitted

logger = logging.getLogger(__name__)


def login_locked_out(
    request: HttpRequest, response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """The sign-in page, refusing for now and saying how long to wait (429, Retry-After).

    Called by django-axes when a username or an address has too many failed attempts.
    """
    username = get_client_username(request, credentials)
    address = get_client_ip_address(request)
    wait = login_lockout_remaining(username=username, ip_address=address)
    minutes = minutes_to_wait(wait)
    logger.warning(
        "Sign-in refused for username %r from %s for %d more minute(s)", username, address, minutes
    )
    form = AuthenticationForm(request, initial={"username": username or ""})
    context = {
        "form": form,
        "next": request.POST.get("next", ""),
        "locked_message": (
            "Too many failed sign-in attempts. Sign-in is paused for this account or "
            f"network; try again in {minutes} minute{'s' if minutes != 1 else ''}."
        ),
    }
    locked = render(request, "login.html", context, status=429)
    locked["Retry-After"] = str(max(1, int(wait.total_seconds())))
    return locked


def _require(request: HttpRequest, action: str) -> None:
    try:
        policy.require(request.user, action)
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc


@never_cache
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """The signed-in user's API tokens; a new token's secret is shown once, right here."""
    _require(request, "tokens.own")
    secret, created, error = "", None, ""
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        if len(name) > 100:
            error = "A token name can have at most 100 characters."
        else:
            created, secret = token_create(user=request.user, name=name)
    tokens = ApiToken.objects.filter(user=request.user).order_by("revoked_at", "-created_at")
    context = {
        "tokens": tokens,
        "secret": secret,
        "created": created,
        "error": error,
        "name": request.POST.get("name", "") if error else "",
    }
    return render(request, "access/token_list.html", context, status=422 if error else 200)


@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "tokens.own")
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token_revoke(token=token)
    messages.success(request, f"The token {token.prefix}… was revoked; it no longer works.")
    return redirect("access:tokens")


@never_cache
@require_http_methods(["GET", "POST"])
def app_password_list(request: HttpRequest) -> HttpResponse:
    """The signed-in user's app passwords for address-book clients; a new one is shown
    once, right here, grouped for typing on a phone."""
    _require(request, "tokens.own")
    secret, created, error = "", None, ""
    if request.method == "POST":
        try:
            created, secret = app_password_create(
                user=request.user, name=request.POST.get("name", "").strip()
            )
        except InvalidInput as exc:
            error = " ".join(e.message for e in exc.errors)
    items = AppPassword.objects.filter(user=request.user).order_by("revoked_at", "-created_at")
    context = {
        "app_passwords": items,
        "secret": secret,
        "created": created,
        "error": error,
        "name": request.POST.get("name", "") if error else "",
    }
    return render(request, "access/app_password_list.html", context, status=422 if error else 200)


@require_POST
def app_password_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "tokens.own")
    item = get_object_or_404(AppPassword, pk=pk, user=request.user)
    app_password_revoke(app_password=item)
    messages.success(
        request, f"The app password {item.prefix}… was revoked; the device using it is cut off."
    )
    return redirect("access:app_passwords")


def healthz(request: HttpRequest) -> HttpResponse:
    """Up when the database answers; used by load balancers and container checks."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


@never_cache
@require_http_methods(["GET", "POST"])
def user_list(request: HttpRequest) -> HttpResponse:
    """Admins add people with a role; a generated password is shown once."""
    _require(request, "users.manage")
    errors: dict[str, list[str]] = {}
    created, secret = None, ""
    if request.method == "POST":
        try:
            created, secret = services.user_create(
                actor=request.user,
                username=request.POST.get("username", ""),
                role=request.POST.get("role", ""),
                email=request.POST.get("email", ""),
                first_name=request.POST.get("first_name", ""),
                last_name=request.POST.get("last_name", ""),
            )
        except InvalidInput as exc:
            errors = exc.by_field()
    context = {
        "users": User.objects.order_by("-is_active", "username"),
        "roles": User.Role.choices,
        "errors": errors,
        "created": created,
        "secret": secret,
        "values": request.POST if errors else {},
    }
    return render(request, "access/user_list.html", context, status=422 if errors else 200)


@require_POST
def user_change(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "users.manage")
    user = get_object_or_404(User, pk=pk)
    active = request.POST.get("is_active")
    try:
        services.user_update(
            actor=request.user,
            user=user,
            role=request.POST.get("role") or None,
            is_active=None if active is None else active == "1",
        )
    except InvalidInput as exc:
        messages.error(request, " ".join(e.message for e in exc.errors))
    else:
        messages.success(
            request,
            f"{user.username} is now {user.get_role_display()}"
            + ("" if user.is_active else " (switched off)")
            + ".",
        )
    return redirect("access:users")


@lru_cache(maxsize=1)
def _time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own settings: the time zone reminders and pages use, and
    whether reminders come as one daily digest mail instead of one mail each."""
    if not request.user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    user = request.user
    errors: dict[str, str] = {}
    if request.method == "POST":
        zone = request.POST.get("time_zone", "").strip()
        if zone and zone not in _time_zones():
            errors["time_zone"] = f"“{zone[:64]}” is not a time zone this server knows."
        else:
            user.time_zone = zone  # type: ignore[union-attr]
            user.reminder_digest = request.POST.get("reminder_digest") == "1"  # type: ignore[union-attr]
            user.save(update_fields=["time_zone", "reminder_digest"])  # type: ignore[union-attr]
            messages.success(request, "Your preferences were saved.")
            return redirect("access:preferences")
    context = {
        "zones": _time_zones(),
        "current": request.POST.get("time_zone", user.time_zone) if errors else user.time_zone,  # type: ignore[union-attr]
        "server_zone": settings.TIME_ZONE,
        "errors": errors,
    }
    return render(request, "access/preferences.html", context, status=422 if errors else 200)
