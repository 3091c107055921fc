"""Contacts: list, search, create, read, replace, change, delete, history."""

from __future__ import annotations

from typing import Any, Literal

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from rapport.contacts import selectors, services
from rapport.contacts.api._filters import contact_filters
from rapport.contacts.api._http import (
    READ_ERRORS,
    VIA,
    WRITE_ERRORS,
    ObjectId,
    actor,
    created,
    custom_filters,
    expected_version,
    extra_filters,
    list_page_out,
    sent,
    with_etag,
)
from rapport.contacts.api._out import contact_out, history_out
from rapport.contacts.models import Contact
from rapport.contacts.schemas import (
    ContactIn,
    ContactListParams,
    ContactOut,
    ContactPage,
    ContactWriteOut,
    HistoryEntry,
)
from rapport.duplicates import services as duplicates
from rapport.duplicates.schemas import DuplicateConflictOut, candidates_out
from rapport.merges.redirects import api_redirect

contacts_router = Router(tags=["contacts"])


class LikelyDuplicate(Exception):
    """A write refused because the contact is likely someone already saved (409)."""

    def __init__(self, found: list[dict[str, Any]]) -> None:
        super().__init__("This contact is likely someone already saved.")
        self.found = found


@contacts_router.get("", response={200: ContactPage, **READ_ERRORS}, summary="List contacts")
def list_contacts(request: HttpRequest, params: Query[ContactListParams]) -> dict[str, Any]:
    """Search and filter contacts, one page at a time.

    Custom fields filter as `custom.<key>=value`, and number or date fields also as
    `custom.<key>__gte=` and `custom.<key>__lte=`. Other areas add filters of their
    own: `reachable=<channel>` keeps contacts who may be reached on that channel now
    (their preferences, contact hours and the law; see docs/outreach.md).
    """
    filters = contact_filters(params, custom_filters(request), extra_filters(request))
    return list_page_out(
        request,
        params,
        rows=selectors.contact_list,
        count=selectors.contact_count,
        out=contact_out,
        filters=filters,
    )


def _contact(request: HttpRequest, contact_id: int) -> Contact:
    return selectors.contact_get(actor=actor(request), contact_id=contact_id)


class OnDuplicate(Schema):
    on_duplicate: Literal["allow", "reject"] = Field(
        "allow",
        description="`reject`: answer 409 with the likely duplicates instead of saving.",
    )


def _likely_duplicates(
    request: HttpRequest, data: dict[str, Any], contact_id: int | None, reject: bool
) -> list[dict[str, Any]]:
    found = duplicates.contact_duplicate_check(
        actor=actor(request), data=data, contact_id=contact_id
    )
    if found and reject:
        raise LikelyDuplicate(candidates_out(found))
    return candidates_out(found)


@contacts_router.post(
    "",
    response={201: ContactWriteOut, 409: DuplicateConflictOut, **WRITE_ERRORS},
    summary="Create a contact",
)
def create_contact(
    request: HttpRequest, payload: ContactIn, response: HttpResponse, params: Query[OnDuplicate]
) -> Status[dict[str, Any]]:
    """Saved contacts that are likely the same person come back in `duplicates`; with
    `on_duplicate=reject` they are a 409 and nothing is saved."""
    data = sent(payload)
    found = _likely_duplicates(request, data, None, params.on_duplicate == "reject")
    contact = services.contact_create(actor=actor(request), data=data, via=VIA)
    contact = _contact(request, contact.pk)
    body = {**contact_out(contact), "duplicates": found}
    return created(request, response, contact.pk, contact.etag, body)


@contacts_router.get(
    "/{contact_id}", response={200: ContactOut, **READ_ERRORS}, summary="Read a contact"
)
def get_contact(
    request: HttpRequest, contact_id: ObjectId, response: HttpResponse
) -> dict[str, Any] | HttpResponse:
    """A contact merged into another answers 301 with the survivor's URL."""
    try:
        contact = _contact(request, contact_id)
    except Contact.DoesNotExist:
        moved = api_redirect(request, kind="contact", object_id=contact_id)
        if moved is None:
            raise
        return moved
    return with_etag(response, contact.etag, contact_out(contact))


def _update_contact(
    request: HttpRequest,
    contact_id: int,
    payload: ContactIn,
    response: HttpResponse,
    partial: bool,
    on_duplicate: str,
) -> dict[str, Any]:
    contact = Contact.objects.get(pk=contact_id)
    found = _likely_duplicates(request, sent(payload), contact_id, on_duplicate == "reject")
    services.contact_update(
        actor=actor(request),
        contact=contact,
        data=sent(payload),
        expected_version=expected_version(request, contact),
        partial=partial,
        via=VIA,
    )
    contact = _contact(request, contact_id)
    return with_etag(response, contact.etag, {**contact_out(contact), "duplicates": found})


@contacts_router.put(
    "/{contact_id}",
    response={200: ContactWriteOut, 409: DuplicateConflictOut, **WRITE_ERRORS},
    summary="Replace a contact",
)
def replace_contact(
    request: HttpRequest,
    contact_id: ObjectId,
    payload: ContactIn,
    response: HttpResponse,
    params: Query[OnDuplicate],
) -> dict[str, Any]:
    """Every field not sent is cleared (custom fields too). Likely duplicates come back
    in `duplicates`, or as a 409 with `on_duplicate=reject`."""
    return _update_contact(
        request, contact_id, payload, response, partial=False, on_duplicate=params.on_duplicate
    )


@contacts_router.patch(
    "/{contact_id}",
    response={200: ContactWriteOut, 409: DuplicateConflictOut, **WRITE_ERRORS},
    summary="Change a contact",
)
def patch_contact(
    request: HttpRequest,
    contact_id: ObjectId,
    payload: ContactIn,
    response: HttpResponse,
    params: Query[OnDuplicate],
) -> dict[str, Any]:
    """Only the fields sent change; a list sent (emails, tags…) replaces the whole list.
    Likely duplicates come back in `duplicates`, or as a 409 with `on_duplicate=reject`."""
    return _update_contact(
        request, contact_id, payload, response, partial=True, on_duplicate=params.on_duplicate
    )


@contacts_router.delete(
    "/{contact_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a contact"
)
def delete_contact(request: HttpRequest, contact_id: ObjectId) -> Status[None]:
    contact = Contact.objects.get(pk=contact_id)
    services.contact_delete(
        actor=actor(request),
        contact=contact,
        expected_version=expected_version(request, contact),
        via=VIA,
    )
    return Status(204, None)


@contacts_router.get(
    "/{contact_id}/history",
    response={200: list[HistoryEntry], **READ_ERRORS},
    summary="A contact's change history",
)
def contact_history(request: HttpRequest, contact_id: ObjectId) -> list[dict[str, Any]]:
    """Newest first; kept after the contact is deleted."""
    entries = selectors.history_for(
        actor=actor(request), object_type="contact", object_id=contact_id
    )
    if not entries:
        Contact.objects.only("pk").get(pk=contact_id)  # 404 for an id that never existed
    return history_out(entries)


@contacts_router.get(
    "/{contact_id}/photo",
    response={200: None, **READ_ERRORS},
    summary="A contact's photo",
    openapi_extra={"responses": {200: {"content": {"image/jpeg": {}}}}},
)
def get_photo(request: HttpRequest, contact_id: ObjectId) -> HttpResponse:
    contact = _contact(request, contact_id)
    if not contact.photo:
        raise Http404
    response = FileResponse(contact.photo.open("rb"), content_type="image/jpeg")
    response["ETag"] = contact.etag
    return response


@contacts_router.post(
    "/{contact_id}/photo",
    response={200: ContactOut, **WRITE_ERRORS},
    summary="Set a contact's photo",
)
def put_photo(
    request: HttpRequest, contact_id: ObjectId, response: HttpResponse, photo: File[UploadedFile]
) -> dict[str, Any]:
    """Multipart upload of a JPEG, PNG, GIF or WebP image (at most 5 MB), field `photo`.

    It is stored re-encoded as a JPEG of at most 512 px, without the original's metadata.
    """
    contact = Contact.objects.get(pk=contact_id)
    services.contact_photo_set(
        actor=actor(request),
        contact=contact,
        upload=photo,
        expected_version=expected_version(request, contact),
        via=VIA,
    )
    contact = _contact(request, contact_id)
    return with_etag(response, contact.etag, contact_out(contact))


@contacts_router.delete(
    "/{contact_id}/photo", response={204: None, **WRITE_ERRORS}, summary="Remove a contact's photo"
)
def delete_photo(request: HttpRequest, contact_id: ObjectId) -> Status[None]:
    contact = Contact.objects.get(pk=contact_id)
    services.contact_photo_set(
        actor=actor(request),
        contact=contact,
        upload=None,
        expected_version=expected_version(request, contact),
        via=VIA,
    )
    return Status(204, None)
