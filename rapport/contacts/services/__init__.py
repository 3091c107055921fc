"""Every write in the contacts area. UI, API, CLI and importers call these and nothing else."""

from rapport.contacts.services._common import Lookups, external_id_owners
from rapport.contacts.services.affiliations import (
    affiliation_create,
    affiliation_delete,
    affiliation_update,
)
from rapport.contacts.services.contacts import (
    ContactDraft,
    contact_clean,
    contact_create,
    contact_delete,
    contact_draft,
    contact_refresh_search,
    contact_snapshot,
    contact_update,
    contact_values,
    contacts_create,
    contacts_delete,
)
from rapport.contacts.services.organizations import (
    OrganizationDraft,
    organization_create,
    organization_delete,
    organization_draft,
    organization_update,
    organizations_create,
    organizations_delete,
)
from rapport.contacts.services.photos import contact_photo_set
from rapport.contacts.services.tags import (
    custom_field_create,
    custom_field_delete,
    custom_field_update,
    tag_create,
    tag_delete,
    tag_update,
)

__all__ = [
    "OrganizationDraft",
    "organization_draft",
    "organizations_create",
    "ContactDraft",
    "Lookups",
    "contact_draft",
    "contacts_create",
    "contacts_delete",
    "external_id_owners",
    "affiliation_create",
    "affiliation_delete",
    "affiliation_update",
    "contact_clean",
    "contact_create",
    "contact_delete",
    "contact_photo_set",
    "contact_refresh_search",
    "contact_snapshot",
    "contact_update",
    "contact_values",
    "custom_field_create",
    "custom_field_delete",
    "custom_field_update",
    "organization_create",
    "organization_delete",
    "organizations_delete",
    "organization_update",
    "tag_create",
    "tag_delete",
    "tag_update",
]
