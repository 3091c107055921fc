"""API routers for contacts, organizations, affiliations, tags and custom fields.

Thin on purpose: each handler parses the request, calls a selector or a service and
renders the result. Validation, permissions and history belong to the services.
"""

from rapport.contacts.api.affiliations import affiliations_router
from rapport.contacts.api.contacts import contacts_router
from rapport.contacts.api.organizations import organizations_router
from rapport.contacts.api.vocabulary import custom_fields_router, tags_router

__all__ = [
    "affiliations_router",
    "contacts_router",
    "custom_fields_router",
    "organizations_router",
    "tags_router",
]
