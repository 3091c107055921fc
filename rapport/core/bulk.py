"""Many new rows in few statements: COPY on PostgreSQL, executemany on SQLite; and many
rows changed by key the same way (``update_rows``).

For bulk writes (imports) where building a model instance per row and per field
costs more than the validation that came before it. Rows are plain mappings of
column (attribute) name to a Python value; columns left out take the field's
default. Ids are reserved first, so related rows can point at them in the same
transaction. Only call this inside ``transaction.atomic``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.db.models.expressions import RawSQL


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new primary keys for ``model`` that no other writer will use.

    PostgreSQL takes them from the table's sequence. SQLite allows one writer at a
    time (the transaction holds the write lock), so the next ids after the highest
    ever used are free; ids of deleted rows are never reused.
    """
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
        highest = int(cursor.fetchone()[0])
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        found = cursor.fetchone()
        first = max(highest, int(found[0]) if found else 0) + 1
        # Claim them now, so the next reservation in this transaction starts after.
        cursor.execute(
            "UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [first + count - 1, table]
        )
        if not found:
            cursor.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)",
                [table, first + count - 1],
            )
        return list(range(first, first + count))


def insert_rows(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (each a mapping of attribute name to value) into ``model``'s table.

    Every concrete column is written; missing ones take the field's default, and
    ``auto_now``/``auto_now_add`` times the current time. No signals, no ``save()``.
    """
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if f.attname in rows[0] or not f.primary_key]
    now = dt.datetime.now(dt.UTC)
    defaults: dict[str, Any] = {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults[f.attname] = now
        else:
            defaults[f.attname] = f.get_default()  # "" for text columns, else None
    names = [f.attname for f in fields]
    fallbacks = [defaults[name] for name in names]
    converters = [(i, conv) for i, f in enumerate(fields) if (conv := _converter(f)) is not None]
    values: list[Sequence[Any]] = []
    for row in rows:
        value = list(map(row.get, names, fallbacks))
        for i, conv in converters:
            value[i] = conv(value[i])
        values.append(value)
    write_rows(model._meta.db_table, [str(f.column) for f in fields], values)


def matching(
    queryset: models.QuerySet[Any], column: str, values: Collection[Any]
) -> Iterator[models.QuerySet[Any]]:
    """``queryset`` narrowed to rows whose ``column`` is one of ``values``, in few queries.

    PostgreSQL gets the values as one array parameter (``= ANY(%s)``): a list of
    thousands of placeholders costs more to build and quote than the lookup itself.
    SQLite gets ``IN`` lists of 500.
    """
    ordered = sorted(values)
    if not ordered:
        return
    if connection.vendor == "postgresql":
        model = queryset.model
        name = connection.ops.quote_name
        target = f"{name(model._meta.db_table)}.{name(model._meta.get_field(column).column)}"
        yield queryset.filter(
            RawSQL(f"{target} = ANY(%s)", (ordered,), output_field=models.BooleanField())
        )
        return
    for start in range(0, len(ordered), 500):
        yield queryset.filter(**{f"{column}__in": ordered[start : start + 500]})


def write_rows(table: str, columns: Sequence[str], values: Sequence[Sequence[Any]]) -> None:
    """Append ``values`` (tuples in ``columns`` order, driver-ready) to ``table``."""
    if not values:
        return
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)


def update_rows(
    model: type[models.Model], key: str, columns: Sequence[str], values: Sequence[Sequence[Any]]
) -> None:
    """Set ``columns`` (attribute names) of ``model``'s rows by ``key``: each of ``values``
    is the key, then the columns' values in order. PostgreSQL gets one statement (the
    values as arrays, unnested); SQLite one prepared statement run per row. A key no row
    has changes nothing. No signals, no ``save()``; Django's ``bulk_update`` builds a
    CASE per row and field, about a millisecond a row.
    """
    if not values:
        return
    meta = model._meta
    fields = [meta.get_field(name) for name in (key, *columns)]
    name = connection.ops.quote_name
    table = name(meta.db_table)
    names = [name(str(f.column)) for f in fields]  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = [list(column) for column in zip(*values, strict=True)]
            types = [f.db_type(connection) for f in fields]  # type: ignore[union-attr]
            unnest = ", ".join(f"%s::{t}[]" for t in types)
            sets = ", ".join(f"{n} = u.{n}" for n in names[1:])
            cursor.execute(
                f"UPDATE {table} SET {sets} FROM unnest({unnest}) AS u({', '.join(names)}) "
                f"WHERE {table}.{names[0]} = u.{names[0]}",
                arrays,
            )
            return
        sets = ", ".join(f"{n} = %s" for n in names[1:])
        cursor.executemany(
            f"UPDATE {table} SET {sets} WHERE {names[0]} = %s",
            [(*row[1:], row[0]) for row in values],
        )


def _converter(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    """How a Python value becomes what the driver writes (None: as it is)."""
    if isinstance(field, models.JSONField):
        return lambda value: json.dumps(value, cls=DjangoJSONEncoder)
    if connection.vendor == "postgresql":
        return None
    if isinstance(field, models.DateTimeField):
        return lambda value: connection.ops.adapt_datetimefield_value(value)
    if isinstance(field, models.DateField):
        return lambda value: value.isoformat() if value is not None else None
    return None


class Statistics:
    """Keeps PostgreSQL's picture of tables that a long bulk write grows up to date.

    The planner sizes a table by its last ANALYZE: one that was nearly empty then and
    holds a million rows now is read whole for every lookup by value, until autovacuum
    analyzes it (a minute or more later). ``grew`` analyzes ``models``' tables each time
    the rows written since the start have doubled, from ``first`` on: a handful of
    times per bulk write, whatever its size. Call it outside a transaction.
    """

    def __init__(self, *models: type[models.Model], first: int = 5_000) -> None:
        self.tables = [model._meta.db_table for model in models]
        self.written = 0
        self.next_at = first

    def grew(self, rows: int) -> None:
        self.written += rows
        if self.written < self.next_at or connection.vendor != "postgresql":
            return
        self.next_at = self.written * 2
        with connection.cursor() as cursor:
            for table in self.tables:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
