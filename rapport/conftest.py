"""Fixtures shared by every app's tests: users in each role, signed-in clients, tokens."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.access.models import User
from rapport.access.services import token_create


@pytest.fixture(scope="session")
def django_db_modify_db_settings() -> None:
    """No persistent connections in tests: threads (the live server) must not keep any
    open, or the test database cannot be dropped afterwards."""
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path) -> None:
    """Tests render pages without collectstatic, run background tasks inline, keep
    uploaded files in a temporary folder and hash passwords with a fast hasher (the
    default one is slow on purpose: a third of a second per user made or signed in)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.TASKS = {"default": settings.TASK_BACKENDS["immediate"]}
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Counters kept in the cache (bad API tokens per address) start at zero in each
    test, and so do the calling rules the gate keeps in process."""
    from django.core.cache import cache

    from rapport.outreach.gate.inputs import forget_rules

    cache.clear()
    # the calling rules a process keeps for a few seconds belong to the last test's data
    forget_rules()


def _user(username: str, role: str) -> User:
    user = User.objects.create_user(username=username, password="correct horse battery", role=role)
    user.first_name = username.title()
    user.save()
    return user


@pytest.fixture
def alice(db) -> User:
    """An admin."""
    return _user("alice", User.Role.ADMIN)


@pytest.fixture
def bob(db) -> User:
    """A member: reads and writes contacts."""
    return _user("bob", User.Role.MEMBER)


@pytest.fixture
def charlie(db) -> User:
    """Read-only."""
    return _user("charlie", User.Role.READ_ONLY)


@pytest.fixture
def alice_client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob) -> Client:
    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture
def charlie_client(charlie) -> Client:
    client = Client()
    client.force_login(charlie)
    return client


def bearer(user: User) -> dict[str, str]:
    _, key = token_create(user=user, name="tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}
