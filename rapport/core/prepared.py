"""Reads on a hot path whose plan is worth keeping, and several reads in one round trip.

On PostgreSQL, planning a query with a handful of joins can cost more than running it
(the contact gate's main read: 1.4 ms of planning for 0.3 ms of work), and each round
trip to the server costs about 0.15 ms on loopback. ``fetch_all`` runs a read as a
prepared statement on the request's own connection and transaction: psycopg prepares
it on first use and keeps the plan for the life of the connection (up to
``prepared_max`` statements, least recently used dropped first). ``fetch_together``
sends several independent reads at once (psycopg's pipeline mode) and waits once.
Elsewhere (SQLite, in process) both are plain queries, one after the other.

Write ``%s`` placeholders as usual. A list of ids goes through ``any_of`` and
``id_params``: on PostgreSQL one id is a plain parameter (the planner then settles on
one generic plan) and several are one array parameter, so one statement serves any
number of ids.

Behind PgBouncer in transaction mode, prepared statements need PgBouncer 1.21 or later
with ``max_prepared_statements`` set (see the README's deployment section).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.db import connection

Rows = list[tuple[Any, ...]]
Statement = tuple[str, Sequence[Any]]


def any_of(column: str, count: int) -> str:
    """``column`` is one of ``count`` ids; pass the ids through ``id_params``."""
    if connection.vendor == "postgresql":
        return f"{column} = %s" if count == 1 else f"{column} = ANY(%s::bigint[])"
    return f"{column} IN ({', '.join(['%s'] * count)})"


def id_params(ids: Sequence[int]) -> list[Any]:
    """The parameters ``any_of`` expects for ``ids``."""
    if connection.vendor == "postgresql" and len(ids) != 1:
        return [list(ids)]
    return list(ids)


def fetch_all(sql: str, params: Sequence[Any]) -> Rows:
    """Every row of ``sql``: a prepared statement on PostgreSQL, a plain query elsewhere."""
    return fetch_together([(sql, params)])[0]


def fetch_together(statements: Sequence[Statement]) -> list[Rows]:
    """The rows of each statement, in order. On PostgreSQL they are prepared and sent in
    one round trip, so none may depend on another's result. Errors are Django's
    database errors, as from any cursor; each query is logged where Django logs queries
    (``connection.queries``, test query counts)."""
    if connection.vendor != "postgresql":
        results = []
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                results.append(cursor.fetchall())
        return results

    import psycopg

    connection.ensure_connection()
    connection.validate_thread_sharing()
    connection.validate_no_broken_transaction()
    started = time.monotonic()
    raw = connection.connection
    with connection.wrap_database_errors:
        cursors: list[psycopg.Cursor[Any]] = [psycopg.Cursor(raw) for _ in statements]
        try:
            if len(statements) == 1:
                cursors[0].execute(statements[0][0], statements[0][1], prepare=True)
            else:
                with raw.pipeline():
                    for pg_cursor, (sql, params) in zip(cursors, statements, strict=True):
                        pg_cursor.execute(sql, params, prepare=True)
            results = [pg_cursor.fetchall() for pg_cursor in cursors]
        finally:
            for pg_cursor in cursors:
                pg_cursor.close()
    if connection.queries_logged:
        took = f"{time.monotonic() - started:.3f}"
        for sql, params in statements:
            connection.queries_log.append({"sql": f"{sql} -- {list(params)!r}", "time": took})
    return results
