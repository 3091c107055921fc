"""`rapport setup` names the admin user, says where its password came from, refuses a weak one."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from rapport.access.models import User


def _setup(monkeypatch, password: str | None) -> str:
    if password is None:
        monkeypatch.delenv("RAPPORT_ADMIN_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("RAPPORT_ADMIN_PASSWORD", password)
    out = io.StringIO()
    call_command("setup", "--no-demo", stdout=out)
    return out.getvalue()


def test_setup_generates_a_password_and_says_so(db, monkeypatch):
    output = _setup(monkeypatch, None)
    assert "Created the admin user: admin (password generated)." in output
    password = output.split("  password: ", 1)[1].split()[0]
    response = Client().post("/login/", {"username": "admin", "password": password})
    assert response.status_code == 302


def test_setup_takes_the_password_from_the_environment_and_says_so(db, monkeypatch):
    output = _setup(monkeypatch, "plum-orchard-1987")
    assert "Created the admin user: admin (password from RAPPORT_ADMIN_PASSWORD)." in output
    assert "plum-orchard-1987" not in output
    again = _setup(monkeypatch, "another-password-22")
    assert "Admin user: admin (already exists; password unchanged" in again
    assert User.objects.get(username="admin").check_password("plum-orchard-1987")


@pytest.mark.parametrize(
    ("password", "reason"),
    [("20261204", "entirely numeric"), ("short", "too short"), ("password123", "too common")],
)
def test_setup_refuses_a_weak_admin_password(db, monkeypatch, password, reason):
    with pytest.raises(CommandError, match=reason):
        _setup(monkeypatch, password)
    assert not User.objects.filter(username="admin").exists()
