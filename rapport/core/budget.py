"""Run one read query with a time limit, on PostgreSQL and SQLite alike.

For answers that are nice to have but must not slow a page down (how many rows match a
search typed letter by letter): past the limit the database stops the query and
``OverBudget`` is raised; the connection and any surrounding transaction stay usable.
Only for SELECTs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError, connection, transaction

T = TypeVar("T")


class OverBudget(Exception):
    """The query was stopped because it ran longer than its budget."""


def within(milliseconds: int, read: Callable[[], T]) -> T:
    """``read()`` (one or a few SELECTs), stopped after ``milliseconds``."""
    if connection.vendor == "postgresql":
        return _postgresql(milliseconds, read)
    if connection.vendor == "sqlite":
        return _sqlite(milliseconds, read)
    return read()


def _postgresql(milliseconds: int, read: Callable[[], T]) -> T:
    try:
        # A savepoint when a transaction is open, so a cancelled query leaves it usable;
        # SET LOCAL ends with it.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SET LOCAL statement_timeout = %s", [f"{max(1, int(milliseconds))}ms"]
                )
            result = read()
            # Back to the configured limit for the rest of a surrounding transaction (a
            # cancelled query rolls the savepoint back, and the setting with it).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL statement_timeout TO DEFAULT")
        return result
    except DatabaseError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == "57014":  # query_canceled
            raise OverBudget from exc
        raise


def _sqlite(milliseconds: int, read: Callable[[], T]) -> T:
    connection.ensure_connection()
    raw = connection.connection
    deadline = time.perf_counter() + milliseconds / 1000

    def past_deadline() -> int:
        return 1 if time.perf_counter() > deadline else 0

    # Asked every 10,000 virtual machine steps (well under a millisecond).
    raw.set_progress_handler(past_deadline, 10_000)
    try:
        return read()
    except DatabaseError as exc:
        if "interrupted" in str(exc):
            raise OverBudget from exc
        raise
    finally:
        raw.set_progress_handler(None, 0)
