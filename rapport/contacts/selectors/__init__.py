"""Every non-trivial read in the contacts area: lists with search, filters and cursors.

- ``_common``: pages, cursors, the tag and custom-field filters, related lists, counts;
- ``contacts``: the contact list (search, ranking), one contact, history;
- ``organizations``: organizations, affiliations, tags, custom fields, global search.
"""

from rapport.contacts.selectors._common import (
    CONTACT_SORTS,
    COUNT_BUDGET_MS,
    COUNT_CAP,
    MAX_LIMIT,
    SORTS,
    MatchCount,
    Page,
    with_all_tags,
)
from rapport.contacts.selectors.contacts import (
    ContactFilters,
    _contact_filtered,
    contact_count,
    contact_get,
    contact_list,
    contact_prefetch,
    contacts_matching,
    history_for,
)
from rapport.contacts.selectors.organizations import (
    AffiliationFilters,
    ChartNode,
    OrganizationFilters,
    affiliation_get,
    affiliation_list,
    custom_field_get,
    custom_field_list,
    organization_chart,
    organization_count,
    organization_get,
    organization_list,
    organization_people,
    organizations_matching,
    search_everything,
    tag_get,
    tag_list,
)

__all__ = [
    "AffiliationFilters",
    "COUNT_BUDGET_MS",
    "COUNT_CAP",
    "ChartNode",
    "ContactFilters",
    "MAX_LIMIT",
    "MatchCount",
    "OrganizationFilters",
    "Page",
    "CONTACT_SORTS",
    "SORTS",
    "_contact_filtered",
    "affiliation_get",
    "affiliation_list",
    "contact_count",
    "contact_get",
    "contact_list",
    "contact_prefetch",
    "contacts_matching",
    "custom_field_get",
    "custom_field_list",
    "history_for",
    "organization_chart",
    "organization_count",
    "organization_get",
    "organization_list",
    "organization_people",
    "organizations_matching",
    "search_everything",
    "tag_get",
    "tag_list",
    "with_all_tags",
]
