"""Who the API lets in: tokens, the browser session with its CSRF token, and nobody else."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from rapport.access.models import ApiToken
from rapport.access.services import token_create, token_revoke
from rapport.conftest import bearer


def _post_contact(client: Client, **headers: str):
    return client.post(
        "/api/v1/contacts",
        data=json.dumps({"given_name": "Ada"}),
        content_type="application/json",
        **headers,
    )


def test_a_token_identifies_its_owner(bob):
    response = Client().get("/api/v1/me", **bearer(bob))
    assert response.status_code == 200
    me = response.json()
    assert me["username"] == "bob"
    assert me["role"] == "member"
    assert "contacts.add" in me["permissions"]
    assert "custom_fields.manage" not in me["permissions"]


def test_using_a_token_records_when_it_was_last_used(bob):
    token, key = token_create(user=bob, name="script")
    assert token.last_used_at is None
    Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {key}")
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize(
    "header",
    [
        "Bearer rpt_not-a-real-token",
        "Bearer ",
        "Bearer",
        "Token abc",
        "Basic YWxpY2U6cGFzc3dvcmQ=",
        "rpt_" + "x" * 40,
    ],
)
def test_an_unknown_token_is_401_json(bob, header):
    response = Client().get("/api/v1/contacts", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "token" in response.json()["detail"]


def test_a_revoked_token_or_a_deactivated_user_is_401(bob):
    token, key = token_create(user=bob)
    header = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert Client().get("/api/v1/me", **header).status_code == 200
    token_revoke(token=token)
    assert Client().get("/api/v1/me", **header).status_code == 401

    other = bearer(bob)
    bob.is_active = False
    bob.save()
    assert Client().get("/api/v1/me", **other).status_code == 401


def test_a_bad_token_is_401_even_with_a_signed_in_session(bob_client):
    assert bob_client.get("/api/v1/me").status_code == 200
    response = bob_client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer rpt_wrong")
    assert response.status_code == 401


def test_an_anonymous_write_is_401_not_a_csrf_failure(db):
    response = _post_contact(Client(enforce_csrf_checks=True))
    assert response.status_code == 401


def test_session_writes_need_the_csrf_token_but_token_writes_do_not(bob):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(bob)
    assert browser.get("/api/v1/me").status_code == 200
    refused = _post_contact(browser)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]

    secret = "b" * 32
    browser.cookies["csrftoken"] = secret
    assert _post_contact(browser, HTTP_X_CSRFTOKEN=secret).status_code == 201
    assert _post_contact(browser, HTTP_X_CSRFTOKEN="c" * 32).status_code == 403

    script = Client(enforce_csrf_checks=True)
    assert _post_contact(script, **bearer(bob)).status_code == 201


def test_a_read_only_token_reads_but_gets_403_on_writes(charlie):
    header = bearer(charlie)
    assert Client().get("/api/v1/contacts", **header).status_code == 200
    response = _post_contact(Client(), **header)
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to contacts: add."}


def test_tokens_store_only_a_hash_of_the_secret(bob):
    _, key = token_create(user=bob)
    stored = ApiToken.objects.get()
    assert key not in (stored.key_hash, stored.prefix, stored.name)
    assert key.startswith(stored.prefix)
