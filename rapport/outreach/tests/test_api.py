"""The outreach API: preferences with ETag and If-Match, the gate, attempts, calling rules,
bad input named field by field with nothing saved, and the contact list filter."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from rapport.conftest import bearer
from rapport.outreach.models import CallingRule, ContactPreferences

pytestmark = pytest.mark.django_db


def put(client, url, body, headers, **extra):
    return client.put(url, json.dumps(body), content_type="application/json", **headers, **extra)


@pytest.fixture
def api(bob):
    return Client(), bearer(bob)


def test_preferences_round_trip_with_etag_and_if_match(api, make_contact):
    client, auth = api
    ann = make_contact(time_zone="Europe/Paris")
    url = f"/api/v1/contacts/{ann.pk}/preferences"
    first = client.get(url, **auth)
    assert first.status_code == 200
    assert first["ETag"] == f'"preferences-{ann.pk}-0"'
    assert first.json()["hours"] is None
    body = {
        "channels": {"call": "refused", "email": "preferred"},
        "hours": [{"day": "mon", "start": "09:00", "end": "17:00"}],
        "language": "fr",
        "caps": [{"channel": "email", "purpose": "newsletter", "max_count": 2, "period_days": 30}],
    }
    saved = put(client, url, body, auth, HTTP_IF_MATCH=first["ETag"])
    assert saved.status_code == 200, saved.content
    assert saved["ETag"] == f'"preferences-{ann.pk}-1"'
    data = saved.json()
    assert data["channels"]["call"] == "refused"
    assert data["hours"] == [{"day": "mon", "start": "09:00", "end": "17:00"}]
    assert data["caps"][0]["max_count"] == 2
    stale = put(client, url, {"language": "de"}, auth, HTTP_IF_MATCH=first["ETag"])
    assert stale.status_code == 412
    assert ContactPreferences.objects.get(contact=ann).language == "fr"


def test_bad_preferences_are_named_field_by_field_and_nothing_is_saved(api, make_contact):
    client, auth = api
    ann = make_contact(time_zone="Europe/Paris")
    url = f"/api/v1/contacts/{ann.pk}/preferences"
    response = put(
        client,
        url,
        {
            "channels": {"fax": "allowed", "call": "maybe"},
            "hours": [
                {"day": "mon", "start": "09:00", "end": "09:00"},
                {"day": "tue", "start": "9h", "end": "17:00"},
                {"day": 8, "start": "09:00", "end": "10:00"},
                {"day": "wed", "start": "09:00", "end": "25:00"},
            ],
            "caps": [{"channel": "email", "max_count": 0, "period_days": 7}],
            "language": "not a language",
        },
        auth,
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {
        "channels.fax",
        "channels.call",
        "hours[0].end",
        "hours[1].start",
        "hours[2].day",
        "hours[3].end",
        "caps[0].max_count",
        "language",
    } <= fields
    assert not ContactPreferences.objects.filter(contact=ann).exists()


def test_overlapping_windows_are_refused_naming_the_later_one(api, make_contact):
    client, auth = api
    ann = make_contact(time_zone="Europe/Paris")
    response = put(
        client,
        f"/api/v1/contacts/{ann.pk}/preferences",
        {
            "hours": [
                {"day": "fri", "start": "22:00", "end": "02:00"},
                {"day": "sat", "start": "01:00", "end": "05:00"},
            ]
        },
        auth,
    )
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "hours[1]"
    assert "overlaps Friday 22:00–02:00" in error["message"]


def test_hours_that_are_not_a_list_get_a_422_not_a_500(api, make_contact):
    client, auth = api
    ann = make_contact()
    response = put(client, f"/api/v1/contacts/{ann.pk}/preferences", {"hours": "always"}, auth)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "hours"


def test_a_read_only_user_may_read_but_not_change_preferences(charlie, make_contact):
    client, auth = Client(), bearer(charlie)
    ann = make_contact()
    url = f"/api/v1/contacts/{ann.pk}/preferences"
    assert client.get(url, **auth).status_code == 200
    assert put(client, url, {"language": "fr"}, auth).status_code == 403


def test_the_gate_endpoint_explains_and_says_when(api, make_contact):
    client, auth = api
    jeanne = make_contact(phone="+33 6 12 34 56 78")
    response = client.get(
        f"/api/v1/contacts/{jeanne.pk}/gate",
        {"channel": "call", "purpose": "sales", "at": "2026-03-10T12:30:00Z"},
        **auth,
    )
    assert response.status_code == 200
    data = response.json()
    assert data["allowed"] is False
    assert data["next_allowed_at"] == "2026-03-10T13:00:00+00:00"
    assert data["next_allowed_local"] == "2026-03-10T14:00:00+01:00"
    assert data["time_zone"] == "Europe/Paris"
    legal = next(r for r in data["reasons"] if r["step"] == "legal_hours")
    assert legal["allowed"] is False and legal["code"] == "outside_hours"
    bad = client.get(
        f"/api/v1/contacts/{jeanne.pk}/gate", {"channel": "fax", "purpose": "x"}, **auth
    )
    assert bad.status_code == 422
    assert (
        client.get(
            "/api/v1/contacts/999999/gate", {"channel": "call", "purpose": "x"}, **auth
        ).status_code
        == 404
    )


def test_attempts_are_logged_and_count_toward_the_french_limit(api, make_contact):
    client, auth = api
    jeanne = make_contact(phone="+33 6 12 34 56 78")
    url = f"/api/v1/contacts/{jeanne.pk}/attempts"
    for day in ("02", "03", "04", "05"):
        logged = client.post(
            url,
            json.dumps(
                {
                    "channel": "call",
                    "purpose": "sales",
                    "outcome": "attempted",
                    "at": f"2026-03-{day}T10:00:00Z",
                }
            ),
            content_type="application/json",
            **auth,
        )
        assert logged.status_code == 201, logged.content
    assert len(client.get(url, **auth).json()["items"]) == 4
    gate = client.get(
        f"/api/v1/contacts/{jeanne.pk}/gate",
        {"channel": "call", "purpose": "sales", "at": "2026-03-10T10:00:00Z"},
        **auth,
    ).json()
    assert gate["allowed"] is False
    assert gate["next_allowed_at"] == "2026-04-01T10:00:00+00:00"
    wrong = client.post(
        url,
        json.dumps({"channel": "pigeon", "outcome": "sent"}),
        content_type="application/json",
        **auth,
    )
    assert wrong.status_code == 422
    assert {e["field"] for e in wrong.json()["errors"]} == {"channel"}


def test_calling_rules_are_data_admins_manage_and_overlaps_are_refused(alice, bob):
    admin, member = (Client(), bearer(alice)), (Client(), bearer(bob))
    rule = {
        "name": "Germany, quiet Sundays",
        "country": "DE",
        "channels": ["call"],
        "hours": [
            {"day": d, "start": "08:00", "end": "20:00"}
            for d in ("mon", "tue", "wed", "thu", "fri", "sat")
        ],
        "no_public_holidays": True,
    }
    body = json.dumps(rule)
    assert (
        member[0]
        .post("/api/v1/calling-rules", body, content_type="application/json", **member[1])
        .status_code
        == 403
    )
    created = admin[0].post(
        "/api/v1/calling-rules", body, content_type="application/json", **admin[1]
    )
    assert created.status_code == 201, created.content
    again = admin[0].post(
        "/api/v1/calling-rules",
        json.dumps({**rule, "name": "Another"}),
        content_type="application/json",
        **admin[1],
    )
    assert again.status_code == 422
    assert again.json()["errors"][0]["field"] == "channels"
    assert "Germany, quiet Sundays" in again.json()["errors"][0]["message"]
    assert CallingRule.objects.filter(country="DE").count() == 1
    bad = admin[0].post(
        "/api/v1/calling-rules",
        json.dumps(
            {
                "name": "x",
                "country": "ZZ",
                "subdivision": "QQ",
                "channels": ["call"],
                "max_attempts": 3,
            }
        ),
        content_type="application/json",
        **admin[1],
    )
    assert bad.status_code == 422
    assert {"country", "attempts_period_days"} <= {e["field"] for e in bad.json()["errors"]}
    rule_id = created.json()["id"]
    changed = admin[0].put(
        f"/api/v1/calling-rules/{rule_id}",
        json.dumps({**rule, "hours": None}),
        content_type="application/json",
        HTTP_IF_MATCH=f'"rule-{rule_id}-0"',
        **admin[1],
    )
    assert changed.status_code == 412


def test_the_contact_list_api_filters_who_is_reachable_now_by_phone(api, make_contact):
    client, auth = api
    ann = make_contact(
        "Ann",
        time_zone="Asia/Kathmandu",  # no calling law on file for Nepal: any time
        hours=[
            {"day": d, "start": "00:00", "end": "24:00"}
            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        ],
    )
    make_contact("Bob", time_zone="Asia/Kathmandu", channels={"call": "refused"})
    found = client.get("/api/v1/contacts", {"reachable": "call"}, **auth)
    assert found.status_code == 200
    assert [c["id"] for c in found.json()["items"]] == [ann.pk]
    assert client.get("/api/v1/contacts", {"reachable": "fax"}, **auth).status_code == 422
