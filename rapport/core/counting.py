"""Counting with a time limit: an exact count when the database gives it within the
limit, else None, so a page can say "still counting" and ask again without one.

PostgreSQL stops the statement with ``statement_timeout`` (set for the one transaction
the count runs in); SQLite stops it from its progress handler. Either way the database
does no more work on it, and nothing else in the request is affected.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import OperationalError, connection, transaction


def count_within(queryset: Any, seconds: float, *, steps: int = 20_000) -> int | None:
    """``queryset.count()``, or None when it takes longer than ``seconds``. ``steps``:
    how many SQLite instructions run between two looks at the clock."""
    limit_ms = max(1, int(seconds * 1000))
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL statement_timeout = %s", [limit_ms])
                found = int(queryset.count())
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL statement_timeout TO DEFAULT")
                return found
        except OperationalError as exc:
            if "statement timeout" in str(exc) or "canceling statement" in str(exc):
                return None
            raise
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        raw = connection.connection
        deadline = time.monotonic() + seconds
        raw.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, steps)
        try:
            return int(queryset.count())
        except OperationalError as exc:
            if "interrupted" in str(exc):
                return None
            raise
        finally:
            raw.set_progress_handler(None, 0)
    return int(queryset.count())
