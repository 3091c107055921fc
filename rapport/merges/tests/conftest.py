"""A small world where two records of the same person each have something of everything."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image

from rapport.contacts import services as contact_services
from rapport.contacts.models import Contact, Organization
from rapport.contacts.tests.factories import employ, make_contact, make_organization
from rapport.quality import services as quality_services
from rapport.quality.models import Suggestion


def png() -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    out.seek(0)
    return out


@dataclass
class World:
    survivor: Contact
    merged: Contact
    colleague: Contact
    acme: Organization
    globex: Organization


@pytest.fixture
def world(alice) -> World:
    contact_services.custom_field_create(
        actor=alice,
        data={
            "target": "contact",
            "key": "tier",
            "label": "Tier",
            "field_type": "choice",
            "choices": ["gold", "silver"],
        },
    )
    contact_services.custom_field_create(
        actor=alice,
        data={"target": "contact", "key": "ref", "label": "Reference", "field_type": "text"},
    )
    acme = make_organization(alice, name="Acme", domains=["acme.example"])
    globex = make_organization(alice, name="Globex")
    survivor = make_contact(
        alice,
        given_name="Ada",
        family_name="Lovelace",
        emails=[{"address": "ada@example.org", "label": "work"}],
        phones=[{"number": "+44 20 7946 0958", "label": "office"}],
        addresses=[{"street": "12 St James's Square", "locality": "London", "country": "GB"}],
        urls=[{"url": "https://ada.example"}],
        external_ids=[{"source": "crm", "id": "1"}],
        tags=["VIP"],
        custom_fields={"tier": "gold"},
        time_zone="Europe/London",
    )
    merged = make_contact(
        alice,
        given_name="Augusta Ada",
        family_name="King",
        emails=[{"address": "ADA@example.org", "label": "old"}, {"address": "ada@home.example"}],
        phones=[{"number": "+44 20 7946 0958"}, {"number": "+44 20 7946 0001", "label": "home"}],
        urls=[
            {"url": "https://ada.example"},
            {"url": "https://social.example/ada", "kind": "social"},
        ],
        external_ids=[{"source": "crm", "id": "2"}, {"source": "linkedin", "id": "ada-k"}],
        tags=["VIP", "Math"],
        custom_fields={"tier": "silver", "ref": "R-7"},
        job_title="Analyst",
        birthday="1985-12-10",
    )
    colleague = make_contact(alice, given_name="Charles", family_name="Babbage")
    employ(survivor, acme, alice)
    employ(merged, acme, alice, title="Analyst", buying_role="champion")
    employ(merged, globex, alice, title="Poet", is_current=False, end_date="1840-01-01")
    employ(colleague, acme, alice, title="Engineer", reports_to=merged.pk)
    contact_services.contact_photo_set(actor=alice, contact=merged, upload=png())
    quality_services.quality_refresh(contact_ids=[survivor.pk, merged.pk, colleague.pk])
    quality_services.contact_verify(actor=alice, contact=merged)
    Suggestion.objects.create(
        contact=merged,
        field=Suggestion.Field.COUNTRY,
        suggested_value="GB",
        provider="phone",
        reason="The phone number is British.",
    )
    return World(
        survivor=Contact.objects.get(pk=survivor.pk),
        merged=Contact.objects.get(pk=merged.pk),
        colleague=colleague,
        acme=acme,
        globex=globex,
    )


def values(**kwargs: Any) -> dict[str, Any]:
    return kwargs
