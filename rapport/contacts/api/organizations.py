"""Organizations: list, search, create, read, replace, change, delete, chart, history."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from rapport.contacts import selectors, services
from rapport.contacts.api._filters import organization_filters
from rapport.contacts.api._http import (
    READ_ERRORS,
    VIA,
    WRITE_ERRORS,
    ObjectId,
    actor,
    created,
    custom_filters,
    expected_version,
    list_page_out,
    sent,
    with_etag,
)
from rapport.contacts.api._out import contact_ref, history_out, organization_out
from rapport.contacts.api.contacts import LikelyDuplicate, OnDuplicate
from rapport.contacts.models import Organization
from rapport.contacts.schemas import (
    ChartNodeOut,
    HistoryEntry,
    OrganizationIn,
    OrganizationListParams,
    OrganizationOut,
    OrganizationPage,
    OrganizationWriteOut,
)
from rapport.duplicates import services as duplicates
from rapport.duplicates.schemas import DuplicateConflictOut, organization_candidates_out
from rapport.merges.redirects import api_redirect

organizations_router = Router(tags=["organizations"])


@organizations_router.get(
    "", response={200: OrganizationPage, **READ_ERRORS}, summary="List organizations"
)
def list_organizations(
    request: HttpRequest, params: Query[OrganizationListParams]
) -> dict[str, Any]:
    """Custom fields filter as `custom.<key>=value` (and `__gte` / `__lte`)."""
    filters = organization_filters(params, custom_filters(request))
    return list_page_out(
        request,
        params,
        rows=selectors.organization_list,
        count=selectors.organization_count,
        out=organization_out,
        filters=filters,
    )


def _organization(request: HttpRequest, org_id: int) -> Organization:
    return selectors.organization_get(actor=actor(request), org_id=org_id)


@organizations_router.post(
    "",
    response={201: OrganizationWriteOut, 409: DuplicateConflictOut, **WRITE_ERRORS},
    summary="Create an organization",
)
def create_organization(
    request: HttpRequest,
    payload: OrganizationIn,
    response: HttpResponse,
    params: Query[OnDuplicate],
) -> Status[dict[str, Any]]:
    """Saved organizations that are likely the same one come back in `duplicates`; with
    `on_duplicate=reject` they are a 409 and nothing is saved."""
    data = sent(payload)
    found = organization_candidates_out(
        duplicates.organization_duplicate_check_input(actor=actor(request), data=data)
    )
    if found and params.on_duplicate == "reject":
        raise LikelyDuplicate(found)
    org = services.organization_create(actor=actor(request), data=data, via=VIA)
    return created(
        request, response, org.pk, org.etag, {**organization_out(org), "duplicates": found}
    )


@organizations_router.get(
    "/{org_id}", response={200: OrganizationOut, **READ_ERRORS}, summary="Read an organization"
)
def get_organization(
    request: HttpRequest, org_id: ObjectId, response: HttpResponse
) -> dict[str, Any] | HttpResponse:
    """An organization merged into another answers 301 with the survivor's URL."""
    try:
        org = _organization(request, org_id)
    except Organization.DoesNotExist:
        moved = api_redirect(request, kind="organization", object_id=org_id)
        if moved is None:
            raise
        return moved
    return with_etag(response, org.etag, organization_out(org))


def _update_organization(
    request: HttpRequest,
    org_id: int,
    payload: OrganizationIn,
    response: HttpResponse,
    partial: bool,
) -> dict[str, Any]:
    org = Organization.objects.get(pk=org_id)
    updated = services.organization_update(
        actor=actor(request),
        org=org,
        data=sent(payload),
        expected_version=expected_version(request, org),
        partial=partial,
        via=VIA,
    )
    return with_etag(response, updated.etag, organization_out(updated))


@organizations_router.put(
    "/{org_id}", response={200: OrganizationOut, **WRITE_ERRORS}, summary="Replace an organization"
)
def replace_organization(
    request: HttpRequest, org_id: ObjectId, payload: OrganizationIn, response: HttpResponse
) -> dict[str, Any]:
    return _update_organization(request, org_id, payload, response, partial=False)


@organizations_router.patch(
    "/{org_id}", response={200: OrganizationOut, **WRITE_ERRORS}, summary="Change an organization"
)
def patch_organization(
    request: HttpRequest, org_id: ObjectId, payload: OrganizationIn, response: HttpResponse
) -> dict[str, Any]:
    return _update_organization(request, org_id, payload, response, partial=True)


@organizations_router.delete(
    "/{org_id}", response={204: None, **WRITE_ERRORS}, summary="Delete an organization"
)
def delete_organization(request: HttpRequest, org_id: ObjectId) -> Status[None]:
    """Its affiliations go too; child organizations lose their parent."""
    org = Organization.objects.get(pk=org_id)
    services.organization_delete(
        actor=actor(request), org=org, expected_version=expected_version(request, org), via=VIA
    )
    return Status(204, None)


@organizations_router.get(
    "/{org_id}/chart",
    response={200: list[ChartNodeOut], **READ_ERRORS},
    summary="An organization's chart",
)
def organization_chart(request: HttpRequest, org_id: ObjectId) -> list[dict[str, Any]]:
    """Current people as reporting trees; the people nobody is above come first."""
    org = Organization.objects.get(pk=org_id)
    roots = selectors.organization_chart(actor=actor(request), org=org)

    def node(n: selectors.ChartNode) -> dict[str, Any]:
        a = n.affiliation
        return {
            "affiliation_id": a.pk,
            "contact": contact_ref(a.contact),
            "title": a.title,
            "department": a.department,
            "buying_role": a.buying_role,
            "reports": [node(r) for r in n.reports],
        }

    return [node(r) for r in roots]


@organizations_router.get(
    "/{org_id}/history",
    response={200: list[HistoryEntry], **READ_ERRORS},
    summary="An organization's change history",
)
def organization_history(request: HttpRequest, org_id: ObjectId) -> list[dict[str, Any]]:
    entries = selectors.history_for(
        actor=actor(request), object_type="organization", object_id=org_id
    )
    if not entries:
        Organization.objects.only("pk").get(pk=org_id)
    return history_out(entries)
