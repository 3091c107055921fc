"""Signing in and out, personal API tokens, and the health check."""

from __future__ import annotations

from rapport.access.models import ApiToken
from rapport.access.services import token_authenticate


def test_a_user_signs_in_and_lands_where_they_were_going(client, alice):
    page = client.get("/login/?next=/organizations/")
    assert page.status_code == 200
    assert 'autocomplete="current-password"' in page.content.decode()
    response = client.post(
        "/login/",
        {"username": "alice", "password": "correct horse battery", "next": "/organizations/"},
    )
    assert response.status_code == 302
    assert response.url == "/organizations/"


def test_a_wrong_password_is_explained_without_saying_which_part_was_wrong(client, alice):
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_signing_out_ends_the_session(alice_client):
    response = alice_client.post("/logout/")
    assert response.url == "/login/"
    assert alice_client.get("/contacts/").status_code == 302


def test_the_health_check_needs_no_sign_in(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_a_new_token_secret_is_shown_once_and_works(bob, bob_client):
    response = bob_client.post("/tokens/", {"name": "Newsletter sync"})
    html = response.content.decode()
    token = ApiToken.objects.get(user=bob)
    secret = html.split('id="new-secret" readonly value="', 1)[1].split('"', 1)[0]
    assert secret.startswith(token.prefix)
    assert token_authenticate(key=secret) == bob
    again = bob_client.get("/tokens/").content.decode()
    assert secret not in again
    assert "Newsletter sync" in again and f"{token.prefix}…" in again


def test_a_user_sees_and_revokes_only_their_own_tokens(alice, bob, alice_client, bob_client):
    alice_client.post("/tokens/", {"name": "Alice's script"})
    alices = ApiToken.objects.get(user=alice)
    assert "Alice's script" not in bob_client.get("/tokens/").content.decode()
    assert bob_client.post(f"/tokens/{alices.pk}/revoke/").status_code == 404
    assert alice_client.post(f"/tokens/{alices.pk}/revoke/").status_code == 302
    alices.refresh_from_db()
    assert alices.revoked_at is not None
    assert "Revoked" in alice_client.get("/tokens/").content.decode()


def test_read_only_users_may_still_have_tokens(charlie_client):
    assert charlie_client.post("/tokens/", {"name": "Reports"}).status_code == 200


def test_an_overlong_token_name_is_refused(alice_client):
    response = alice_client.post("/tokens/", {"name": "x" * 101})
    assert response.status_code == 422
    assert not ApiToken.objects.exists()
