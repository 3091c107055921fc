"""Revenue beyond a million, a book for a tag named like the default book, deep trees
sent to the builder's parser."""

import json

import pytest
from django.test import Client

from rapport.contacts.services import tag_create
from rapport.core.errors import InvalidInput
from rapport.segments import selectors

pytestmark = pytest.mark.django_db


def loose(user):
    c = Client(raise_request_exception=False)
    c.force_login(user)
    return c


def test_revenue_threshold_over_a_million(alice):
    try:
        selectors.query_count(alice, "revenue()>=2000000")
    except InvalidInput as exc:
        pytest.fail(str(exc.errors[0].message))


def test_book_for_tag_named_contacts(alice):
    from rapport.sync.models import AddressBook

    tag = tag_create(actor=alice, data={"name": "Contacts"})
    long = tag_create(actor=alice, data={"name": "Abcdefgh " * 6 + "Z"})
    c = loose(alice)
    c.post("/address-books/new/", {"source": f"tag:{tag.pk}"})
    c.post("/address-books/new/", {"source": f"tag:{long.pk}"})
    assert AddressBook.objects.filter(tag=tag).exists()
    assert AddressBook.objects.filter(tag=long).exists()


def test_parse_view_deep_tree(alice):
    node = {"type": "condition", "field": "has", "op": "", "value": "email"}
    for _ in range(950):
        node = {"type": "not", "part": node}
    r = loose(alice).post("/segments/parse/", {"tree": json.dumps(node)})
    assert r.status_code == 422, r.status_code
