"""/api/v1/purposes, /api/v1/contacts/{id}/consents and /api/v1/consent-events as a
client sees them: bad input is a 4xx naming the field, and nothing changes."""

from __future__ import annotations

import pytest

from rapport.conftest import bearer
from rapport.consent.models import ConsentChain, ConsentEvent, Purpose
from rapport.consent.tests.support import record

pytestmark = pytest.mark.django_db
JSON = "application/json"


def test_admins_create_change_and_delete_purposes_with_etags(client, alice):
    auth = bearer(alice)
    made = client.post(
        "/api/v1/purposes",
        {
            "key": "newsletter",
            "name": "Newsletter",
            "lawful_basis": "consent",
            "is_marketing": True,
            "retention_days": 365,
            "data_categories": ["Name", "Email address"],
            "text": "Yes, send me the newsletter.",
        },
        content_type=JSON,
        **auth,
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["text"]["version"] == 1 and len(body["text"]["sha256"]) == 64
    assert made["Location"].endswith(f"/api/v1/purposes/{body['id']}")
    url = f"/api/v1/purposes/{body['id']}"
    etag = client.get(url, **auth)["ETag"]
    changed = client.patch(
        url,
        {"text": "Yes, send me the monthly newsletter."},
        content_type=JSON,
        HTTP_IF_MATCH=etag,
        **auth,
    )
    assert changed.status_code == 200 and changed.json()["text"]["version"] == 2
    stale = client.patch(url, {"name": "Lost"}, content_type=JSON, HTTP_IF_MATCH=etag, **auth)
    assert stale.status_code == 412
    texts = client.get(f"{url}/texts", **auth).json()["items"]
    assert [t["version"] for t in texts] == [2, 1]
    # texts are kept for good, so such a purpose is archived rather than deleted
    refused = client.delete(url, **auth)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "purpose"
    archived = client.patch(url, {"archived": True}, content_type=JSON, **auth)
    assert archived.json()["archived"] is True
    bare = client.post(
        "/api/v1/purposes",
        {"key": "x", "name": "X", "lawful_basis": "contract"},
        content_type=JSON,
        **auth,
    )
    assert client.delete(f"/api/v1/purposes/{bare.json()['id']}", **auth).status_code == 204


def test_members_read_purposes_but_may_not_write_them(client, bob, newsletter):
    auth = bearer(bob)
    assert [p["key"] for p in client.get("/api/v1/purposes", **auth).json()["items"]] == [
        "newsletter"
    ]
    denied = client.post(
        "/api/v1/purposes",
        {"key": "x", "name": "X", "lawful_basis": "consent"},
        content_type=JSON,
        **auth,
    )
    assert denied.status_code == 403
    assert (
        client.patch(
            f"/api/v1/purposes/{newsletter.pk}", {"name": "Y"}, content_type=JSON, **auth
        ).status_code
        == 403
    )
    assert Purpose.objects.get().name == "Newsletter"


def test_bad_purposes_name_each_field(client, alice, newsletter):
    response = client.post(
        "/api/v1/purposes",
        {"key": "newsletter", "name": "", "lawful_basis": "because", "retention_days": -3},
        content_type=JSON,
        **bearer(alice),
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"key", "name", "lawful_basis", "retention_days"}
    unknown = client.post(
        "/api/v1/purposes",
        {"key": "other", "name": "Other", "lawful_basis": "consent", "colour": "red"},
        content_type=JSON,
        **bearer(alice),
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [{"field": "colour", "message": "Unknown field."}]
    assert Purpose.objects.count() == 1


def test_recording_a_consent_returns_the_row_and_the_new_state(client, bob, ann, newsletter):
    response = client.post(
        f"/api/v1/contacts/{ann.pk}/consents",
        {
            "action": "grant",
            "purpose": "newsletter",
            "channel": "email",
            "point": "ann@example.com",
            "method": "checkbox",
            "given_at": "2026-03-01T09:30:00+01:00",
            "ip_address": "203.0.113.4",
            "user_agent": "Safari",
            "reference": "Web shop checkout",
        },
        content_type=JSON,
        **bearer(bob),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    event = body["event"]
    assert event["given_at"] == "2026-03-01T08:30:00Z" and event["source"] == "api"
    assert (event["point"], event["ip_address"], event["text_version"]) == (
        "ann@example.com",
        "203.0.113.4",
        1,
    )
    assert event["reference"] == "Web shop checkout" and event["recorded_by"] == "bob"
    assert event["source_ref"] == "API token of bob"
    assert "Web shop" not in ConsentEvent.objects.get(pk=event["id"]).reference_sealed
    [line] = body["state"]["purposes"]
    assert line["channels"]["email"]["allowed"] is True
    assert line["channels"]["sms"] == {
        "status": None,
        "allowed": False,
        "rule": "consent.missing",
        "reason": "No consent to “Newsletter” by sms is recorded.",
        "until": None,
    }
    read = client.get(f"/api/v1/contacts/{ann.pk}/consents", **bearer(bob)).json()
    assert read["history"][0]["id"] == event["id"] and read["history_total"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "grant", "method": "verbal"}, "purpose"),
        ({"action": "grant", "purpose": "unheard-of", "method": "verbal"}, "purpose"),
        ({"action": "approve", "purpose": "newsletter", "method": "verbal"}, "action"),
        ({"purpose": "newsletter", "method": "verbal"}, "action"),
        (
            {"action": "grant", "purpose": "newsletter", "method": "verbal", "channel": "pigeon"},
            "channel",
        ),
        (
            {
                "action": "grant",
                "purpose": "newsletter",
                "method": "verbal",
                "given_at": "yesterday",
            },
            "given_at",
        ),
        (
            {
                "action": "grant",
                "purpose": "newsletter",
                "method": "verbal",
                "ip_address": "999.1.1.1",
            },
            "ip_address",
        ),
        (
            {"action": "grant", "purpose": "newsletter", "method": "verbal", "hash": "0" * 64},
            "hash",
        ),
        ({"action": "grant", "purpose": ["newsletter"], "method": "verbal"}, "purpose"),
        (
            {
                "action": "confirm",
                "purpose": "newsletter",
                "method": "double_opt_in",
                "confirms": "1",
            },
            "confirms",
        ),
    ],
)
def test_bad_consents_are_422_naming_the_field_and_record_nothing(
    client, bob, ann, newsletter, body, field
):
    response = client.post(
        f"/api/v1/contacts/{ann.pk}/consents", body, content_type=JSON, **bearer(bob)
    )
    assert response.status_code == 422, response.content
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not ConsentEvent.objects.exists() and not ConsentChain.objects.filter(seq__gt=0).exists()


def test_consent_for_an_unknown_contact_is_404(client, bob, newsletter):
    response = client.post(
        "/api/v1/contacts/999999/consents",
        {"action": "grant", "purpose": "newsletter", "method": "verbal"},
        content_type=JSON,
        **bearer(bob),
    )
    assert response.status_code == 404
    assert not ConsentEvent.objects.exists()


def test_ledger_rows_cannot_be_changed_or_deleted_through_the_api(
    client, bob, alice, ann, newsletter
):
    event = record(bob, ann, "grant")
    before = ConsentEvent.objects.values().get()
    for auth in (bearer(bob), bearer(alice)):
        for method in (client.put, client.patch, client.delete):
            for url in (
                f"/api/v1/consent-events/{event.pk}",
                f"/api/v1/contacts/{ann.pk}/consents",
            ):
                response = method(url, {"action": "withdraw"}, content_type=JSON, **auth)
                assert response.status_code == 405, (method, url, response.content)
                assert "append-only" in response.json()["detail"]
                assert response["Allow"] in ("GET", "GET, POST")
    assert ConsentEvent.objects.values().get() == before


def test_read_only_users_read_but_may_not_record(client, charlie, bob, ann, newsletter):
    record(bob, ann, "grant")
    auth = bearer(charlie)
    assert client.get(f"/api/v1/contacts/{ann.pk}/consents", **auth).status_code == 200
    denied = client.post(
        f"/api/v1/contacts/{ann.pk}/consents",
        {"action": "withdraw", "purpose": "newsletter", "method": "verbal"},
        content_type=JSON,
        **auth,
    )
    assert denied.status_code == 403 and ConsentEvent.objects.count() == 1


def test_the_event_list_pages_with_a_cursor_and_filters(
    client, bob, ann, newsletter, django_assert_max_num_queries
):
    from rapport.contacts.tests.factories import make_contact

    other = make_contact(bob)
    for n in range(5):
        record(bob, ann, "grant" if n % 2 == 0 else "withdraw", channel="email")
    record(bob, other, "grant")
    auth = bearer(bob)
    seen: list[int] = []
    url = f"/api/v1/consent-events?contact={ann.pk}&limit=2&order=seq"
    while url:
        with django_assert_max_num_queries(12):
            page = client.get(url, **auth)
        assert page.status_code == 200, page.content
        body = page.json()
        seen += [e["seq"] for e in body["items"]]
        url = (
            f"/api/v1/consent-events?contact={ann.pk}&limit=2&order=seq&cursor={body['next_cursor']}"
            if body["next_cursor"]
            else ""
        )
    assert seen == [1, 2, 3, 4, 5]
    withdrawals = client.get("/api/v1/consent-events?action=withdraw", **auth).json()["items"]
    assert [e["seq"] for e in withdrawals] == [4, 2]  # newest first by default
    bad = client.get("/api/v1/consent-events?action=nope&cursor=%%%", **auth)
    assert bad.status_code == 422
    assert client.get("/api/v1/consent-events?purpose=nope", **auth).status_code == 422
    one = client.get(f"/api/v1/consent-events/{withdrawals[0]['id']}", **auth).json()
    assert one["action"] == "withdraw" and one["prev_hash"]
