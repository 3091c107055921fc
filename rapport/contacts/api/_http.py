"""HTTP plumbing shared by the routers: ids, ETags and If-Match, input dicts, paging."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Schema, Status
from ninja.params import functions as param

from rapport.contacts import selectors
from rapport.contacts.schemas import MAX_ID
from rapport.core.cursor import decode_cursor, encode_cursor
from rapport.core.errors import Conflict, InvalidInput
from rapport.core.models import TimeStamped

VIA = "api"
ObjectId = Annotated[int, param.Path(ge=1, le=MAX_ID, description="The object's id.")]


class Detail(Schema):
    detail: str


class FieldErrorOut(Schema):
    field: str
    message: str


class Errors(Schema):
    errors: list[FieldErrorOut]


# Documented for every operation that can fail that way.
READ_ERRORS: dict[int, Any] = {401: Detail, 403: Detail, 404: Detail, 422: Errors}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 412: Detail}


def actor(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def list_page_out(
    request: HttpRequest,
    params: Any,
    *,
    rows: Any,
    count: Any,
    out: Any,
    filters: Any,
) -> dict[str, Any]:
    """One page of a list endpoint, and its count when ``with_count`` asks for it
    (contacts and organizations alike)."""
    search = {"actor": actor(request), "q": params.q, "filters": filters, "sort": params.sort or ""}
    page = rows(**search, cursor=params.cursor, limit=params.limit)
    counted = count(**search) if params.with_count else selectors.MatchCount(None, False)
    return {
        "items": [out(item) for item in page.items],
        "next_cursor": page.next_cursor,
        "count": counted.value,
        "count_capped": counted.capped,
    }


def _entity_tags(request: HttpRequest) -> list[str] | None:
    """The entity tags of If-Match, or None when the header is absent or '*'."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def expected_version(request: HttpRequest, obj: TimeStamped) -> int | None:
    """The version the client last saw, from If-Match; Conflict when it names another object."""
    tags = _entity_tags(request)
    if tags is None:
        return None
    for tag in tags:
        obj_id, _, version = tag.strip('"').partition("-")
        if obj_id == str(obj.pk) and version.isdecimal():
            return int(version)
    raise Conflict("If-Match does not match this object; fetch it again.")


def require_current(request: HttpRequest, etag: str) -> None:
    """If-Match for records without a version: compare with the ETag they have now."""
    tags = _entity_tags(request)
    if tags is not None and etag not in tags:
        raise Conflict("This was changed by someone else since you loaded it.")


def content_etag(obj_id: int, representation: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(representation, sort_keys=True).encode()).hexdigest()
    return f'"{obj_id}-{digest[:16]}"'


def sent(payload: Schema) -> dict[str, Any]:
    """Only what the client sent, as the plain dict the services take."""
    return payload.model_dump(exclude_unset=True)


def replacement(payload: Schema, fields: Any) -> dict[str, Any]:
    """A full replacement for services that merge: every field not sent becomes empty."""
    return {**dict.fromkeys(fields), **sent(payload)}


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """A moment with a time zone, in UTC: PostgreSQL refuses offsets beyond ±15:59,
    which ISO 8601 text may carry (``-23:44``)."""
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        return value  # beyond year 1 or 9999 in UTC: the caller's range check names it


def custom_filters(request: HttpRequest) -> dict[str, str]:
    """``custom.<key>=value`` and ``custom.<key>__gte/__lte`` query parameters."""
    return {
        key.removeprefix("custom."): request.GET[key]
        for key in request.GET
        if key.startswith("custom.") and len(key) > len("custom.")
    }


def extra_filters(request: HttpRequest) -> dict[str, str]:
    """The filters other areas added to the contact list (``reachable=call``), by key."""
    from rapport.core import listing

    return {
        f.key: request.GET[f.key]
        for f in listing.filters_for("contacts")
        if request.GET.get(f.key, "").strip()
    }


def page_in_memory(
    rows: list[Any], key: Any, types: tuple[type, ...], cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """Keyset paging over a short, fully loaded list (tags, custom field definitions)."""
    if not 1 <= limit <= selectors.MAX_LIMIT:
        raise InvalidInput.single("limit", f"Must be between 1 and {selectors.MAX_LIMIT}.")
    rows = sorted(rows, key=key)
    if cursor:
        after = tuple(decode_cursor(cursor, len(types)))
        if not all(type(value) is kind for value, kind in zip(after, types, strict=True)):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        rows = [r for r in rows if key(r) > after]
    page = rows[:limit]
    more = len(rows) > limit
    return page, encode_cursor(list(key(page[-1]))) if more else None


def with_etag(response: HttpResponse, etag: str, body: dict[str, Any]) -> dict[str, Any]:
    response["ETag"] = etag
    return body


def created(
    request: HttpRequest, response: HttpResponse, obj_id: int, etag: str, body: dict[str, Any]
) -> Status[dict[str, Any]]:
    response["ETag"] = etag
    response["Location"] = f"{request.path.rstrip('/')}/{obj_id}"
    return Status(201, body)
