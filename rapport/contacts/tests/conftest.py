"""API clients acting as the shared users (see rapport/conftest.py)."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.conftest import bearer
from rapport.contacts.tests.test_api import Api


@pytest.fixture
def bob_api(bob) -> Api:
    return Api(Client(), bearer(bob))


@pytest.fixture
def alice_api(alice) -> Api:
    return Api(Client(), bearer(alice))


@pytest.fixture
def charlie_api(charlie) -> Api:
    return Api(Client(), bearer(charlie))
