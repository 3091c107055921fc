"""Test data made through the services, so every factory-built record is valid and indexed."""

from __future__ import annotations

import itertools
from typing import Any

from rapport.access.models import User
from rapport.contacts import services
from rapport.contacts.models import Contact, Organization

_counter = itertools.count(1)


def _actor(actor: User | None) -> User:
    if actor is not None:
        return actor
    user, _ = User.objects.get_or_create(
        username="factory", defaults={"role": User.Role.ADMIN, "is_active": True}
    )
    return user


def make_contact(actor: User | None = None, **data: Any) -> Contact:
    """A valid contact; any public field may be overridden."""
    n = next(_counter)
    data.setdefault("given_name", f"Person{n}")
    data.setdefault("family_name", "Example")
    data.setdefault("emails", [{"address": f"person{n}@example.com"}])
    return services.contact_create(actor=_actor(actor), data=data)


def make_organization(actor: User | None = None, **data: Any) -> Organization:
    n = next(_counter)
    data.setdefault("name", f"Company {n}")
    return services.organization_create(actor=_actor(actor), data=data)


def employ(contact: Contact, org: Organization, actor: User | None = None, **data: Any):
    return services.affiliation_create(
        actor=_actor(actor), data={"contact": contact.pk, "organization": org.pk, **data}
    )
