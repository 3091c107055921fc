from __future__ import annotations

import io
import sys

import pytest
from django.core.management import CommandError, call_command

from rapport.access import services
from rapport.access.models import User
from rapport.core.errors import InvalidInput, NotPermitted


def test_admins_add_users_with_a_role_and_a_one_time_password(alice, client):
    user, password = services.user_create(actor=alice, username="dana", role="readonly")
    assert user.role == "readonly"
    response = client.post("/login/", {"username": "dana", "password": password})
    assert response.status_code == 302


def test_members_cannot_manage_users(bob):
    with pytest.raises(NotPermitted):
        services.user_create(actor=bob, username="eve", role="admin")


def test_bad_user_input_names_each_field(alice):
    with pytest.raises(InvalidInput) as exc:
        services.user_create(
            actor=alice, username="bad name!", role="boss", email="x@", password="1"
        )
    assert set(exc.value.by_field()) == {"username", "role", "email", "password"}


def test_the_last_admin_cannot_be_demoted_or_switched_off(alice):
    with pytest.raises(InvalidInput, match="active admin"):
        services.user_update(actor=alice, user=alice, role="member")
    with pytest.raises(InvalidInput, match="active admin"):
        services.user_update(actor=alice, user=alice, is_active=False)


def test_switching_a_user_off_revokes_their_tokens(alice, bob):
    token, _ = services.token_create(user=bob)
    services.user_update(actor=alice, user=bob, is_active=False)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_the_users_page_is_for_admins(alice_client, bob_client):
    assert bob_client.get("/users/").status_code == 403
    response = alice_client.post("/users/", {"username": "frank", "role": "member"})
    assert response.status_code == 200
    assert "shown only this once" in response.content.decode()
    frank = User.objects.get(username="frank")
    alice_client.post(f"/users/{frank.pk}/", {"role": "readonly"})
    frank.refresh_from_db()
    assert frank.role == "readonly"
    bad = alice_client.post("/users/", {"username": "frank", "role": "member"})
    assert bad.status_code == 422
    assert "is taken" in bad.content.decode()


def test_users_from_the_terminal(alice):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "users", "add", "gina", "--role", "member", "--as", "alice", stdout=out, stderr=err
    )
    password = out.getvalue().strip()
    assert User.objects.get(username="gina").check_password(password)
    call_command("users", "set-role", "gina", "readonly", "--as", "alice", stderr=err)
    assert User.objects.get(username="gina").role == "readonly"
    real, sys.stdin = sys.stdin, io.StringIO("a much longer passphrase 42\n")
    try:
        call_command("users", "set-password", "gina", "--as", "alice", stderr=err)
    finally:
        sys.stdin = real
    assert User.objects.get(username="gina").check_password("a much longer passphrase 42")
    with pytest.raises(CommandError, match="Role: Must be one of"):
        call_command("users", "set-role", "gina", "boss", "--as", "alice", stderr=err)
