"""GET /api/v1/exports/contacts and /exports/organizations: a filtered list or a
selection as a file.

The parameters are the list's (``q``, ``tag``, ``owner``, … and ``custom.<key>``), plus
``format`` and ``id`` (repeatable) for a selection. The file is streamed as it is
written; see docs/export.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Field, Query, Router, Schema

from rapport.contacts.api._filters import contact_filters, organization_filters
from rapport.contacts.api._http import READ_ERRORS, actor, custom_filters
from rapport.contacts.limits import MAX_TAG_FILTERS
from rapport.contacts.models import Contact
from rapport.contacts.schemas import MAX_ID
from rapport.ingest.export_views import streaming_download
from rapport.ingest.exporters import (
    FORMATS,
    MAX_SELECTION,
    ORGANIZATION_FORMATS,
    contacts_export,
    organizations_export,
)

router = Router(tags=["exports"])


class ContactExportParams(Schema):
    format: str = Field(
        "csv",
        description="csv, xlsx, vcf (vCard 4.0), vcf3 (vCard 3.0) or json.",
        json_schema_extra={"enum": list(FORMATS)},
    )
    q: str = Field("", description="Search, as on the contact list.")
    tag: list[str] = Field(
        [], max_length=MAX_TAG_FILTERS, description="Only contacts with this tag; repeatable."
    )
    owner: str | None = Field(None, description="Username of the owner.")
    organization: int | None = Field(None, ge=1, le=MAX_ID)
    lifecycle_stage: str | None = Field(
        None, json_schema_extra={"enum": list(Contact.Lifecycle.values)}
    )
    country: str | None = Field(None, description="ISO alpha-2 country of any address.")
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    contacted_after: dt.datetime | None = None
    not_contacted_since: dt.datetime | None = None
    next_step: Literal["any", "none", "overdue"] | None = None
    reach_out_due: bool = False
    id: list[int] = Field(
        [],
        max_length=MAX_SELECTION,
        description="Export only these contacts (a selection); repeatable, at most 10,000.",
    )
    purpose: str = Field(
        "",
        description="An export for a campaign: leave out whoever may not be contacted for "
        "this purpose (its key) now, through the contact gate.",
    )
    channel: str = Field("email", description="The campaign's channel, with purpose.")


def _file_schema(content_type: str) -> dict[str, Any]:
    if content_type == "application/json":  # the contacts as GET /contacts/{id} shows them
        return {"type": "array", "items": {"type": "object"}}
    if content_type.startswith("text/"):
        return {"type": "string"}
    return {"type": "string", "format": "binary"}


_FILE_TYPES = {
    spec.content_type: {"schema": _file_schema(spec.content_type)} for spec in FORMATS.values()
}


@router.get(
    "/contacts",
    response={**READ_ERRORS},
    summary="Export contacts",
    openapi_extra={"responses": {200: {"description": "The file.", "content": _FILE_TYPES}}},
)
def export_contacts(request: HttpRequest, params: Query[ContactExportParams]) -> Any:
    """Stream the contacts a list with these parameters shows, as CSV, XLSX, vCard or JSON.

    The response carries `Content-Disposition: attachment; filename="contacts-….csv"`.
    """
    filters = contact_filters(params, custom_filters(request))
    export = contacts_export(
        actor=actor(request),
        file_format=params.format,
        q=params.q,
        filters=filters,
        ids=params.id or None,
        purpose=params.purpose,
        channel=params.channel,
    )
    response: StreamingHttpResponse = streaming_download(export)
    return response


class OrganizationExportParams(Schema):
    format: str = Field(
        "csv",
        description="csv, xlsx or json.",
        json_schema_extra={"enum": list(ORGANIZATION_FORMATS)},
    )
    q: str = Field("", description="Search, as on the organization list.")
    tag: list[str] = Field(
        [], max_length=MAX_TAG_FILTERS, description="Only organizations with this tag; repeatable."
    )
    owner: str | None = Field(None, description="Username of the owner.")
    parent: int | None = Field(
        None, ge=1, le=MAX_ID, description="Only direct children of this organization."
    )
    industry: str | None = None
    country: str | None = Field(None, description="ISO alpha-2 country of any address.")
    id: list[int] = Field(
        [],
        max_length=MAX_SELECTION,
        description="Export only these organizations (a selection); repeatable, at most 10,000.",
    )


_ORGANIZATION_FILE_TYPES = {
    FORMATS[name].content_type: {"schema": _file_schema(FORMATS[name].content_type)}
    for name in ORGANIZATION_FORMATS
}


@router.get(
    "/organizations",
    response={**READ_ERRORS},
    summary="Export organizations",
    openapi_extra={
        "responses": {200: {"description": "The file.", "content": _ORGANIZATION_FILE_TYPES}}
    },
)
def export_organizations(request: HttpRequest, params: Query[OrganizationExportParams]) -> Any:
    """Stream the organizations a list with these parameters shows, as CSV, XLSX or JSON.

    The response carries `Content-Disposition: attachment; filename="organizations-….csv"`.
    """
    export = organizations_export(
        actor=actor(request),
        file_format=params.format,
        q=params.q,
        filters=organization_filters(params, custom_filters(request)),
        ids=params.id or None,
    )
    response: StreamingHttpResponse = streaming_download(export)
    return response
