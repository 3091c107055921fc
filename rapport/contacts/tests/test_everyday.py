"""Small things a person notices: "Updated" follows role changes, names kept as typed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from rapport.conftest import bearer
from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact, make_organization
from rapport.contacts.tests.test_api import Api


@pytest.fixture
def api(bob) -> Api:
    return Api(Client(), bearer(bob))


def _an_hour_ago(contact: Contact) -> str:
    earlier = contact.updated_at - dt.timedelta(hours=1)
    Contact.objects.filter(pk=contact.pk).update(updated_at=earlier)
    return earlier.isoformat()


def test_adding_and_ending_a_role_updates_the_contact(api: Api, bob):
    person = make_contact(bob, given_name="Grace", family_name="Hopper")
    navy = make_organization(bob, name="Navy Labs")
    _an_hour_ago(person)
    before = api.get(f"/contacts/{person.pk}").json()["updated_at"]
    added = api.post("/affiliations", {"contact": person.pk, "organization": navy.pk})
    assert added.status_code == 201, added.content
    after_adding = api.get(f"/contacts/{person.pk}").json()["updated_at"]
    assert after_adding > before
    _an_hour_ago(Contact.objects.get(pk=person.pk))
    before = api.get(f"/contacts/{person.pk}").json()["updated_at"]
    ended = api.patch(f"/affiliations/{added.json()['id']}", {"end_date": "2024-01-31"})
    assert ended.status_code == 200, ended.content
    assert api.get(f"/contacts/{person.pk}").json()["updated_at"] > before
