"""Ids beyond range, saved views by read-only users, a saved segment that can no longer
run."""

import json

import pytest
from django.test import Client

from rapport.contacts.tests.factories import make_contact
from rapport.segments import services

pytestmark = pytest.mark.django_db


def loose(user):
    c = Client(raise_request_exception=False)
    c.force_login(user)
    return c


@pytest.mark.parametrize(
    "url",
    [
        "/segments/99999999999999999999/",
        "/segments/{pk}/why/99999999999999999999/",
        "/lists/99999999999999999999/",
        "/contacts/99999999999999999999/",
    ],
)
def test_huge_path_ids(alice, url):
    seg = services.segment_create(actor=alice, data={"name": "S", "query": "has:email"})
    r = loose(alice).get(url.format(pk=seg.pk))
    assert r.status_code == 404, (url, r.status_code)


def test_a_reader_cannot_share_a_saved_view(charlie, bob):
    r = loose(charlie).post(
        "/api/v1/views",
        json.dumps({"list_name": "contacts", "name": "Pinned", "query": "q=x", "shared": True}),
        content_type="application/json",
    )
    names = [v["name"] for v in loose(bob).get("/api/v1/views").json()]
    assert r.status_code == 403 and names == []


def test_saved_view_query_unicode_digit(alice):
    r = loose(alice).post(
        "/api/v1/views",
        json.dumps({"list_name": "contacts", "name": "V", "query": "organization=\u00b2"}),
        content_type="application/json",
    )
    assert r.status_code == 422, r.status_code


def test_a_saved_segment_that_no_longer_runs_is_refreshed_without_crashing(alice):
    from rapport.contacts.services import custom_field_create

    custom_field_create(
        actor=alice,
        data={"target": "contact", "key": "renewal", "label": "R", "field_type": "date"},
    )
    make_contact(custom_fields={"renewal": "2024-05-01"})
    seg = services.segment_create(
        actor=alice, data={"name": "Renewals", "query": "custom.renewal:2024"}
    )
    r = loose(alice).get(f"/segments/{seg.pk}/")
    assert r.status_code == 200, r.status_code
