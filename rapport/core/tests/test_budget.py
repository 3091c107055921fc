"""A query with a time limit stops at the limit and leaves the connection usable."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from rapport.access.models import User
from rapport.core import budget


def _slow_query() -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT 1 FROM pg_sleep(2)")
        else:
            cursor.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000)"
                " SELECT count(*) FROM n"
            )
        return int(cursor.fetchone()[0])


def test_a_query_past_its_budget_is_stopped_and_the_connection_still_works(db):
    User.objects.create_user(username="kept", password="correct horse battery")
    start = time.perf_counter()
    with pytest.raises(budget.OverBudget):
        budget.within(50, _slow_query)
    assert time.perf_counter() - start < 1.5
    # The surrounding transaction is intact, and later queries have no limit.
    assert User.objects.filter(username="kept").exists()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "0"


def test_a_query_within_its_budget_answers(db):
    assert budget.within(1000, lambda: User.objects.count()) == 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "0"
