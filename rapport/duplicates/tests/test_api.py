"""/api/v1/duplicates: the entry check, scans, the review queue and decisions."""

from __future__ import annotations

import json

import pytest

from rapport.conftest import bearer
from rapport.contacts.tests.factories import make_contact
from rapport.duplicates.models import DuplicateCluster, NotDuplicate


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST JSON; a scan the request queues runs when its transaction commits."""

    def send(client, url, body, headers):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, json.dumps(body), content_type="application/json", **headers)

    return send


@pytest.fixture
def pair(alice):
    a = make_contact(alice, given_name="Elizabeth", family_name="Taylor",
                     emails=[{"address": "liz.taylor@example.org"}],
                     phones=[{"number": "+44 20 7946 0958"}])  # fmt: skip
    b = make_contact(alice, given_name="Liz", family_name="Taylor",
                     phones=[{"number": "020 7946 0958", "label": "work"}],
                     addresses=[{"locality": "London", "country": "GB"}])  # fmt: skip
    return a, b


def test_the_check_returns_candidates_with_their_explanation(client, post, alice, pair):
    response = post(client, "/api/v1/duplicates/check",
                    {"given_name": "Beth", "family_name": "Taylor",
                     "emails": [{"address": "LIZ.TAYLOR@example.org"}]}, bearer(alice))  # fmt: skip
    assert response.status_code == 200
    candidates = response.json()["candidates"]
    assert candidates[0]["contact_id"] == pair[0].pk
    assert candidates[0]["url"] == f"/api/v1/contacts/{pair[0].pk}"
    reasons = {e["field"]: e for e in candidates[0]["explanation"]}
    assert reasons["email"]["outcome"] == "agree" and reasons["email"]["weight"] > 0


def test_the_check_names_the_invalid_field(client, post, alice):
    response = post(client, "/api/v1/duplicates/check",
                    {"phones": [{"number": "12"}]}, bearer(alice))  # fmt: skip
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "phones[0].number"


def test_the_check_needs_credentials(client):
    response = client.post("/api/v1/duplicates/check", "{}", content_type="application/json")
    assert response.status_code == 401


def test_a_scan_runs_and_the_queue_lists_its_cluster(client, post, alice, pair):
    response = post(client, "/api/v1/duplicates/scans", {}, bearer(alice))
    assert response.status_code == 202
    scan = client.get(f"/api/v1/duplicates/scans/{response.json()['id']}", **bearer(alice)).json()
    assert scan["status"] == "done" and scan["clusters_found"] == 1
    queue = client.get("/api/v1/duplicates/clusters", **bearer(alice)).json()
    [cluster] = queue["items"]
    assert cluster["kind"] == "contact"
    assert {c["id"] for c in cluster["records"]} == {pair[0].pk, pair[1].pk}
    detail = client.get(f"/api/v1/duplicates/clusters/{cluster['id']}", **bearer(alice)).json()
    assert detail["pairs"][0]["probability"] >= 0.5
    assert {e["field"] for e in detail["pairs"][0]["explanation"]} >= {"name", "phone"}


def test_dismissing_a_cluster_needs_write_access_and_is_remembered(
    client, post, alice, charlie, pair
):
    post(client, "/api/v1/duplicates/scans", {}, bearer(alice))
    cluster = DuplicateCluster.objects.get()
    url = f"/api/v1/duplicates/clusters/{cluster.pk}/dismiss"
    assert post(client, url, {}, bearer(charlie)).status_code == 403
    response = post(client, url, {}, bearer(alice))
    assert response.status_code == 200 and response.json()["status"] == "dismissed"
    assert NotDuplicate.objects.count() == 1
    assert client.get("/api/v1/duplicates/clusters", **bearer(alice)).json()["items"] == []


def test_unknown_clusters_scans_and_statuses_are_clear_errors(client, post, alice):
    assert client.get("/api/v1/duplicates/clusters/999", **bearer(alice)).status_code == 404
    assert client.get("/api/v1/duplicates/scans/999", **bearer(alice)).status_code == 404
    response = client.get("/api/v1/duplicates/clusters?status=maybe", **bearer(alice))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "status"
    response = client.get("/api/v1/duplicates/clusters?cursor=xyz", **bearer(alice))
    assert response.status_code == 422
    response = post(client, "/api/v1/duplicates/scans", {"scope": "galaxy"}, bearer(alice))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "scope"


def test_creating_a_contact_reports_its_likely_duplicates(client, alice, pair):
    body = {"given_name": "Liz", "family_name": "Taylor",
            "emails": [{"address": "liz.taylor@example.org"}]}  # fmt: skip
    response = client.post("/api/v1/contacts", json.dumps(body),
                           content_type="application/json", **bearer(alice))  # fmt: skip
    assert response.status_code == 201
    assert pair[0].pk in [d["contact_id"] for d in response.json()["duplicates"]]


def test_on_duplicate_reject_answers_409_and_saves_nothing(client, alice, pair):
    from rapport.contacts.models import Contact

    body = {"given_name": "Liz", "family_name": "Taylor",
            "emails": [{"address": "liz.taylor@example.org"}]}  # fmt: skip
    response = client.post("/api/v1/contacts?on_duplicate=reject", json.dumps(body),
                           content_type="application/json", **bearer(alice))  # fmt: skip
    assert response.status_code == 409
    assert response.json()["duplicates"][0]["contact_id"] == pair[0].pk
    assert Contact.objects.count() == 2
    fresh = {"given_name": "Zofia", "family_name": "Nowak"}
    ok = client.post("/api/v1/contacts?on_duplicate=reject", json.dumps(fresh),
                     content_type="application/json", **bearer(alice))  # fmt: skip
    assert ok.status_code == 201 and ok.json()["duplicates"] == []


def test_an_edit_that_makes_a_duplicate_can_be_refused(client, alice, pair):
    other = make_contact(alice, given_name="Zofia", family_name="Nowak")
    response = client.patch(
        f"/api/v1/contacts/{other.pk}?on_duplicate=reject",
        json.dumps({"given_name": "Elizabeth", "family_name": "Taylor",
                    "emails": [{"address": "liz.taylor@example.org"}]}),
        content_type="application/json", **bearer(alice),
    )  # fmt: skip
    assert response.status_code == 409
    other.refresh_from_db()
    assert other.given_name == "Zofia"


@pytest.mark.parametrize(
    ("ids", "field"),
    [
        ([999_998, 999_999], "contact_ids[0]"),
        ([0, 1], "contact_ids.0"),
        ([2**63, 1], "contact_ids.0"),
    ],
)
def test_not_duplicates_with_ids_that_are_not_contacts_names_them(client, post, alice, ids, field):
    response = post(
        client, "/api/v1/duplicates/not-duplicates", {"contact_ids": ids}, bearer(alice)
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors[0]["field"].replace("[0]", ".0") == field.replace("[0]", ".0")
    assert not NotDuplicate.objects.exists()


def test_not_duplicates_names_only_the_missing_id(client, post, alice, pair):
    body = {"contact_ids": [pair[0].pk, 999_999]}
    response = post(client, "/api/v1/duplicates/not-duplicates", body, bearer(alice))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "contact_ids[1]", "message": "There is no contact with id 999999."}
    ]


def test_not_duplicates_needs_two_different_contacts(client, post, alice, pair):
    body = {"contact_ids": [pair[0].pk, pair[0].pk]}
    response = post(client, "/api/v1/duplicates/not-duplicates", body, bearer(alice))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "contact_ids"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/duplicates/clusters/999999/dismiss",
        "/api/v1/duplicates/clusters/999999/skip",
        "/api/v1/merges/999999/undo",
    ],
)
def test_decisions_on_records_that_do_not_exist_answer_404(client, post, alice, url):
    response = post(client, url, {}, bearer(alice))
    assert response.status_code == 404
    assert response.json()["detail"]


def test_a_merge_of_ids_that_do_not_exist_names_them(client, post, alice):
    body = {"survivor": 999_998, "merged": [999_999]}
    response = post(client, "/api/v1/merges/contacts", body, bearer(alice))
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"survivor", "merged[0]"}
