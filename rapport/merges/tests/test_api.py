"""The merges API: 201 with the merge, 422 with field paths, 403, 404, and redirects."""

from __future__ import annotations

from rapport.conftest import bearer
from rapport.contacts.tests.factories import make_contact, make_organization


def test_merging_contacts_answers_201_and_the_old_id_answers_301(client, bob):
    keep, other = make_contact(bob, job_title="CTO"), make_contact(bob)
    headers = bearer(bob)
    response = client.post(
        "/api/v1/merges/contacts",
        {"survivor": keep.pk, "merged": [other.pk], "choices": {"name": other.pk}},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["survivor"] == keep.pk and body["merged"] == [other.pk]
    assert body["choices"]["name"] == other.pk
    assert response["Location"] == f"/api/v1/merges/{body['id']}"
    moved = client.get(f"/api/v1/contacts/{other.pk}", **headers)
    assert moved.status_code == 301
    assert moved["Location"] == f"/api/v1/contacts/{keep.pk}"
    assert client.get(f"/api/v1/contacts/{keep.pk}", **headers).json()["given_name"] == (
        other.given_name
    )
    listed = client.get("/api/v1/merges?limit=1", **headers).json()
    assert [m["id"] for m in listed["items"]] == [body["id"]]
    undone = client.post(f"/api/v1/merges/{body['id']}/undo", **headers)
    assert undone.status_code == 200 and undone.json()["undone_at"]
    assert client.get(f"/api/v1/contacts/{other.pk}", **headers).status_code == 200
    again = client.post(f"/api/v1/merges/{body['id']}/undo", **headers)
    assert again.status_code == 422
    assert again.json()["errors"][0]["field"] == "merge"


def test_invalid_merges_get_422_with_the_field_path(client, bob):
    keep = make_contact(bob)
    response = client.post(
        "/api/v1/merges/contacts",
        {"survivor": keep.pk, "merged": [keep.pk, 987654]},
        content_type="application/json",
        **bearer(bob),
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"merged[0]"}


def test_readers_get_403_and_unknown_merges_404(client, charlie, bob):
    a, b = make_contact(bob), make_contact(bob)
    response = client.post(
        "/api/v1/merges/contacts",
        {"survivor": a.pk, "merged": [b.pk]},
        content_type="application/json",
        **bearer(charlie),
    )
    assert response.status_code == 403
    assert client.get("/api/v1/merges/4242", **bearer(bob)).status_code == 404
    assert client.post("/api/v1/merges/4242/undo", **bearer(bob)).status_code == 404


def test_the_proposal_compares_the_records_field_by_field(client, bob):
    a = make_contact(bob, job_title="")
    b = make_contact(bob, job_title="Analyst")
    response = client.get(f"/api/v1/merges/proposal?kind=contact&ids={a.pk},{b.pk}", **bearer(bob))
    assert response.status_code == 200
    job = next(f for f in response.json()["fields"] if f["name"] == "job_title")
    assert job["differ"] and job["default"] == b.pk
    assert job["values"] == {str(a.pk): "", str(b.pk): "Analyst"}
    bad = client.get("/api/v1/merges/proposal?kind=contact&ids=1", **bearer(bob))
    assert bad.status_code == 422


def test_organizations_merge_and_redirect(client, bob):
    keep, other = make_organization(bob), make_organization(bob)
    headers = bearer(bob)
    response = client.post(
        "/api/v1/merges/organizations",
        {"survivor": keep.pk, "merged": [other.pk]},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 201
    moved = client.get(f"/api/v1/organizations/{other.pk}", **headers)
    assert moved.status_code == 301
    assert moved["Location"] == f"/api/v1/organizations/{keep.pk}"


def test_a_merge_that_would_hold_more_emails_than_an_edit_allows_is_refused(client, bob):
    keep = make_contact(bob, emails=[{"address": f"keep{i}@example.org"} for i in range(30)])
    other = make_contact(bob, emails=[{"address": f"other{i}@example.org"} for i in range(30)])
    response = client.post(
        "/api/v1/merges/contacts",
        {"survivor": keep.pk, "merged": [other.pk]},
        content_type="application/json",
        **bearer(bob),
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "emails"
    assert "60 different emails" in error["message"] and "at most 50" in error["message"]
    # nothing changed: both records are there, each still editable
    for contact in (keep, other):
        assert client.get(f"/api/v1/contacts/{contact.pk}", **bearer(bob)).status_code == 200
    assert len(client.get(f"/api/v1/contacts/{keep.pk}", **bearer(bob)).json()["emails"]) == 30


def test_a_merge_whose_shared_emails_keep_it_within_the_limit_goes_through(client, bob):
    shared = [{"address": f"same{i}@example.org"} for i in range(40)]
    keep = make_contact(bob, emails=shared)
    other = make_contact(bob, emails=[*shared, {"address": "extra@example.org"}])
    response = client.post(
        "/api/v1/merges/contacts",
        {"survivor": keep.pk, "merged": [other.pk]},
        content_type="application/json",
        **bearer(bob),
    )
    assert response.status_code == 201
    assert len(client.get(f"/api/v1/contacts/{keep.pk}", **bearer(bob)).json()["emails"]) == 41
