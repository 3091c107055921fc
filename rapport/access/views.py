"""Sign-in, personal API tokens, and the health check."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from rapport.access.models import ApiToken
from rapport.access.services import token_create, token_revoke
from rapport.core import policy
from rapport.core.errors import NotPermitted


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


def healthz(request: HttpRequest) -> HttpResponse:
    """Up when the database answers; used by load balancers and container checks."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})
