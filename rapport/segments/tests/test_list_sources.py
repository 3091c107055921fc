"""Lists filled from everywhere a user finds contacts: the contact list's bulk bar (the
ticked ones or every match), a query, an import, and the API."""

from __future__ import annotations

import io

import pytest

from rapport.conftest import bearer
from rapport.contacts.tests.factories import make_contact
from rapport.ingest import services as ingest
from rapport.segments import services
from rapport.segments.models import ContactList, ListMember

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alice):
    return [make_contact(given_name=name, family_name="Lee") for name in ("Ann", "Bea", "Cal")] + [
        make_contact(given_name="Dan", family_name="Ray")
    ]


def _members(found: ContactList) -> set[int]:
    return set(ListMember.objects.filter(list=found).values_list("contact_id", flat=True))


def test_the_bulk_bar_adds_the_ticked_contacts_to_a_new_list(alice_client, people):
    listing = alice_client.get("/contacts/").content.decode()
    assert 'value="add_to_list"' in listing and "Add to list…" in listing
    bar = alice_client.post(
        "/contacts/bulk/",
        {"action": "add_to_list", "id": [people[0].pk, people[3].pk], "query": ""},
    )
    assert bar.status_code == 302 and bar["Location"].startswith("/lists/add/?")
    form = alice_client.get(bar["Location"])
    assert form.status_code == 200 and "The 2 selected contacts" in form.content.decode()
    refused = alice_client.post("/lists/add/", {"id": [people[0].pk], "list": "new", "name": ""})
    assert refused.status_code == 422 and not ContactList.objects.exists()
    done = alice_client.post(
        "/lists/add/", {"id": [people[0].pk, people[3].pk], "list": "new", "name": "Event"}
    )
    made = ContactList.objects.get(name="Event")
    assert done.status_code == 302 and _members(made) == {people[0].pk, people[3].pk}


def test_every_match_of_a_search_goes_into_an_existing_list_and_comes_out(
    alice, alice_client, people
):
    found = services.list_create(actor=alice, data={"name": "Lees"})
    data = {"scope": "all", "query": "q=Lee", "list": found.pk, "action": "add"}
    alice_client.post("/lists/add/", data)
    assert _members(found) == {p.pk for p in people[:3]}
    alice_client.post("/lists/add/", {**data, "query": "q=Ann", "action": "remove"})
    assert _members(found) == {people[1].pk, people[2].pk}


def test_a_read_only_user_has_no_add_to_list(charlie_client, people):
    assert "Add to list…" not in charlie_client.get("/contacts/").content.decode()
    assert charlie_client.get(f"/lists/add/?id={people[0].pk}").status_code == 403


def test_a_list_takes_every_contact_of_a_query_or_of_an_import_on_its_page(
    alice, alice_client, people
):
    found = services.list_create(actor=alice, data={"name": "Mixed"})
    alice_client.post(f"/lists/{found.pk}/", {"source": "query", "query": "family_name:Ray"})
    assert _members(found) == {people[3].pk}
    upload = io.BytesIO(b"First name,Last name,Email\nEve,Stone,eve@example.com\n")
    batch = ingest.import_upload(actor=alice, upload=upload, file_name="new.csv", source="fair")
    ingest.import_start(actor=alice, batch=batch)
    ingest.import_run(batch_id=batch.pk)
    page = alice_client.get(f"/lists/{found.pk}/").content.decode()
    assert f"#{batch.pk} new.csv" in page
    alice_client.post(f"/lists/{found.pk}/", {"source": "import", "import_batch": batch.pk})
    names = set(ListMember.objects.filter(list=found).values_list("contact__given_name", flat=True))
    assert names == {"Dan", "Eve"}


def test_the_api_adds_by_query_or_import_and_refuses_two_sources(client, alice, people):
    found = services.list_create(actor=alice, data={"name": "Api"})
    auth = bearer(alice)
    url = f"/api/v1/lists/{found.pk}/members"
    added = client.post(url, {"query": "family_name:Lee"}, content_type="application/json", **auth)
    assert added.status_code == 200 and added.json() == {"changed": 3, "size": 3}
    both = client.post(url, {"query": "x", "ids": [1]}, content_type="application/json", **auth)
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "ids"
    missing = client.post(url, {"import_batch": 999}, content_type="application/json", **auth)
    assert missing.status_code == 422 and "There is no import 999" in missing.content.decode()
    bad = client.post(url, {"query": "family_name:"}, content_type="application/json", **auth)
    assert bad.status_code == 422 and _members(found) == {p.pk for p in people[:3]}
