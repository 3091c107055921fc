"""App passwords for address-book clients: created on the page or with `rapport carddav
password create USERNAME` (which prints only the password), shown once, stored as a
hash, checked per user and scope, throttled apart from the web sign-in, revocable."""

from __future__ import annotations

import io
import re

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError

from rapport.access.models import AppPassword
from rapport.access.services import (
    TokenThrottled,
    app_password_authenticate,
    user_update,
)

pytestmark = pytest.mark.django_db

SHAPE = re.compile(r"^[a-z2-9]{4}(-[a-z2-9]{4}){4}$")


@pytest.fixture(autouse=True)
def _no_failures_left_over():
    cache.clear()


def _cli(*args: str) -> str:
    out = io.StringIO()
    call_command("carddav", "password", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_command_prints_only_the_password_and_it_signs_in_as_that_user(bob):
    printed = _cli("create", "bob", "--name", "Bob's iPhone")
    secret = printed.strip()
    assert printed == secret + "\n" and SHAPE.match(secret)
    stored = AppPassword.objects.get(user=bob)
    assert stored.name == "Bob's iPhone" and stored.scope == "carddav"
    assert secret not in (stored.key_hash, stored.prefix) and stored.prefix == secret[:4]

    found = app_password_authenticate(
        username="bob", secret=secret, ip_address="127.0.0.1", user_agent="iOS/18.1 dataaccessd"
    )
    assert found is not None and found[0] == bob
    # typed on a phone: capitals, spaces or no dashes are the same password
    typed = secret.replace("-", " ").upper()
    assert app_password_authenticate(username="bob", secret=typed) is not None
    stored.refresh_from_db()
    assert stored.last_used_at is not None

    listed = _cli("list", "bob")
    assert f"{secret[:4]}…\tBob's iPhone" in listed and "active" in listed


def test_it_is_not_the_login_password_and_belongs_to_one_user(alice, bob):
    secret = _cli("create", "bob").strip()
    assert app_password_authenticate(username="alice", secret=secret) is None
    assert app_password_authenticate(username="bob", secret="not-the-password") is None
    assert app_password_authenticate(username="bob", secret="") is None
    bob.set_password("Login-Password-2026!")
    bob.save()
    assert app_password_authenticate(username="bob", secret="Login-Password-2026!") is None


def test_revoked_or_deactivated_means_refused(alice, bob):
    first = _cli("create", "bob").strip()
    second = _cli("create", "bob").strip()
    out = io.StringIO()
    call_command("carddav", "password", "revoke", "bob", first[:4], stderr=out)
    assert "Revoked" in out.getvalue()
    assert app_password_authenticate(username="bob", secret=first) is None
    assert app_password_authenticate(username="bob", secret=second) is not None
    assert "revoked" in _cli("list", "bob")

    user_update(actor=alice, user=bob, is_active=False)
    assert app_password_authenticate(username="bob", secret=second) is None
    assert not AppPassword.objects.filter(user=bob, revoked_at__isnull=True).exists()


def test_the_command_names_what_is_wrong(bob):
    with pytest.raises(CommandError, match="no user named nobody"):
        _cli("create", "nobody")
    with pytest.raises(CommandError, match="at most 100 characters"):
        _cli("create", "bob", "--name", "x" * 101)
    with pytest.raises(CommandError, match="No active app passwords of bob start with zzzz"):
        _cli("revoke", "bob", "zzzz")


def test_wrong_passwords_are_throttled_per_address_and_per_user_the_right_one_never(bob, settings):
    settings.RAPPORT_TOKEN_FAILURE_LIMIT = 3
    secret = _cli("create", "bob").strip()
    for _ in range(3):
        assert app_password_authenticate(username="bob", secret="x", ip_address="10.0.0.1") is None
    # more wrong ones are refused without a check, from there and for bob from elsewhere
    with pytest.raises(TokenThrottled):
        app_password_authenticate(username="bob", secret="y", ip_address="10.0.0.1")
    with pytest.raises(TokenThrottled):
        app_password_authenticate(username="bob", secret="y", ip_address="10.0.0.2")
    # but bob's devices, with the right one, are never locked out by someone else's tries
    assert app_password_authenticate(username="bob", secret=secret, ip_address="10.0.0.2")


def test_the_page_shows_a_new_password_once_and_revokes_it(bob, bob_client, alice_client):
    page = bob_client.get("/app-passwords/")
    assert page.status_code == 200 and "You have no app passwords yet" in page.content.decode()
    created = bob_client.post("/app-passwords/", {"name": "Pixel 9"})
    text = created.content.decode()
    secret = re.search(r'id="new-secret" readonly value="([^"]+)"', text).group(1)
    assert SHAPE.match(secret) and "shown only this once" in text
    again = bob_client.get("/app-passwords/").content.decode()
    assert secret not in again and f"{secret[:4]}…" in again and "Pixel 9" in again

    item = AppPassword.objects.get(user=bob)
    # someone else's cannot be revoked
    assert alice_client.post(f"/app-passwords/{item.pk}/revoke/").status_code == 404
    assert bob_client.post(f"/app-passwords/{item.pk}/revoke/").status_code == 302
    assert app_password_authenticate(username="bob", secret=secret) is None

    too_long = bob_client.post("/app-passwords/", {"name": "x" * 101})
    assert too_long.status_code == 422
    assert "at most 100 characters" in too_long.content.decode()
    assert AppPassword.objects.filter(user=bob).count() == 1
