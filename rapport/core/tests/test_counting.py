"""A count with a time limit: exact within it, None past it, and the connection usable
afterwards, on both databases."""

from __future__ import annotations

import pytest
from django.db import connection

from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact
from rapport.core.counting import count_within

pytestmark = pytest.mark.django_db


def _slow():
    rows = Contact.objects.all()
    if connection.vendor == "postgresql":
        return rows.extra(where=["pg_sleep(0.2) IS NOT NULL"])  # noqa: S610
    return rows


def test_a_count_within_its_limit_is_exact_and_one_past_it_says_so():
    make_contact()
    make_contact()
    assert count_within(Contact.objects.all(), 5) == 2
    # a limit already past: SQLite stops at its first look at the clock, PostgreSQL after
    # a millisecond of the 0.2 s sleep
    assert count_within(_slow(), -1, steps=1) is None
    # the connection is fine afterwards, and the limit is gone
    assert Contact.objects.count() == 2
    assert count_within(_slow(), 5) == 2
