"""A database that stays busy past its wait answers 503 with Retry-After, never 500.

SQLite serialises writers: a writer waits up to the connection's ``timeout`` for the
others and then fails with "database is locked". PostgreSQL fails a transaction that
waited on a lock too long or lost a deadlock. Nothing of the request was saved (its
transaction rolled back), so the client is told to send it again shortly.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

RETRY_AFTER_SECONDS = 2
_BUSY_MESSAGES = ("database is locked", "database table is locked", "database is busy")
_BUSY_SQLSTATES = {"40001", "40P01", "55P03", "57014"}  # serialization, deadlock, lock, timeout


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` means "the database was busy", as opposed to a real failure."""
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) in _BUSY_SQLSTATES:
        return True
    return any(message in str(exc).lower() for message in _BUSY_MESSAGES)


class DatabaseBusyMiddleware:
    """Turns a busy database into 503 + Retry-After: JSON under /api/, a page elsewhere."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_busy(exception):
            return None
        return busy_response(request)


def busy_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"detail": "The database is busy; nothing was saved. Retry shortly."}, status=503
        )
    else:
        response = HttpResponse(render_to_string("503.html", request=request), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
