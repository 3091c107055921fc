"""Queries that must be refused, not crash: absurd values and nesting, private segments
and lists that other users' queries may not reach, trees the text could not say."""

import json

import pytest
from django.test import Client

from rapport.contacts.services import custom_field_create, tag_create
from rapport.contacts.tests.factories import make_contact
from rapport.segments import services
from rapport.segments.models import Segment

pytestmark = pytest.mark.django_db


def loose(user):
    c = Client(raise_request_exception=False)
    c.force_login(user)
    return c


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    "query",
    [
        "NOT " * 600 + "has:email",
        "created:9999-12-31",
        "created:>99999m",
        "calls(last:99999m)>=1",
        "customer_value:>inf",
        "customer_value:nan",
        "customer_value:>1e300",
    ],
)
def test_preview_bad_values_are_4xx(alice, query):
    make_contact()
    r = post(loose(alice), "/api/v1/segments/preview", {"query": query})
    assert r.status_code < 500, (query, r.status_code)


def test_a_private_list_does_not_leak_through_in(alice, bob, charlie):
    tag_create(actor=alice, data={"name": "vip"})
    secret = [make_contact(given_name="Secret") for _ in range(3)]
    make_contact(given_name="Other")
    lst = services.list_create(actor=bob, data={"name": "Bobs secret", "shared": False})
    services.list_add(actor=bob, contact_list=lst, contact_ids=[c.pk for c in secret])
    c = loose(charlie)
    # charlie cannot see the list itself
    assert c.get(f"/api/v1/lists/{lst.pk}").status_code == 404
    # but learns its membership through in:
    r = post(c, "/api/v1/segments/preview", {"query": 'in:"Bobs secret"', "limit": 10})
    assert r.status_code == 422, r.json()


def test_a_private_segment_does_not_leak_through_in(alice, bob, charlie):
    make_contact(given_name="Zed", family_name="Hidden")
    services.segment_create(
        actor=bob, data={"name": "bobseg", "query": "name:*Hidden*", "shared": False}
    )
    c = loose(charlie)
    r = post(c, "/api/v1/segments/preview", {"query": "in:bobseg"})
    assert r.status_code == 422, r.json()


def _nots(n):
    node = {"type": "condition", "field": "has", "op": "", "value": "email"}
    for _ in range(n):
        node = {"type": "not", "part": node}
    return node


def test_a_tree_deeper_than_the_text_allows_is_refused(alice, bob):
    c = loose(alice)
    post(c, "/api/v1/segments", {"name": "deep", "tree": _nots(45)})
    saved = Segment.objects.filter(name="deep").exists()
    listing = loose(bob).get("/api/v1/segments")
    assert not saved or listing.status_code == 200


def test_custom_date_field(alice):
    custom_field_create(
        actor=alice,
        data={"target": "contact", "key": "renewal", "label": "Renewal", "field_type": "date"},
    )
    make_contact(custom_fields={"renewal": "2024-05-01"})
    r = post(loose(alice), "/api/v1/segments/preview", {"query": "custom.renewal:2024"})
    assert r.status_code == 200 and r.json()["count"] == 1
