"""The list filters of a request, for the list endpoints and the bulk ones alike."""

from __future__ import annotations

from typing import Any

from rapport.contacts import selectors
from rapport.contacts.api._http import aware


def contact_filters(
    spec: Any, custom: dict[str, str], extra: dict[str, str] | None = None
) -> selectors.ContactFilters:
    """ContactFilters from GET /contacts' parameters or a bulk request's ``filter``;
    ``extra`` holds the filters other areas added (core.listing), by parameter."""
    return selectors.ContactFilters(
        tags=spec.tag,
        owner=spec.owner,
        organization=spec.organization,
        lifecycle_stage=spec.lifecycle_stage,
        country=spec.country,
        created_after=aware(spec.created_after),
        created_before=aware(spec.created_before),
        updated_after=aware(spec.updated_after),
        updated_before=aware(spec.updated_before),
        contacted_after=aware(getattr(spec, "contacted_after", None)),
        not_contacted_since=aware(getattr(spec, "not_contacted_since", None)),
        next_step=getattr(spec, "next_step", None),
        reach_out_due=bool(getattr(spec, "reach_out_due", False)),
        custom=custom,
        extra=extra or {},
    )


def organization_filters(spec: Any, custom: dict[str, str]) -> selectors.OrganizationFilters:
    """OrganizationFilters from GET /organizations' parameters or a bulk ``filter``."""
    return selectors.OrganizationFilters(
        tags=spec.tag,
        owner=spec.owner,
        parent=spec.parent,
        industry=spec.industry,
        country=spec.country,
        custom=custom,
    )
