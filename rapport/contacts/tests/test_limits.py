"""Every list a client can send has a limit, refused with a clear 422 before any work."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from rapport.conftest import bearer
from rapport.contacts import services
from rapport.contacts.limits import (
    MAX_CHOICES,
    MAX_DOMAINS,
    MAX_ENTRIES,
    MAX_TAG_FILTERS,
    MAX_TAGS,
)
from rapport.contacts.models import Contact, Tag
from rapport.contacts.tests.factories import make_contact
from rapport.core.errors import InvalidInput


def _post(user, path: str, body: dict):
    return Client().post(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", **bearer(user)
    )


def test_fifty_thousand_tags_in_one_request_are_refused_quickly(bob):
    started = time.monotonic()
    response = _post(
        bob, "/contacts", {"given_name": "Ada", "tags": [f"t{i}" for i in range(50_000)]}
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 422
    assert response.json() == {
        "errors": [{"field": "tags", "message": f"At most {MAX_TAGS} entries are allowed."}]
    }
    assert elapsed < 5, f"took {elapsed:.1f} s"
    assert not Tag.objects.exists() and not Contact.objects.exists()


@pytest.mark.parametrize(
    ("path", "field", "item", "limit"),
    [
        ("/contacts", "emails", {"address": "a@example.com"}, MAX_ENTRIES),
        ("/contacts", "phones", {"number": "+44 20 7946 0000"}, MAX_ENTRIES),
        ("/contacts", "addresses", {"city": "Leeds"}, MAX_ENTRIES),
        ("/contacts", "urls", {"url": "https://example.com"}, MAX_ENTRIES),
        ("/organizations", "domains", "example.com", MAX_DOMAINS),
        ("/organizations", "tags", "vip", MAX_TAGS),
    ],
)
def test_each_list_of_a_record_has_a_limit(alice, path, field, item, limit):
    body = {"given_name": "Ada"} if path == "/contacts" else {"name": "Analytical Engines"}
    response = _post(alice, path, {**body, field: [item] * (limit + 1)})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": field, "message": f"At most {limit} entries are allowed."}
    ]


def test_a_custom_field_has_at_most_so_many_choices(alice):
    body = {"label": "Tier", "target": "contact", "field_type": "choice"}
    response = _post(
        alice, "/custom-fields", {**body, "choices": [f"c{i}" for i in range(MAX_CHOICES + 1)]}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "choices"


def test_the_limits_hold_on_paths_other_than_the_api(bob):
    """The form, the CLI and imports call the services, which check the same limits."""
    with pytest.raises(InvalidInput) as exc:
        services.contact_create(
            actor=bob, data={"given_name": "Ada", "tags": [f"t{i}" for i in range(MAX_TAGS + 1)]}
        )
    assert exc.value.by_field() == {"tags": [f"At most {MAX_TAGS} tags are allowed (got 101)."]}
    with pytest.raises(InvalidInput) as exc:
        services.organization_create(
            actor=bob, data={"name": "X", "domains": [f"d{i}.example" for i in range(21)]}
        )
    assert "domains" in exc.value.by_field()


def test_the_openapi_document_states_the_limits(bob):
    schema = Client().get("/api/v1/openapi.json").json()["components"]["schemas"]
    contact = schema["ContactIn"]["properties"]
    assert contact["tags"]["anyOf"][0]["maxItems"] == MAX_TAGS
    assert contact["emails"]["anyOf"][0]["maxItems"] == MAX_ENTRIES


@pytest.mark.parametrize("path", ["/contacts", "/organizations", "/exports/contacts"])
def test_lists_are_filtered_by_at_most_so_many_tags(bob, path):
    Tag.objects.create(name="vip", name_key="vip")
    query = "&".join(["tag=vip"] * (MAX_TAG_FILTERS + 1))
    response = Client().get(f"/api/v1{path}?{query}", **bearer(bob))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "tag"
    ok = Client().get(f"/api/v1{path}?{'&'.join(['tag=vip'] * MAX_TAG_FILTERS)}", **bearer(bob))
    assert ok.status_code == 200


def test_the_tag_filter_limit_holds_for_the_list_page_too(bob_client):
    response = bob_client.get("/contacts/?" + "&".join(["tag=vip"] * (MAX_TAG_FILTERS + 1)))
    assert response.status_code == 400


def test_several_tag_filters_find_the_records_carrying_all_of_them(bob):
    both = make_contact(given_name="Both", tags=["red", "blue", "green"])
    make_contact(given_name="Some", tags=["red", "blue"])
    query = "tag=Red&tag=blue&tag=green&tag=red"
    response = Client().get(f"/api/v1/contacts?{query}", **bearer(bob))
    assert [c["id"] for c in response.json()["items"]] == [both.pk]
