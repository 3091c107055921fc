"""Database text search behind one interface.

SQLite: an FTS5 table with the trigram tokenizer mirrors each ``search_doc`` column
(kept in step by triggers). PostgreSQL: a pg_trgm GIN index on ``search_doc``. Both
answer "which rows contain every fragment", and both answer prefix lookups on indexed
sort keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from rapport.core.text import digits, fold

_PHONE_LIKE = re.compile(r"^[+\d\s().\-/]+$")
MIN_FRAGMENT = 3

# Tables that carry a search_doc column and, on SQLite, an FTS5 mirror named <table>_fts.
SEARCHABLE_TABLES = ("contacts_contact", "contacts_organization")


@dataclass(frozen=True)
class Query:
    """A search box entry, folded and split into the fragments every match must contain."""

    text: str
    fragments: tuple[str, ...]

    @property
    def indexable(self) -> tuple[str, ...]:
        return tuple(f for f in self.fragments if len(f) >= MIN_FRAGMENT)


def parse(raw: str) -> Query:
    text = (raw or "").replace("\x00", "").strip()[:200]
    if _PHONE_LIKE.match(text) and len(digits(text)) >= MIN_FRAGMENT:
        return Query(text=digits(text), fragments=(digits(text),))
    folded = fold(text)
    return Query(text=folded, fragments=tuple(dict.fromkeys(folded.split())))


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_all(qs: QuerySet, query: Query) -> QuerySet:
    """Rows whose search_doc contains every fragment of ``query``."""
    if not query.fragments:
        return qs
    table = qs.model._meta.db_table
    indexable = query.indexable
    if connection.vendor == "sqlite" and indexable:
        expression = " AND ".join('"' + f.replace('"', '""') + '"' for f in indexable)
        qs = qs.filter(
            pk__in=RawSQL(f"SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH %s", [expression])
        )
        rest = [f for f in query.fragments if len(f) < MIN_FRAGMENT]
    else:
        rest = list(query.fragments)
    for fragment in rest:
        qs = qs.filter(search_doc__contains=fragment)
    return qs


def starts_with(field: str, prefix: str) -> Q:
    """An index-friendly prefix test on a folded (lower-case) column."""
    if not prefix:
        return Q()
    if connection.vendor == "sqlite":
        # SQLite's LIKE is case-insensitive and skips the index; a range uses it.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return Q(**{f"{field}__gte": prefix, f"{field}__lt": upper})
    return Q(**{f"{field}__startswith": prefix})


def install_sql(vendor: str) -> list[str]:
    """DDL that creates the search structures for ``vendor``."""
    statements: list[str] = []
    if vendor == "sqlite":
        for table in SEARCHABLE_TABLES:
            fts = f"{table}_fts"
            statements += [
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(search_doc, content='{table}', "
                f"content_rowid='id', tokenize='trigram')",
                f"CREATE TRIGGER IF NOT EXISTS {table}_ai AFTER INSERT ON {table} BEGIN "
                f"INSERT INTO {fts}(rowid, search_doc) VALUES (new.id, new.search_doc); END",
                f"CREATE TRIGGER IF NOT EXISTS {table}_ad AFTER DELETE ON {table} BEGIN "
                f"INSERT INTO {fts}({fts}, rowid, search_doc) VALUES ('delete', old.id, old.search_doc); END",
                f"CREATE TRIGGER IF NOT EXISTS {table}_au AFTER UPDATE OF search_doc ON {table} BEGIN "
                f"INSERT INTO {fts}({fts}, rowid, search_doc) VALUES ('delete', old.id, old.search_doc); "
                f"INSERT INTO {fts}(rowid, search_doc) VALUES (new.id, new.search_doc); END",
                f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
            ]
    elif vendor == "postgresql":
        statements.append("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table in SEARCHABLE_TABLES:
            statements += [
                f"CREATE INDEX IF NOT EXISTS {table}_doc_trgm ON {table} USING gin (search_doc gin_trgm_ops)",
                f"CREATE INDEX IF NOT EXISTS {table}_sort_prefix ON {table} (sort_name text_pattern_ops, id)",
            ]
        statements.append(
            "CREATE INDEX IF NOT EXISTS contacts_contact_family_prefix "
            "ON contacts_contact (family_key text_pattern_ops)"
        )
    return statements


def uninstall_sql(vendor: str) -> list[str]:
    statements: list[str] = []
    for table in SEARCHABLE_TABLES:
        if vendor == "sqlite":
            statements += [f"DROP TRIGGER IF EXISTS {table}_{s}" for s in ("ai", "ad", "au")]
            statements.append(f"DROP TABLE IF EXISTS {table}_fts")
        elif vendor == "postgresql":
            statements += [
                f"DROP INDEX IF EXISTS {table}_doc_trgm",
                f"DROP INDEX IF EXISTS {table}_sort_prefix",
            ]
    if vendor == "postgresql":
        statements.append("DROP INDEX IF EXISTS contacts_contact_family_prefix")
    return statements
