"""Every page needs a signed-in user, except the few listed here."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

# /public/: pages for people who are not users (a consent sign-up form and its
# confirmation link), each guarded by its own signed token.
# /dav and /.well-known/carddav sign in with app passwords (rapport.sync.dav), never a session.
_OPEN_PREFIXES = ("/login/", "/static/", "/api/", "/healthz", "/public/", "/dav/")
_OPEN_PATHS = ("/dav", "/.well-known/carddav", "/.well-known/carddav/")
# An address-book client given only the server's address asks its root first.
_DAV_METHODS = ("PROPFIND", "REPORT")


class LoginRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/" and request.method in _DAV_METHODS:
            response = HttpResponse(status=301)
            response["Location"] = "/dav/"
            return response
        if (
            not request.user.is_authenticated
            and not request.path.startswith(_OPEN_PREFIXES)
            and request.path not in _OPEN_PATHS
        ):
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return self.get_response(request)
