"""Saved views of the lists: saved from the page as the list is shown (search, filters,
sort, columns), opened from the Views menu with their columns, private or shared;
the same through /api/v1/views; bad filters and columns refused by name."""

from __future__ import annotations

import json

import pytest

from rapport.contacts.models import SavedView
from rapport.contacts.tests.factories import make_contact

pytestmark = pytest.mark.django_db


def test_a_view_is_saved_from_the_list_and_opens_with_its_columns(alice_client, bob_client):
    make_contact(given_name="Ada", family_name="Lovelace", lifecycle_stage="customer")
    make_contact(given_name="Bob", family_name="Miller", lifecycle_stage="lead")
    answer = alice_client.post(
        "/lists/contacts/views/",
        {"name": "Customers", "query": "lifecycle_stage=customer&sort=name", "column": ["email", "stage"],
         "shared": "on"},
    )  # fmt: skip
    view = SavedView.objects.get()
    assert answer["Location"] == f"/contacts/?lifecycle_stage=customer&sort=name&view={view.pk}"
    page = alice_client.get(answer["Location"]).content.decode()
    assert "View: Customers" in page and "Ada Lovelace" in page and "Bob Miller" not in page
    # shared: Bob sees it in his menu; he cannot delete it
    assert "Customers" in bob_client.get("/contacts/").content.decode()
    assert bob_client.post(f"/lists/views/{view.pk}/delete/").status_code == 403
    alice_client.post(f"/lists/views/{view.pk}/delete/")
    assert not SavedView.objects.exists()


def test_views_through_the_api_and_bad_ones_refused(alice_client, charlie_client):
    made = alice_client.post(
        "/api/v1/views",
        json.dumps(
            {"list_name": "contacts", "name": "Mine", "query": "q=ada", "columns": ["email"]}
        ),
        content_type="application/json",
    )
    assert made.status_code == 201 and made.json()["url"].endswith(
        "?q=ada&view=" + str(made.json()["id"])
    )
    assert [v["name"] for v in charlie_client.get("/api/v1/views").json()] == []  # private
    bad = alice_client.post(
        "/api/v1/views",
        json.dumps(
            {
                "list_name": "contacts",
                "name": "X",
                "query": "created_after=banana",
                "columns": ["colour"],
            }
        ),
        content_type="application/json",
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"query", "columns"}
    assert alice_client.delete(f"/api/v1/views/{made.json()['id']}").status_code == 204


def test_a_view_that_matches_nobody_can_still_be_left(alice_client):
    make_contact(given_name="Ada", family_name="Lovelace")
    answer = alice_client.post("/lists/contacts/views/", {"name": "Nobody", "query": "q=zzzz"})
    page = alice_client.get(answer["Location"]).content.decode()
    assert "No contacts match." in page and "View: Nobody" in page
