"""Bulk helpers: lookups by many values, and planner statistics kept current."""

from __future__ import annotations

import pytest
from django.db import connection

from rapport.contacts.models import Email
from rapport.contacts.tests.factories import make_contact
from rapport.core import bulk


def test_matching_finds_exactly_the_rows_holding_one_of_many_values(db):
    for i in range(3):
        make_contact(emails=[{"address": f"held{i}@example.com"}])
    wanted = {f"held{i}@example.com" for i in (0, 2)} | {
        f"free{i}@example.com" for i in range(1200)
    }
    found = set()
    for query in bulk.matching(Email.objects.order_by(), "address_key", wanted):
        found.update(query.values_list("address_key", flat=True))
    assert found == {"held0@example.com", "held2@example.com"}
    assert list(bulk.matching(Email.objects.all(), "address_key", set())) == []


def test_statistics_analyze_a_table_each_time_the_rows_written_double(db):
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL plans lookups from ANALYZE statistics")

    def rows_known() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'contacts_email'")
            return float(cursor.fetchone()[0])

    # Other tests may have left any figure behind; these are the test's own rows.
    statistics = bulk.Statistics(Email, first=5)
    for _ in range(4):
        make_contact()
    statistics.grew(4)
    assert rows_known() != 4  # fewer rows than `first`: not analyzed
    make_contact()
    statistics.grew(1)
    assert rows_known() == 5
    make_contact()
    statistics.grew(1)  # 6 written: the next analysis waits for 10
    assert rows_known() == 5
