"""`rapport token create USERNAME` prints a token a script can use right away."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from rapport.access.models import ApiToken
from rapport.contacts.tests.factories import make_contact


def _token(*args: str) -> str:
    out = io.StringIO()
    call_command("token", *args, stdout=out)
    return out.getvalue()


def test_it_prints_only_the_token_and_the_token_works_against_the_api(bob):
    printed = _token("create", "bob")
    key = printed.strip()
    assert printed == key + "\n"
    assert key.startswith("rpt_") and " " not in key

    client = Client()
    header = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert client.get("/api/v1/me", **header).json()["username"] == "bob"
    created = client.post(
        "/api/v1/contacts",
        data=json.dumps({"full_name": "Ada Lovelace"}),
        content_type="application/json",
        **header,
    )
    assert created.status_code == 201
    assert created.json()["owner"] == "bob"


def test_a_revoked_token_stops_working(bob):
    key = _token("create", "bob", "--name", "laptop").strip()
    header = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert Client().get("/api/v1/contacts", **header).status_code == 200

    listing = _token("list", "bob")
    assert "laptop" in listing and "active" in listing and key not in listing
    call_command("token", "revoke", key[:12], stderr=io.StringIO())
    assert Client().get("/api/v1/contacts", **header).status_code == 401
    assert "revoked" in _token("list", "bob")


def test_a_read_only_users_token_cannot_write(charlie):
    contact = make_contact(given_name="Grace")
    key = _token("create", "charlie").strip()
    header = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert Client().get(f"/api/v1/contacts/{contact.pk}", **header).status_code == 200
    response = Client().delete(f"/api/v1/contacts/{contact.pk}", **header)
    assert response.status_code == 403
    response = Client().post(
        "/api/v1/contacts",
        data=json.dumps({"given_name": "Ada"}),
        content_type="application/json",
        **header,
    )
    assert response.status_code == 403


def test_it_refuses_unknown_and_inactive_users(bob):
    with pytest.raises(CommandError, match="no user named nobody"):
        _token("create", "nobody")
    bob.is_active = False
    bob.save()
    with pytest.raises(CommandError, match="inactive"):
        _token("create", "bob")
    assert not ApiToken.objects.exists()
