"""API authentication (a personal token or the browser session) and the caller's own profile."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from rapport.access.services import token_authenticate, token_check_throttle, token_record_failure
from rapport.core import policy


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>`` with a token from `rapport token create`.

    An address that sends too many unknown tokens gets 429 for them for a while
    (TokenThrottled), so scanning is slowed and logged. A valid token always works: many
    clients may share one address (a proxy, an office), and one client's stale token must
    not lock the others out; a token has too much entropy to be guessed anyway.
    """

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        address = request.META.get("REMOTE_ADDR") or "unknown"
        user = token_authenticate(key=token.strip())
        if user is None:
            token_check_throttle(ip_address=address)
            token_record_failure(ip_address=address)
        return user


class SessionAuth(APIKeyCookie):
    """The signed-in browser session, as used by the web UI.

    Unsafe methods must carry the CSRF token. A request that sends an Authorization
    header is judged by that header alone, so a bad token is a 401 even from a browser.
    The CSRF check runs only for a signed-in session, so an anonymous request gets 401.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if "authorization" in request.headers:
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if (
            self.csrf
            and not getattr(request, "_ninja_csrf_exempt", False)
            and check_csrf(request) is not None
        ):
            raise HttpError(403, "CSRF check failed: send the X-CSRFToken header.")
        return user


router = Router(tags=["me"])


class MeOut(Schema):
    username: str
    name: str
    role: str
    permissions: list[str]


@router.get("/me", response=MeOut, summary="Who am I")
def me(request: HttpRequest) -> dict[str, Any]:
    """The signed-in user (or the owner of the token) and what they may do."""
    user = request.auth  # type: ignore[attr-defined]
    return {
        "username": user.username,
        "name": user.get_full_name(),
        "role": policy.role_of(user) or "",
        "permissions": sorted(policy.allowed_actions(user)),
    }
