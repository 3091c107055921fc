"""Bulk helpers: lookups by many values, rows changed by key, and planner statistics kept
current."""

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


def test_update_rows_sets_each_rows_columns_by_key_and_skips_unknown_keys(db):
    import datetime as dt
    from decimal import Decimal

    from rapport.segments.models import CustomerValue

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    people = [make_contact() for _ in range(3)]
    CustomerValue.objects.bulk_create(
        CustomerValue(contact=p, orders=1, revenue=Decimal(10), first_order_at=now,
                      last_order_at=now, recency=1, frequency=1, monetary=1, group="lost",
                      computed_at=now, p_alive=0.9)
        for p in people
    )  # fmt: skip
    bulk.update_rows(
        CustomerValue, "contact_id", ["expected_orders", "p_alive", "predicted_value"],
        [(people[0].pk, 1.5, 0.25, Decimal("12.34")), (people[1].pk, None, None, None),
         (10**12, 2.0, 0.5, Decimal(1))],
    )  # fmt: skip
    got = {
        v.contact_id: (v.expected_orders, v.p_alive, v.predicted_value)
        for v in CustomerValue.objects.all()
    }
    assert got == {
        people[0].pk: (1.5, 0.25, Decimal("12.34")),
        people[1].pk: (None, None, None),
        people[2].pk: (None, 0.9, None),
    }
    assert CustomerValue.objects.count() == 3
    bulk.update_rows(CustomerValue, "contact_id", ["p_alive"], [])


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
