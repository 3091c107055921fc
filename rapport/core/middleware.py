"""Error responses under /api/ are JSON, whichever layer produced them."""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse

API_PREFIX = "/api/"

# Headers of the original error response that still mean something on the JSON one.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary")


def _is_json(response: HttpResponse) -> bool:
    content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


def _detail(status: int) -> str:
    if status == 404:
        return "Not found."
    if status == 405:
        return "Method not allowed."
    if status == 413:
        return "The request body is too large."
    if status >= 500:
        return "Server error: the request could not be completed."
    try:
        return HTTPStatus(status).phrase + "."
    except ValueError:
        return "The request could not be completed."


class ApiJsonErrorsMiddleware:
    """Turn any non-JSON error response under /api/ into ``{"detail": "…"}`` JSON.

    The API's own handlers already answer JSON; this covers what happens outside them:
    an unknown URL (404), a method the route does not take (405), a body Django refuses
    before the API sees it (400, 413) and an unhandled exception (500, logged by Django).
    It sits near the top of the middleware stack so it also sees those responses.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith(API_PREFIX)
            or _is_json(response)
            or getattr(response, "streaming", False)
        ):
            return response
        replacement = HttpResponse(
            json.dumps({"detail": _detail(response.status_code)}),
            status=response.status_code,
            content_type="application/json; charset=utf-8",
        )
        for header in _KEPT_HEADERS:
            if header in response:
                replacement[header] = response[header]
        return replacement
