"""The REST API under /api/v1/: one NinjaAPI, its authentication and its error responses.

Every error is JSON: 401 without valid credentials, 403 when the policy says no, 404 for
an unknown id, 412 for a stale If-Match, 422 ``{"errors": [{"field", "message"}]}`` for
invalid input (from the services and from request parsing alike).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from rapport.access.api import SessionAuth, TokenAuth
from rapport.access.api import router as access_router
from rapport.access.services import TokenThrottled
from rapport.contacts.api import (
    affiliations_router,
    contacts_router,
    custom_fields_router,
    organizations_router,
    tags_router,
)
from rapport.contacts.api.bulk import bulk_router, organizations_bulk_router
from rapport.contacts.api.contacts import LikelyDuplicate
from rapport.core.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotPermitted,
    UnsupportedMediaType,
)

logger = logging.getLogger(__name__)


class LocalSwagger(Swagger):
    """Swagger UI from django-ninja's local templates and static files (see settings:
    found through TEMPLATES and STATICFILES_DIRS), never from a CDN."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        context = {
            "swagger_settings": json.dumps(self.settings, indent=1),
            "api": api,
            "add_csrf": any(getattr(a, "csrf", False) for a in api.auth or []),
        }
        return render(request, self.template, context)


class RequestBodyInvalid(InvalidInput):
    """The body is not JSON, or carries text the database cannot store."""


def _check_text(value: Any, path: str) -> None:
    """Refuse text no database can store (NUL, lone surrogates), naming where it is."""
    if isinstance(value, str):
        if "\x00" in value:
            raise RequestBodyInvalid.single(path or "body", "Text cannot contain NUL characters.")
        try:
            value.encode()
        except UnicodeEncodeError:
            raise RequestBodyInvalid.single(path or "body", "Text is not valid Unicode.") from None
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_text(key, path or "body")
            _check_text(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_text(item, f"{path}[{i}]")


def _is_json_content_type(content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    return not media_type or media_type == "application/json" or media_type.endswith("+json")


class JsonParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        content_type = request.headers.get("content-type", "")
        if not _is_json_content_type(content_type):
            raise UnsupportedMediaType(
                f"Send the body as JSON with Content-Type: application/json, not {content_type}."
            )
        try:
            data = json.loads(request.body)
        except ValueError as exc:
            raise RequestBodyInvalid.single("body", f"The body is not valid JSON: {exc}.") from exc
        _check_text(data, "")
        return data

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        for key, values in data.lists():
            for value in values:
                if "\x00" in key or "\x00" in value:
                    raise InvalidInput.single(key, "Text cannot contain NUL characters.")
        return super().parse_querydict(data, list_fields, request)


api = NinjaAPI(
    title="Rapport API",
    version="1",
    description=(
        "Contacts, organizations, affiliations, tags and custom fields.\n\n"
        "Authenticate with `Authorization: Bearer <token>` (create one with "
        "`rapport token create USERNAME`) or with the web session (unsafe methods then "
        "need the X-CSRFToken header). Lists return `{items, next_cursor}`; pass "
        "`cursor=<next_cursor>` for the next page. Every object carries an ETag; send it "
        "back as If-Match on PUT, PATCH and DELETE to avoid overwriting someone else's "
        "change (a stale one gets 412). Invalid input gets 422 with "
        '`{"errors": [{"field": "emails[1].address", "message": "…"}]}`.'
    ),
    urls_namespace="api",
    auth=[TokenAuth(), SessionAuth()],
    parser=JsonParser(),
    # The page loads Swagger UI from django-ninja's own static files, never from a CDN,
    # and must not send the schema to the public validator.
    docs=LocalSwagger(settings={"validatorUrl": None, "persistAuthorization": True}),
)

api.add_router("/", access_router)
api.add_router("/contacts/bulk", bulk_router)
api.add_router("/contacts", contacts_router)
api.add_router("/organizations/bulk", organizations_bulk_router)
api.add_router("/organizations", organizations_router)
api.add_router("/affiliations", affiliations_router)
api.add_router("/tags", tags_router)
api.add_router("/custom-fields", custom_fields_router)
api.add_router("/exports", "rapport.ingest.api_export.router")
api.add_router("/imports", "rapport.ingest.api.router")
api.add_router("/quality", "rapport.quality.api.router")
api.add_router("/duplicates", "rapport.duplicates.api.router")
api.add_router("/merges", "rapport.merges.api.router")
api.add_router("/interactions", "rapport.activity.api.interactions.router")
api.add_router("/", "rapport.activity.api.interactions.timeline_router")
api.add_router("/calendar", "rapport.activity.api.calendar.router")
api.add_router("/tasks", "rapport.activity.api.tasks.router")
api.add_router("/notifications", "rapport.activity.api.notifications.router")
api.add_router("/keep-in-touch", "rapport.activity.api.keep_in_touch.router")
api.add_router("/mailboxes", "rapport.activity.api.mailboxes.router")
api.add_router("/mail", "rapport.activity.api.mail.router")
api.add_router("/purposes", "rapport.consent.api.purposes.router")
api.add_router("/", "rapport.consent.api.events.contact_router")
api.add_router("/consent-events", "rapport.consent.api.events.router")
api.add_router("/", "rapport.outreach.api.preferences.router")
api.add_router("/", "rapport.outreach.api.bulk.router")
api.add_router("/", "rapport.outreach.api.messages.router")
api.add_router("/privacy", "rapport.privacy.api.router")
api.add_router("/", "rapport.privacy.api.contact_router")
api.add_router("/segments", "rapport.segments.api.router")
api.add_router("/lists", "rapport.segments.api.lists_router")
api.add_router("/views", "rapport.contacts.api.saved_views.router")
api.add_router("/orders", "rapport.segments.api_orders.router")
api.add_router("/metrics", "rapport.insights.api.router")
api.add_router("/scores", "rapport.segments.api_scores.router")


def _errors(request: HttpRequest, errors: list[FieldError]) -> HttpResponse:
    return api.create_response(request, {"errors": [e.as_dict() for e in errors]}, status=422)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'payload', 'emails', 1, 'address') -> 'emails[1].address'."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[2:]  # the source and the handler's parameter name
    elif parts and parts[0] in ("query", "path", "header", "cookie", "form"):
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


_MESSAGES = {
    "extra_forbidden": "Unknown field.",
    "missing": "This field is required.",
}


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for error in exc.errors:
        message = _MESSAGES.get(error.get("type", "")) or str(error.get("msg", "Invalid value."))
        if error.get("type") == "too_long":  # a list or an object with too many entries
            limit = (error.get("ctx") or {}).get("max_length")
            message = f"At most {limit} entries are allowed."
        errors.append(FieldError(field_path(error.get("loc", ())), message))
    return _errors(request, errors)


@api.exception_handler(InvalidInput)
def invalid_input(request: HttpRequest, exc: InvalidInput) -> HttpResponse:
    return _errors(request, exc.errors)


@api.exception_handler(UnsupportedMediaType)
def unsupported_media_type(request: HttpRequest, exc: UnsupportedMediaType) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=415)


@api.exception_handler(RequestDataTooBig)
def body_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    return api.create_response(
        request, {"detail": f"The request body is too large (at most {limit} MB)."}, status=413
    )


@api.exception_handler(MultiPartParserError)
def upload_unreadable(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    return api.create_response(
        request, {"detail": f"The multipart body could not be read: {exc}."}, status=400
    )


@api.exception_handler(TokenThrottled)
def token_throttled(request: HttpRequest, exc: TokenThrottled) -> HttpResponse:
    response = api.create_response(request, {"detail": str(exc)}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # Errors from parsing the body arrive wrapped in an HttpError(400).
    if isinstance(exc.__cause__, InvalidInput):
        return _errors(request, exc.__cause__.errors)
    if isinstance(exc.__cause__, UnsupportedMediaType):
        return unsupported_media_type(request, exc.__cause__)
    if isinstance(exc.__cause__, RequestDataTooBig):
        return body_too_large(request, exc.__cause__)
    if not isinstance(exc, AuthenticationError):
        return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)
    response = api.create_response(
        request,
        {"detail": "Authentication required: send a valid API token or sign in."},
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="rapport"'
    return response


@api.exception_handler(NotPermitted)
def not_permitted(request: HttpRequest, exc: NotPermitted) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=403)


@api.exception_handler(Conflict)
def conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=412)


@api.exception_handler(LikelyDuplicate)
def likely_duplicate(request: HttpRequest, exc: LikelyDuplicate) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc), "duplicates": exc.found}, status=409)


@api.exception_handler(ObjectDoesNotExist)
@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(DataError)
@api.exception_handler(OverflowError)
def out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A last line of defence: the services check sizes, but a value the database still
    # refuses is the client's input, not a server fault.
    logger.warning("Database refused API input: %s", exc)
    return _errors(request, [FieldError("body", "A value is too large or not storable.")])
