"""A small crafted address book whose audit figures are known exactly."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.db.models import F
from django.utils import timezone

from rapport.contacts.models import Contact, Email
from rapport.contacts.tests.factories import employ, make_contact, make_organization


def age(contact: Contact, days: int) -> None:
    """Pretend the contact was last changed ``days`` ago (a write bumps the version)."""
    Contact.objects.filter(pk=contact.pk).update(
        updated_at=timezone.now() - dt.timedelta(days=days), version=F("version") + 1
    )


@pytest.fixture
def book(alice) -> SimpleNamespace:
    """Five contacts:

    - complete: email, phone, address with country, current organization (score 95:
      only "never confirmed");
    - phone_only: phone, no email, no organization, no country (100-15-10-10-5 = 60);
    - email_only: email, source "Old CRM", stale (100-5-10-10-15-5 = 55);
    - nothing: name only, source "Old CRM" (100-40-10-10-5 = 35);
    - broken: an invalid legacy email, no phone (100-15-5-10-10-5 = 55).
    """
    acme = make_organization(actor=alice, name="Acme", domains=["acme.com"])
    complete = make_contact(
        actor=alice,
        given_name="Ada",
        family_name="Lovelace",
        emails=[{"address": "ada@acme.com"}],
        phones=[{"number": "+44 20 7946 0000"}],
        addresses=[{"locality": "London", "country": "GB"}],
        job_title="Engineer",
        birthday="1985-12-10",
    )
    employ(complete, acme, actor=alice)
    phone_only = make_contact(
        actor=alice,
        given_name="Bob",
        family_name="Phone",
        emails=[],
        phones=[{"number": "+33 1 42 68 53 00"}],
    )
    email_only = make_contact(
        actor=alice,
        given_name="Cleo",
        family_name="Mail",
        emails=[{"address": "cleo@example.org"}],
        source="Old CRM",
    )
    age(email_only, 400)
    nothing = make_contact(
        actor=alice, given_name="Dan", family_name="Nobody", emails=[], source="Old CRM"
    )
    broken = make_contact(actor=alice, given_name="Eve", family_name="Broken", emails=[])
    Email.objects.create(contact=broken, address="eve at example", address_key="eve at example")
    Contact.objects.filter(pk=broken.pk).update(version=F("version") + 1)
    return SimpleNamespace(
        acme=acme,
        complete=complete,
        phone_only=phone_only,
        email_only=email_only,
        nothing=nothing,
        broken=broken,
    )
