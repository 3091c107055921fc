"""Sign-in is throttled per username and per address; bad API tokens are throttled too."""

from __future__ import annotations

import io
import logging

import pytest
from axes.models import AccessAttempt
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from rapport.conftest import bearer


def _sign_in(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_too_many_wrong_passwords_lock_the_user_out_and_say_how_long(
    client, alice, settings, caplog
):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        assert _sign_in(client, "alice", "wrong").status_code == 200
    with caplog.at_level(logging.WARNING):
        locked = _sign_in(client, "alice", "wrong")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed sign-in attempts" in page
    assert "try again in 15 minutes" in page
    assert 0 < int(locked["Retry-After"]) <= 15 * 60
    assert any("Sign-in refused" in r.getMessage() for r in caplog.records)
    # Even the right password is refused while the lock lasts, from any address.
    again = _sign_in(Client(), "alice", "correct horse battery", address="10.0.0.2")
    assert again.status_code == 429
    assert "_auth_user_id" not in Client().session


def test_one_address_trying_many_usernames_is_locked_out(client, alice, bob, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for username in ("alice", "bob", "mallory"):
        _sign_in(client, username, "guess", address="10.9.9.9")
    refused = _sign_in(client, "bob", "correct horse battery", address="10.9.9.9")
    assert refused.status_code == 429
    # Another address still signs bob in.
    assert _sign_in(Client(), "bob", "correct horse battery", address="10.1.1.1").status_code == 302


def test_the_lock_ends_after_the_cool_off(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        _sign_in(client, "alice", "wrong")
    assert _sign_in(client, "alice", "correct horse battery").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME)
    assert _sign_in(client, "alice", "correct horse battery").status_code == 302


def test_a_right_password_before_the_limit_clears_the_count(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    _sign_in(client, "alice", "wrong")
    _sign_in(client, "alice", "wrong")
    assert _sign_in(client, "alice", "correct horse battery").status_code == 302
    client.post("/logout/")
    _sign_in(client, "alice", "wrong")
    assert _sign_in(client, "alice", "correct horse battery").status_code == 302


def test_guessing_api_tokens_gets_429_after_the_budget(bob, settings):
    settings.RAPPORT_TOKEN_FAILURE_LIMIT = 3
    client = Client(REMOTE_ADDR="10.5.5.5")
    for _ in range(3):
        response = client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer rpt_guess")
        assert response.status_code == 401
    throttled = client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer rpt_guess")
    assert throttled.status_code == 429
    assert "Too many failed API token attempts" in throttled.json()["detail"]
    assert int(throttled["Retry-After"]) > 0
    # Other addresses are not affected, and neither is a valid token from the same one
    # (clients behind one proxy share its address).
    assert Client(REMOTE_ADDR="10.6.6.6").get("/api/v1/me", **bearer(bob)).status_code == 200
    assert client.get("/api/v1/me", **bearer(bob)).status_code == 200


@pytest.mark.parametrize("password", ["83920174", "12345678901234"])
def test_numeric_only_passwords_are_refused_by_the_users_command(alice, monkeypatch, password):
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    with pytest.raises(CommandError, match="entirely numeric"):
        call_command("users", "add", "erin", "--password-stdin", "--as", "alice")
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    with pytest.raises(CommandError, match="entirely numeric"):
        call_command("users", "set-password", "alice", "--as", "alice")
