"""Tags and custom field definitions: the shared vocabulary admins manage."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from rapport.contacts import selectors, services
from rapport.contacts.api._http import (
    READ_ERRORS,
    WRITE_ERRORS,
    ObjectId,
    actor,
    content_etag,
    created,
    page_in_memory,
    replacement,
    require_current,
    sent,
    with_etag,
)
from rapport.contacts.api._out import custom_field_out, tag_out
from rapport.contacts.models import CustomFieldDefinition, Tag
from rapport.contacts.schemas import (
    CustomFieldIn,
    CustomFieldListParams,
    CustomFieldOut,
    CustomFieldPage,
    TagIn,
    TagOut,
    TagPage,
    VocabularyListParams,
)

# ---------------------------------------------------------------- tags

tags_router = Router(tags=["tags"])


def _tag_etag(tag: Tag) -> str:
    return content_etag(tag.pk, tag_out(tag))


@tags_router.get("", response={200: TagPage, **READ_ERRORS}, summary="List tags")
def list_tags(request: HttpRequest, params: Query[VocabularyListParams]) -> dict[str, Any]:
    """By name, ignoring case."""
    needle = params.q.strip().casefold()
    tags = [t for t in selectors.tag_list(actor=actor(request)) if needle in t.name.casefold()]
    page, cursor = page_in_memory(
        tags, lambda t: (t.name_key, t.pk), (str, int), params.cursor, params.limit
    )
    return {"items": [tag_out(t) for t in page], "next_cursor": cursor}


@tags_router.post("", response={201: TagOut, **WRITE_ERRORS}, summary="Create a tag")
def create_tag(
    request: HttpRequest, payload: TagIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    tag = services.tag_create(actor=actor(request), data=sent(payload))
    return created(request, response, tag.pk, _tag_etag(tag), tag_out(tag))


@tags_router.get("/{tag_id}", response={200: TagOut, **READ_ERRORS}, summary="Read a tag")
def get_tag(request: HttpRequest, tag_id: ObjectId, response: HttpResponse) -> dict[str, Any]:
    tag = selectors.tag_get(actor=actor(request), tag_id=tag_id)
    return with_etag(response, _tag_etag(tag), tag_out(tag))


def _update_tag(
    request: HttpRequest, tag_id: int, data: dict[str, Any], response: HttpResponse
) -> dict[str, Any]:
    tag = selectors.tag_get(actor=actor(request), tag_id=tag_id)
    tag = services.tag_update(
        actor=actor(request),
        tag=tag,
        data=data,
        check_current=lambda locked: require_current(request, _tag_etag(locked)),
    )
    return with_etag(response, _tag_etag(tag), tag_out(tag))


@tags_router.put("/{tag_id}", response={200: TagOut, **WRITE_ERRORS}, summary="Replace a tag")
def replace_tag(
    request: HttpRequest, tag_id: ObjectId, payload: TagIn, response: HttpResponse
) -> dict[str, Any]:
    """Renaming a tag renames it on every contact and organization that carries it."""
    return _update_tag(request, tag_id, replacement(payload, ("name", "color")), response)


@tags_router.patch("/{tag_id}", response={200: TagOut, **WRITE_ERRORS}, summary="Change a tag")
def patch_tag(
    request: HttpRequest, tag_id: ObjectId, payload: TagIn, response: HttpResponse
) -> dict[str, Any]:
    return _update_tag(request, tag_id, sent(payload), response)


@tags_router.delete("/{tag_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a tag")
def delete_tag(request: HttpRequest, tag_id: ObjectId) -> Status[None]:
    """The tag disappears from every record that carries it."""
    tag = selectors.tag_get(actor=actor(request), tag_id=tag_id)
    services.tag_delete(
        actor=actor(request),
        tag=tag,
        check_current=lambda locked: require_current(request, _tag_etag(locked)),
    )
    return Status(204, None)


# ---------------------------------------------------------------- custom fields

custom_fields_router = Router(tags=["custom fields"])
_CUSTOM_FIELD_FIELDS = tuple(CustomFieldIn.model_fields)


def _definition_etag(d: CustomFieldDefinition) -> str:
    return content_etag(d.pk, custom_field_out(d))


@custom_fields_router.get(
    "", response={200: CustomFieldPage, **READ_ERRORS}, summary="List custom fields"
)
def list_custom_fields(
    request: HttpRequest, params: Query[CustomFieldListParams]
) -> dict[str, Any]:
    """In form order: by target, then position."""
    needle = params.q.strip().casefold()
    definitions = [
        d
        for d in selectors.custom_field_list(actor=actor(request), target=params.target)
        if needle in d.label.casefold() or needle in d.key
    ]
    page, cursor = page_in_memory(
        definitions,
        lambda d: (d.target, d.position, d.pk),
        (str, int, int),
        params.cursor,
        params.limit,
    )
    return {"items": [custom_field_out(d) for d in page], "next_cursor": cursor}


@custom_fields_router.post(
    "", response={201: CustomFieldOut, **WRITE_ERRORS}, summary="Define a custom field"
)
def create_custom_field(
    request: HttpRequest, payload: CustomFieldIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    d = services.custom_field_create(actor=actor(request), data=sent(payload))
    return created(request, response, d.pk, _definition_etag(d), custom_field_out(d))


@custom_fields_router.get(
    "/{definition_id}",
    response={200: CustomFieldOut, **READ_ERRORS},
    summary="Read a custom field definition",
)
def get_custom_field(
    request: HttpRequest, definition_id: ObjectId, response: HttpResponse
) -> dict[str, Any]:
    d = selectors.custom_field_get(actor=actor(request), definition_id=definition_id)
    return with_etag(response, _definition_etag(d), custom_field_out(d))


def _update_custom_field(
    request: HttpRequest, definition_id: int, data: dict[str, Any], response: HttpResponse
) -> dict[str, Any]:
    d = selectors.custom_field_get(actor=actor(request), definition_id=definition_id)
    d = services.custom_field_update(
        actor=actor(request),
        definition=d,
        data=data,
        check_current=lambda locked: require_current(request, _definition_etag(locked)),
    )
    return with_etag(response, _definition_etag(d), custom_field_out(d))


@custom_fields_router.put(
    "/{definition_id}",
    response={200: CustomFieldOut, **WRITE_ERRORS},
    summary="Replace a custom field definition",
)
def replace_custom_field(
    request: HttpRequest, definition_id: ObjectId, payload: CustomFieldIn, response: HttpResponse
) -> dict[str, Any]:
    """Send the whole definition; the key, target and type cannot change."""
    return _update_custom_field(
        request, definition_id, replacement(payload, _CUSTOM_FIELD_FIELDS), response
    )


@custom_fields_router.patch(
    "/{definition_id}",
    response={200: CustomFieldOut, **WRITE_ERRORS},
    summary="Change a custom field definition",
)
def patch_custom_field(
    request: HttpRequest, definition_id: ObjectId, payload: CustomFieldIn, response: HttpResponse
) -> dict[str, Any]:
    return _update_custom_field(request, definition_id, sent(payload), response)


@custom_fields_router.delete(
    "/{definition_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a custom field definition",
)
def delete_custom_field(request: HttpRequest, definition_id: ObjectId) -> Status[None]:
    """Values already stored stay in the records' history."""
    d = selectors.custom_field_get(actor=actor(request), definition_id=definition_id)
    services.custom_field_delete(
        actor=actor(request),
        definition=d,
        check_current=lambda locked: require_current(request, _definition_etag(locked)),
    )
    return Status(204, None)
