"""The search index's part in privacy requests (see ``rapport.core.subjects``).

A contact's ``search_doc`` (and on SQLite its FTS5 mirror, kept in step by triggers)
holds their names, addresses, numbers and places in folded form. The provider empties
it before the contact row goes (or is anonymised), so the index forgets the text at
once; the privacy app then has the index compacted in the background
(``search.compact_sql``).
"""

from __future__ import annotations

from django.db import connection

from rapport.core.subjects import Counts, DataCategory, Exported, Subject, SubjectProvider

_TABLE = "contacts_contact"


def _documents(subject: Subject) -> list[tuple[int, str]]:
    marks = ", ".join(["%s"] * len(subject.contact_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, search_doc FROM {_TABLE} WHERE id IN ({marks}) AND search_doc <> ''",
            list(subject.contact_ids),
        )
        return [(row[0], row[1]) for row in cursor.fetchall()]


def export(subject: Subject) -> Exported:
    return Exported(
        sections={
            "Search index text": [
                {"contact": pk, "indexed text": text} for pk, text in _documents(subject)
            ]
        }
    )


def preview(subject: Subject) -> Counts:
    return {"search index entries": len(_documents(subject))}


def erase(subject: Subject) -> Counts:
    counts = preview(subject)
    marks = ", ".join(["%s"] * len(subject.contact_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET search_doc = '' WHERE id IN ({marks})", list(subject.contact_ids)
        )
    return counts


PROVIDER = SubjectProvider(
    name="search",
    label="Search index",
    export=export,
    preview=preview,
    erase=erase,
    order=900,
    categories=(
        DataCategory(
            "Search text",
            "names, email addresses, numbers, places and tags in folded form",
            "contacts_contact.search_doc and its full-text index",
        ),
    ),
)
