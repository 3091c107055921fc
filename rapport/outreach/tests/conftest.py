"""Contacts with preferences, made through the real services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from rapport.contacts.models import Contact, Organization
from rapport.contacts.services import affiliation_create, contact_create, organization_create
from rapport.outreach.services.preferences import (
    contact_preferences_set,
    organization_preferences_set,
)

MakeContact = Callable[..., Contact]

# The purposes these tests name, on legitimate interest: allowed unless the person
# withdrew or objected, so the gate's other steps decide (the consent step itself is
# tested in rapport/consent/tests and below where a test records consent).
PURPOSES = ("news", "newsletter", "sales", "support", "updates")


@pytest.fixture(autouse=True)
def purposes(db) -> None:
    from rapport.consent.models import Purpose

    for key in PURPOSES:
        Purpose.objects.get_or_create(
            key=key, defaults={"name": key.title(), "lawful_basis": "legitimate_interest"}
        )


@pytest.fixture
def make_contact(alice) -> MakeContact:
    """``make_contact("Ann", time_zone="Europe/Paris", country="FR", phone="+33…",
    organization=org, hours=[…], channels={…}, …)``: preference fields go to the
    preference service as they are."""

    def make(
        name: str = "Ann Example",
        *,
        time_zone: str = "",
        country: str = "",
        region: str = "",
        phone: str = "",
        email: str = "",
        organization: Organization | None = None,
        **preferences: Any,
    ) -> Contact:
        data: dict[str, Any] = {"full_name": name}
        if time_zone:
            data["time_zone"] = time_zone
        if country:
            data["addresses"] = [{"country": country, "region": region, "locality": "Town"}]
        if phone:
            data["phones"] = [{"number": phone}]
        if email:
            data["emails"] = [{"address": email}]
        contact = contact_create(actor=alice, data=data, via="api")
        if organization is not None:
            affiliation_create(
                actor=alice,
                data={"contact": contact.pk, "organization": organization.pk},
                via="api",
            )
        if preferences:
            contact_preferences_set(actor=alice, contact=contact, data=preferences, via="api")
        return Contact.objects.get(pk=contact.pk)

    return make


@pytest.fixture
def make_organization(alice) -> Callable[..., Organization]:
    def make(
        name: str = "Acme", parent: Organization | None = None, **defaults: Any
    ) -> Organization:
        data: dict[str, Any] = {"name": name}
        if parent is not None:
            data["parent"] = parent.pk
        org = organization_create(actor=alice, data=data, via="api")
        if defaults:
            organization_preferences_set(actor=alice, organization=org, data=defaults, via="api")
        return Organization.objects.get(pk=org.pk)

    return make


def local(zone: str, *args: int, fold: int = 0) -> dt.datetime:
    """An aware moment on ``zone``'s wall clock."""
    return dt.datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)  # type: ignore[misc]


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)  # type: ignore[misc]


def every_day(start: str, end: str) -> list[dict[str, str]]:
    return [
        {"day": d, "start": start, "end": end}
        for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    ]


@pytest.fixture(autouse=True)
def _fresh_rules() -> None:
    """Rules are kept a few seconds per process; a test must not see the last one's."""
    from rapport.outreach.gate.inputs import forget_rules

    forget_rules()
