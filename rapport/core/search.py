"""Database text search behind one interface.

SQLite: an FTS5 table with the trigram tokenizer mirrors each ``search_doc`` column
(kept in step by triggers). PostgreSQL: a pg_trgm GIN index on ``search_doc``. Both
answer "which rows contain every fragment", and both answer prefix lookups on indexed
sort keys.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

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
    """An index-friendly prefix test on a folded (lower-case) sort key.

    A range rather than LIKE: SQLite's LIKE skips indexes, and on PostgreSQL the sort
    keys use the "C" collation (migration 0003), so the same range walks the same
    b-tree that ORDER BY uses, in the same byte order as SQLite.
    """
    if not prefix:
        return Q()
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": upper})


# Rows read in id order first; later windows are sized from the matches seen so far,
# up to MAX_WINDOW.
WINDOW = 2_000
MAX_WINDOW = 50_000
# Reading a row in id order costs about a fifth of fetching one trigram-index match
# (a random heap access plus recheck), measured on PostgreSQL 15 once the index is asked
# only about rare trigrams (see PIECES; with every trigram asked it was about a tenth).
# On the benchmark's search mix 5 rather than 10 cut the slowest lookups from 37-56 ms
# to 27-31 ms ("bond", "ahma", "ceuta") at the same median.
INDEX_FETCH_COST = 5
# Rows one request may read when no fragment can use an index (only one- and two-letter
# words, as in "李 娜"); the rest is reached through the cursor. Reading 10,000 rows
# costs PostgreSQL 4-8 ms; 50,000 took 25-45 ms, which alone broke the 50 ms target.
SCAN_BUDGET = 10_000
# What the trigram index is asked about. Each trigram asked costs a walk of its posting
# list, and common ones ("ann", "man", "com" from every .com address) made the index
# scan the slow part of a search: westermann + beer took 23 ms with every trigram, 2 ms
# with the rarest. So each word of the query is asked whole when it is short (its
# trigrams together are selective: ferreira), by its PIECES rarest trigrams when longer
# than LONG_WORD (westermann, jonathanmouth), and not at all when even its rarest
# trigram is in more than COMMON of all documents ("com", "and"); the full fragments
# are then checked on the rows the index returns. How common a trigram is comes from a
# sample of SAMPLE_ROWS search documents, taken per process and table and renewed after
# SAMPLE_MAX_AGE seconds (about 0.4 s to build at 1,000,000 contacts).
PIECES = 3
LONG_WORD = 8
COMMON = 0.1
SAMPLE_ROWS = 10_000
SAMPLE_MAX_AGE = 3600.0
# How many of the sampled documents estimate how common a whole fragment is (the
# choice between the index and reading in id order), counted per search.
TEXT_SAMPLE = 2_000
_ALNUM = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class _TrigramSample:
    taken: float
    table_rows: float
    documents: int
    counts: Counter[str]
    text: str = ""  # the first TEXT_SAMPLE sampled documents, one per line
    text_documents: int = 0

    def rows_with(self, trigram: str) -> float:
        """Estimated rows of the table whose document contains ``trigram``."""
        return self.counts[trigram] / max(self.documents, 1) * self.table_rows

    def rows_containing(self, fragments: list[str] | tuple[str, ...]) -> float:
        """Estimated rows of the table whose document contains every fragment: the
        rows holding the least common one (an upper bound; counted in C, about 0.3 ms
        a fragment)."""
        hits = min((self.text.count(f) for f in fragments), default=0)
        return hits / max(self.text_documents, 1) * self.table_rows


_samples: dict[str, _TrigramSample] = {}


def _trigrams(text: str) -> set[str]:
    """The trigrams pg_trgm indexes inside words (without the padded word edges)."""
    return {w[i : i + 3] for w in _ALNUM.findall(text) for i in range(len(w) - 2)}


def _trigram_sample(cursor: Any, table: str) -> _TrigramSample | None:
    """None for a table of fewer than SAMPLE_ROWS rows (or never analyzed): every path
    is fast there, and the plain fragments are asked of the index."""
    sample = _samples.get(table)
    if sample is not None and time.monotonic() - sample.taken < SAMPLE_MAX_AGE:
        return sample
    cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
    table_rows = float(cursor.fetchone()[0])  # -1 before the first ANALYZE
    if table_rows < SAMPLE_ROWS:
        return None
    percent = min(100.0, 120.0 * SAMPLE_ROWS / table_rows)
    cursor.execute(
        f"SELECT search_doc FROM {table} TABLESAMPLE SYSTEM (%s) LIMIT %s", [percent, SAMPLE_ROWS]
    )
    documents = [row[0] for row in cursor.fetchall()]
    counts: Counter[str] = Counter()
    for document in documents:
        counts.update(_trigrams(document))
    sample = _TrigramSample(
        time.monotonic(),
        table_rows,
        len(documents),
        counts,
        "\n".join(documents[:TEXT_SAMPLE]),
        len(documents[:TEXT_SAMPLE]),
    )
    _samples[table] = sample
    return sample


def _index_pieces(sample: _TrigramSample, fragments: tuple[str, ...]) -> tuple[list[str], float]:
    """What to ask the trigram index (see LONG_WORD), and the estimated number of rows
    containing the rarest trigram asked (an upper bound of the rows it returns)."""
    pieces: list[str] = []
    rarest = sample.table_rows
    words = {
        m.group(): fragment[max(0, m.start() - 1) : m.end() + 1]
        for fragment in fragments
        for m in _ALNUM.finditer(fragment)
        if len(m.group()) >= 3
    }
    for word, in_context in words.items():
        grams = sorted(_trigrams(word), key=lambda t: (sample.counts[t], t))
        if sample.counts[grams[0]] > COMMON * sample.documents:
            continue
        # A short word is asked with the punctuation around it: pg_trgm then also asks
        # for the word's edge ("%.org%" wants a word starting with "or"), far rarer than
        # "org" anywhere (georg, jorge). With no match in a million rows, ".org" cost
        # 208 ms through "%org%", a few through "%.org%".
        pieces += grams[:PIECES] if len(word) > LONG_WORD else [in_context]
        rarest = min(rarest, sample.rows_with(grams[0]))
    return pieces, rarest


def _through_index(
    cursor: Any, table: str, query: Query, pieces: list[str], *, after_id: int, limit: int
) -> list[int]:
    """Every match above ``after_id`` through the trigram index, the first ``limit`` by id.

    The index is asked about ``pieces`` (or, without any, the fragments themselves);
    strpos() is the same test as LIKE '%…%' but the planner cannot hand it to the index,
    and "id + 0" keeps it from walking the primary key instead.
    """
    asked = pieces or list(query.indexable)
    conditions = ["search_doc LIKE %s"] * len(asked)
    conditions += ["strpos(search_doc, %s) > 0"] * len(query.fragments)
    cursor.execute(
        f"SELECT id FROM {table} WHERE id > %s AND {' AND '.join(conditions)} "
        "ORDER BY id + 0 LIMIT %s",
        [after_id, *["%" + _like_escape(p) + "%" for p in asked], *query.fragments, limit],
    )
    return [row[0] for row in cursor.fetchall()]


@dataclass(frozen=True)
class Matches:
    """Matching ids in ascending order. ``resume_after`` is set when the search stopped
    early (SCAN_BUDGET) before finding enough: continue after that id, not at the last id."""

    ids: list[int]
    resume_after: int | None = None


def matching_ids(model: Any, query: Query, *, after_id: int, limit: int) -> Matches:
    """Up to ``limit`` ids above ``after_id`` whose search_doc contains every fragment, ascending.

    Fewer than ``limit`` only when no more rows match, or when ``resume_after`` says where
    to go on. The cost stays small whatever the fragment: SQLite's FTS5 index yields
    matches in rowid order and stops at ``limit``. PostgreSQL's trigram index cannot
    return rows in id order, and fetching every match of a common fragment ("mar") is
    slow, so a first WINDOW of rows is read in id order. The matches in it estimate how
    common the fragments are: the rest comes from further windows (sized to finish) when
    that is cheaper than fetching every match through the trigram index, else from the
    index (rare fragments: an exact email, a city).
    """
    table = model._meta.db_table
    indexable = query.indexable
    short = [f for f in query.fragments if len(f) < MIN_FRAGMENT]
    likes = ["%" + _like_escape(f) + "%" for f in short]
    postgres = connection.vendor == "postgresql"
    escape = "" if postgres else " ESCAPE '\\'"
    with connection.cursor() as cursor:
        if not postgres and indexable:
            expression = " AND ".join('"' + f.replace('"', '""') + '"' for f in indexable)
            extra = "".join(f" AND t.search_doc LIKE %s{escape}" for _ in likes)
            cursor.execute(
                f"SELECT f.rowid FROM {table}_fts f JOIN {table} t ON t.id = f.rowid "
                f"WHERE {table}_fts MATCH %s AND f.rowid > %s{extra} ORDER BY f.rowid LIMIT %s",
                [expression, after_id, *likes, limit],
            )
            return Matches([row[0] for row in cursor.fetchall()])
        pieces: list[str] = []
        if indexable:
            sample = _trigram_sample(cursor, table)
            pieces, rarest = _index_pieces(sample, indexable) if sample else ([], 0.0)
            if sample and pieces:
                # Fetching through the index costs about INDEX_FETCH_COST per row it
                # returns (those holding what it is asked); reading in id order costs
                # about one per row read, and filling a page from the matches spread over
                # the table means reading limit * table_rows / matches rows.
                through_index = INDEX_FETCH_COST * rarest
                matches = sample.rows_containing(query.fragments)
                in_id_order = max(WINDOW, limit * sample.table_rows / max(matches, 1.0))
                use_index = through_index < in_id_order
            else:
                use_index = bool(pieces) and rarest * INDEX_FETCH_COST < WINDOW
            if use_index:
                # Rare enough that fetching every match costs less than reading in id
                # order until a page is full.
                return Matches(
                    _through_index(cursor, table, query, pieces, after_id=after_id, limit=limit)
                )
        everything = ["%" + _like_escape(f) + "%" for f in query.fragments]
        where = " AND ".join([f"search_doc LIKE %s{escape}"] * len(everything)) or "TRUE"
        found: list[int] = []
        read_total = 0
        # Without an indexable fragment there is nothing to choose: read the budget at once.
        size = WINDOW if indexable else SCAN_BUDGET
        while len(found) < limit:
            window = f"SELECT id{{}} FROM {table} WHERE id > %s ORDER BY id LIMIT {size}"
            cursor.execute(
                "SELECT e.n, e.last, e.top, m.id FROM (SELECT COUNT(*) AS n, MAX(id) AS last, "
                f"(SELECT MAX(id) FROM {table}) AS top FROM ({window.format('')}) x) e "
                f"LEFT JOIN (SELECT id FROM ({window.format(', search_doc')}) w "
                f"WHERE {where} ORDER BY id LIMIT %s) m ON 1 = 1 ORDER BY m.id",
                [after_id, after_id, *everything, limit - len(found)],
            )
            rows = cursor.fetchall()
            found += [row[3] for row in rows if row[3] is not None]
            read, window_end, top = rows[0][0], rows[0][1], rows[0][2]
            read_total += read
            if len(found) >= limit or read < size:
                break  # enough, or read to the end of the table
            after_id = window_end
            if not indexable and read_total >= SCAN_BUDGET:
                return Matches(found, resume_after=after_id)
            density = len(found) / read_total
            needed = limit - len(found)
            rows_to_read = needed / density if density else float("inf")
            if indexable and rows_to_read > INDEX_FETCH_COST * density * (top - after_id):
                # The fragments are rare enough that fetching all their matches through
                # the trigram index is cheaper.
                found += _through_index(
                    cursor, table, query, pieces, after_id=after_id, limit=needed
                )
                break
            size = int(min(MAX_WINDOW, max(WINDOW, rows_to_read * 1.5)))
            if not indexable:
                size = min(size, SCAN_BUDGET - read_total)
        return Matches(found)


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
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {table}_doc_trgm ON {table} USING gin (search_doc gin_trgm_ops)"
            )
        # Prefix lookups on sort_name and family_key use the plain b-trees once those
        # columns have the "C" collation (migration 0003); no pattern_ops indexes needed.
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


def compact_sql(vendor: str) -> list[str]:
    """Statements that rewrite the text indexes without what was deleted from them.

    SQLite's FTS5 marks a deleted document and keeps its trigrams in older segments
    until they are merged; "optimize" merges them all, so an erased person's text is
    gone from the index file too (run after an erasure, in the background: it reads the
    whole index). PostgreSQL drops dead index entries when it vacuums the table
    (autovacuum does; nothing to run here).
    """
    if vendor != "sqlite":
        return []
    return [f"INSERT INTO {t}_fts({t}_fts) VALUES ('optimize')" for t in SEARCHABLE_TABLES]
