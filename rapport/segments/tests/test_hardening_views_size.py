"""A saved view cannot be shared by a read-only user, nor fill everyone's menu."""

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def loose(user):
    c = Client(raise_request_exception=False)
    c.force_login(user)
    return c


def test_a_shared_view_cannot_fill_everyones_menu(charlie, bob):
    big = "q=x&zz=" + "a" * 5_000_000
    r = loose(charlie).post(
        "/api/v1/views",
        json.dumps({"list_name": "contacts", "name": "Big", "query": big, "shared": True}),
        content_type="application/json",
    )
    from rapport.contacts.tests.factories import make_contact

    make_contact()
    loose(bob).get("/contacts/")
    assert r.status_code in (403, 422)
