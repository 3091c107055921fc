"""Fixtures of the consent tests: a real SMTP server, people and purposes."""

from __future__ import annotations

import pytest

from rapport.activity.tests.tasks_support import smtp_fixture  # noqa: F401 (fixture)
from rapport.consent.tests.support import make_purpose
from rapport.contacts.tests.factories import make_contact


@pytest.fixture
def newsletter(alice):
    return make_purpose(alice, "newsletter", is_marketing=True)


@pytest.fixture
def ann(bob):
    return make_contact(
        bob,
        given_name="Ann",
        family_name="Lee",
        emails=[{"address": "ann@example.com"}, {"address": "ann.lee@work.example"}],
        phones=[{"number": "+44 20 7946 0958"}],
    )
