from __future__ import annotations

from rapport.conftest import bearer
from rapport.contacts.tests.factories import make_contact
from rapport.quality import services
from rapport.quality.models import Suggestion


def test_the_report_api_returns_the_same_figures(client, alice, book):
    response = client.get("/api/v1/quality/report", **bearer(alice))
    assert response.status_code == 200
    body = response.json()
    assert body["contacts"] == 5 and body["stale"] == 1
    problems = {p["code"]: p for p in body["problems"]}
    assert problems["no_email_or_phone"]["count"] == 1
    assert (
        problems["no_email_or_phone"]["contacts_url"]
        == "/api/v1/quality/problems/no_email_or_phone"
    )


def test_the_report_api_filters_by_source(client, alice, book):
    body = client.get("/api/v1/quality/report", {"source": "Old CRM"}, **bearer(alice)).json()
    assert body["contacts"] == 2 and body["scope"] == "source:Old CRM"


def test_an_unknown_batch_is_a_422(client, alice, book):
    response = client.get("/api/v1/quality/report", {"batch": 999}, **bearer(alice))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "batch"


def test_contacts_with_a_problem_and_one_contact_score(client, alice, book):
    headers = bearer(alice)
    client.get("/api/v1/quality/report", **headers)
    body = client.get("/api/v1/quality/problems/no_organization", {"limit": 2}, **headers).json()
    assert len(body["items"]) == 2 and body["next_cursor"]
    score = client.get(f"/api/v1/quality/contacts/{book.nothing.pk}", **headers).json()
    assert score["score"] == 35 and "no_email_or_phone" in [p["code"] for p in score["problems"]]


def test_the_trend_api_lists_snapshots(client, alice, book):
    services.audit_snapshot_write(actor=alice)
    body = client.get("/api/v1/quality/trend", **bearer(alice)).json()
    assert len(body) == 1 and body[0]["contacts"] == 5


def test_suggestions_through_the_api(client, bob):
    person = make_contact(actor=bob, given_name="ALAN", family_name="TURING")
    headers = bearer(bob)
    made = client.post(
        "/api/v1/quality/suggestions/generate",
        {"providers": ["name_case"]},
        content_type="application/json",
        **headers,
    ).json()
    assert made == {"name_case": 1}
    listed = client.get("/api/v1/quality/suggestions", **headers).json()
    (item,) = listed["items"]
    assert item["contact"] == person.pk and item["suggested_value"] == "Alan Turing"
    result = client.post(
        "/api/v1/quality/suggestions/accept",
        {"ids": [item["id"]]},
        content_type="application/json",
        **headers,
    ).json()
    assert result == {"accepted": 1, "failed": []}
    person.refresh_from_db()
    assert person.display_name == "Alan Turing"


def test_read_only_tokens_cannot_accept(client, alice, charlie):
    make_contact(actor=alice, given_name="ANNA")
    services.enrichment_generate(actor=alice)
    s = Suggestion.objects.get()
    response = client.post(
        "/api/v1/quality/suggestions/accept",
        {"ids": [s.pk]},
        content_type="application/json",
        **bearer(charlie),
    )
    assert response.status_code == 403
    assert client.get("/api/v1/quality/report", **bearer(charlie)).status_code == 200


def test_the_report_needs_credentials(client, db):
    assert client.get("/api/v1/quality/report").status_code == 401
