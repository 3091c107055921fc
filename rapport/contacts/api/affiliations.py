"""Affiliations: who works where, in which role, reporting to whom."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from rapport.contacts import selectors, services
from rapport.contacts.api._http import (
    READ_ERRORS,
    VIA,
    WRITE_ERRORS,
    ObjectId,
    actor,
    created,
    expected_version,
    replacement,
    sent,
    with_etag,
)
from rapport.contacts.api._out import affiliation_out
from rapport.contacts.models import Affiliation
from rapport.contacts.schemas import (
    AffiliationIn,
    AffiliationListParams,
    AffiliationOut,
    AffiliationPage,
)

affiliations_router = Router(tags=["affiliations"])
_AFFILIATION_FIELDS = tuple(AffiliationIn.model_fields)


@affiliations_router.get(
    "", response={200: AffiliationPage, **READ_ERRORS}, summary="List affiliations"
)
def list_affiliations(request: HttpRequest, params: Query[AffiliationListParams]) -> dict[str, Any]:
    page = selectors.affiliation_list(
        actor=actor(request),
        q=params.q,
        filters=selectors.AffiliationFilters(
            contact=params.contact,
            organization=params.organization,
            is_current=params.is_current,
        ),
        cursor=params.cursor,
        limit=params.limit,
    )
    return {"items": [affiliation_out(a) for a in page.items], "next_cursor": page.next_cursor}


def _affiliation(request: HttpRequest, affiliation_id: int) -> Affiliation:
    return selectors.affiliation_get(actor=actor(request), affiliation_id=affiliation_id)


@affiliations_router.post(
    "", response={201: AffiliationOut, **WRITE_ERRORS}, summary="Link a person to an organization"
)
def create_affiliation(
    request: HttpRequest, payload: AffiliationIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    link = services.affiliation_create(actor=actor(request), data=sent(payload), via=VIA)
    a = _affiliation(request, link.pk)
    return created(request, response, a.pk, a.etag, affiliation_out(a))


@affiliations_router.get(
    "/{affiliation_id}",
    response={200: AffiliationOut, **READ_ERRORS},
    summary="Read an affiliation",
)
def get_affiliation(
    request: HttpRequest, affiliation_id: ObjectId, response: HttpResponse
) -> dict[str, Any]:
    a = _affiliation(request, affiliation_id)
    return with_etag(response, a.etag, affiliation_out(a))


def _update_affiliation(
    request: HttpRequest, affiliation_id: int, data: dict[str, Any], response: HttpResponse
) -> dict[str, Any]:
    current = _affiliation(request, affiliation_id)
    services.affiliation_update(
        actor=actor(request),
        affiliation=current,
        data=data,
        expected_version=expected_version(request, current),
        via=VIA,
    )
    a = _affiliation(request, affiliation_id)
    return with_etag(response, a.etag, affiliation_out(a))


@affiliations_router.put(
    "/{affiliation_id}",
    response={200: AffiliationOut, **WRITE_ERRORS},
    summary="Replace an affiliation",
)
def replace_affiliation(
    request: HttpRequest, affiliation_id: ObjectId, payload: AffiliationIn, response: HttpResponse
) -> dict[str, Any]:
    return _update_affiliation(
        request, affiliation_id, replacement(payload, _AFFILIATION_FIELDS), response
    )


@affiliations_router.patch(
    "/{affiliation_id}",
    response={200: AffiliationOut, **WRITE_ERRORS},
    summary="Change an affiliation",
)
def patch_affiliation(
    request: HttpRequest, affiliation_id: ObjectId, payload: AffiliationIn, response: HttpResponse
) -> dict[str, Any]:
    """Ending one (is_current false) moves the people who reported to them up a level."""
    return _update_affiliation(request, affiliation_id, sent(payload), response)


@affiliations_router.delete(
    "/{affiliation_id}", response={204: None, **WRITE_ERRORS}, summary="Delete an affiliation"
)
def delete_affiliation(request: HttpRequest, affiliation_id: ObjectId) -> Status[None]:
    current = _affiliation(request, affiliation_id)
    services.affiliation_delete(
        actor=actor(request),
        affiliation=current,
        expected_version=expected_version(request, current),
        via=VIA,
    )
    return Status(204, None)
