"""Reads of organizations, their people and chart, affiliations, tags, custom fields,
and the search across contacts and organizations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
)

from rapport.contacts.models import (
    Address,
    Affiliation,
    CustomFieldDefinition,
    Organization,
    Tag,
)
from rapport.contacts.selectors._common import (
    SORTS,
    MatchCount,
    Page,
    _count,
    _custom_filters,
    _keyset,
    _limit,
    _page,
    with_all_tags,
)
from rapport.contacts.selectors.contacts import (
    contact_list,
)
from rapport.core import policy, search
from rapport.core.cursor import decode_cursor
from rapport.core.errors import InvalidInput


@dataclass
class OrganizationFilters:
    tags: list[str] = field(default_factory=list)
    owner: str | None = None
    parent: int | None = None
    industry: str | None = None
    country: str | None = None
    custom: dict[str, str] = field(default_factory=dict)


def organization_list(
    *,
    actor: Any,
    q: str = "",
    filters: OrganizationFilters | None = None,
    sort: str = "",
    cursor: str | None = None,
    limit: int = 25,
) -> Page:
    """Organizations, searched and filtered, one keyset page at a time."""
    policy.require(actor, "organizations.view")
    limit = _limit(limit)
    qs = organizations_matching(actor=actor, q=q, filters=filters, sort=sort)
    order = SORTS[sort or "name"]
    qs = (
        _keyset(qs, order, cursor)
        .select_related("owner", "parent")
        .prefetch_related("tags", "phones", "addresses")
    )
    rows = list(qs[: limit + 1])
    field_name = order[0].lstrip("-")
    return _page(rows, limit, lambda o: [getattr(o, field_name), o.pk])


def organizations_matching(
    *, actor: Any, q: str = "", filters: OrganizationFilters | None = None, sort: str = ""
) -> QuerySet[Organization]:
    """Every organization ``organization_list`` shows for this search and filters, unordered.

    Raises InvalidInput for a bad sort or filter, NotPermitted when the actor may not
    read organizations.
    """
    policy.require(actor, "organizations.view")
    if sort and sort not in SORTS:
        raise InvalidInput.single("sort", f"Must be one of: {', '.join(SORTS)}.")
    filters = filters or OrganizationFilters()
    qs = Organization.objects.all()
    qs = with_all_tags(qs, filters.tags)
    if filters.owner:
        qs = qs.filter(owner__username=filters.owner)
    if filters.parent:
        qs = qs.filter(parent_id=filters.parent)
    if filters.industry:
        qs = qs.filter(industry__iexact=filters.industry)
    if filters.country:
        qs = qs.filter(
            Exists(
                Address.objects.filter(organization=OuterRef("pk"), country=filters.country.upper())
            )
        )
    qs = _custom_filters(qs, filters.custom, "organization")
    query = search.parse(q)
    if query.fragments:
        if len(query.fragments) == 1 and len(query.fragments[0]) < search.MIN_FRAGMENT:
            qs = qs.filter(search.starts_with("sort_name", query.text))
        else:
            qs = search.contains_all(qs, query)
    return qs


def organization_count(
    *, actor: Any, q: str = "", filters: OrganizationFilters | None = None, sort: str = ""
) -> MatchCount:
    """How many organizations ``organization_list`` finds (see MatchCount)."""
    return _count(organizations_matching(actor=actor, q=q, filters=filters, sort=sort))


def organization_get(*, actor: Any, org_id: int) -> Organization:
    policy.require(actor, "organizations.view")
    return (
        Organization.objects.select_related("owner", "parent")
        .prefetch_related("tags", "phones", "addresses", "children")
        .get(pk=org_id)
    )


@dataclass
class ChartNode:
    """One person in an organization's chart and the people who report to them."""

    affiliation: Affiliation
    reports: list[ChartNode] = field(default_factory=list)


def organization_chart(*, actor: Any, org: Organization) -> list[ChartNode]:
    """The current people of ``org`` as trees built from reports-to; roots first by name."""
    policy.require(actor, "organizations.view")
    current = list(
        Affiliation.objects.filter(organization=org, is_current=True)
        .select_related("contact")
        .order_by("contact__sort_name", "id")
    )
    nodes = {a.contact_id: ChartNode(a) for a in current}
    roots = []
    for a in current:
        boss = nodes.get(a.reports_to_id) if a.reports_to_id else None
        if boss is not None and boss is not nodes[a.contact_id]:
            boss.reports.append(nodes[a.contact_id])
        else:
            roots.append(nodes[a.contact_id])
    return roots


def organization_people(*, actor: Any, org: Organization) -> list[Affiliation]:
    policy.require(actor, "organizations.view")
    return list(
        Affiliation.objects.filter(organization=org)
        .select_related("contact", "reports_to")
        .order_by("-is_current", "contact__sort_name", "id")
    )


def tag_list(*, actor: Any) -> list[Tag]:
    policy.require(actor, "tags.view")
    return list(Tag.objects.order_by("name_key"))


def custom_field_list(*, actor: Any, target: str | None = None) -> list[CustomFieldDefinition]:
    policy.require(actor, "custom_fields.view")
    qs = CustomFieldDefinition.objects.all()
    if target:
        qs = qs.filter(target=target)
    return list(qs.order_by("target", "position", "label"))


def search_everything(*, actor: Any, q: str, limit: int = 8) -> dict[str, list[Any]]:
    """The global search box: the best contacts and organizations for ``q``."""
    result: dict[str, list[Any]] = {"contacts": [], "organizations": []}
    if policy.can(actor, "contacts.view"):
        result["contacts"] = contact_list(actor=actor, q=q, limit=limit).items
    if policy.can(actor, "organizations.view"):
        result["organizations"] = organization_list(actor=actor, q=q, limit=min(limit, 5)).items
    return result


@dataclass
class AffiliationFilters:
    contact: int | None = None
    organization: int | None = None
    is_current: bool | None = None


def affiliation_list(
    *,
    actor: Any,
    q: str = "",
    filters: AffiliationFilters | None = None,
    cursor: str | None = None,
    limit: int = 25,
) -> Page:
    """Who works where, oldest link first, one keyset page at a time.

    ``q`` matches the title, department, person or organization name. Raises InvalidInput
    for a bad cursor or limit, NotPermitted when the actor may not read contacts.
    """
    policy.require(actor, "contacts.view")
    limit = _limit(limit)
    filters = filters or AffiliationFilters()
    qs = Affiliation.objects.select_related("contact", "organization", "reports_to")
    if filters.contact:
        qs = qs.filter(contact_id=filters.contact)
    if filters.organization:
        qs = qs.filter(organization_id=filters.organization)
    if filters.is_current is not None:
        qs = qs.filter(is_current=filters.is_current)
    text = (q or "").strip()[:200]
    if text:
        qs = qs.filter(
            Q(title__icontains=text)
            | Q(department__icontains=text)
            | Q(contact__display_name__icontains=text)
            | Q(organization__name__icontains=text)
        )
    qs = qs.order_by("id")
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        if not isinstance(last_id, int):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        qs = qs.filter(id__gt=last_id)
    return _page(list(qs[: limit + 1]), limit, lambda a: [a.pk])


def affiliation_get(*, actor: Any, affiliation_id: int) -> Affiliation:
    """One affiliation with its person, organization and manager; raises DoesNotExist."""
    policy.require(actor, "contacts.view")
    return Affiliation.objects.select_related("contact", "organization", "reports_to").get(
        pk=affiliation_id
    )


def tag_get(*, actor: Any, tag_id: int) -> Tag:
    policy.require(actor, "tags.view")
    return Tag.objects.get(pk=tag_id)


def custom_field_get(*, actor: Any, definition_id: int) -> CustomFieldDefinition:
    policy.require(actor, "custom_fields.view")
    return CustomFieldDefinition.objects.get(pk=definition_id)
