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


def test_a_put_with_a_full_name_and_no_parts_keeps_the_name(api: Api, bob):
    person = make_contact(bob, given_name="Grace", family_name="Hopper")
    response = api.put(f"/contacts/{person.pk}", {"full_name": "Ada King Lovelace"})
    assert response.status_code == 200, response.content
    body = api.get(f"/contacts/{person.pk}").json()
    assert (body["given_name"], body["middle_name"], body["family_name"]) == (
        "Ada",
        "King",
        "Lovelace",
    )
    assert body["display_name"] == "Ada King Lovelace"


def test_a_put_with_a_full_name_and_its_parts_keeps_the_parts(api: Api, bob):
    person = make_contact(bob, given_name="Grace", family_name="Hopper")
    body = {"full_name": "Maria de la Cruz", "given_name": "Maria", "family_name": "de la Cruz"}
    response = api.put(f"/contacts/{person.pk}", body)
    assert response.status_code == 200, response.content
    assert response.json()["family_name"] == "de la Cruz"


def test_emoji_in_a_name_are_kept_as_typed(api: Api):
    created = api.post("/contacts", {"full_name": "Ana 👩‍💻 López"})
    assert created.status_code == 201, created.content
    body = api.get(f"/contacts/{created.json()['id']}").json()
    assert body["display_name"] == "Ana 👩‍💻 López"
    assert body["middle_name"] == "👩‍💻"
    parts = api.post("/contacts", {"given_name": "Zoë 🏳️‍🌈", "family_name": "Smith"})
    assert parts.json()["given_name"] == "Zoë 🏳️‍🌈"


def test_names_are_stored_in_one_unicode_form(api: Api):
    decomposed = "Jose\u0301"
    created = api.post("/contacts", {"given_name": decomposed, "family_name": "Mu\u0308ller"})
    assert created.json()["given_name"] == "Jos\u00e9"
    assert created.json()["family_name"] == "M\u00fcller"


def test_a_name_of_only_a_joining_mark_is_refused_with_a_reason(api: Api):
    response = api.post("/contacts", {"given_name": "\u200d", "family_name": "Smith"})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "given_name" and "visible character" in error["message"]
