"""Search at scale: the shortcuts that keep it fast never lose a match."""

from __future__ import annotations

import pytest

from rapport.contacts import selectors
from rapport.contacts.services import contact_create
from rapport.core import search

pytestmark = pytest.mark.django_db


def _everyone(actor, q: str) -> tuple[list[str], int]:
    names, pages, cursor = [], 0, None
    while True:
        page = selectors.contact_list(actor=actor, q=q, cursor=cursor, limit=5)
        names += [c.display_name for c in page.items]
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            return names, pages


def test_a_search_of_only_short_words_still_pages_through_every_match(alice, monkeypatch):
    monkeypatch.setattr(search, "WINDOW", 4)
    monkeypatch.setattr(search, "SCAN_BUDGET", 8)
    for i in range(30):
        contact_create(actor=alice, data={"given_name": f"Person{i}", "family_name": "Filler"})
    wanted = [f"李 娜 {i}" for i in range(3)]
    for i, name in enumerate(wanted):
        contact_create(actor=alice, data={"given_name": name, "family_name": f"王{i}"})

    names, pages = _everyone(alice, "娜 李")

    assert sorted(names) == sorted(f"{n} 王{i}" for i, n in enumerate(wanted))
    assert pages > 1  # each request read a bounded number of rows


def test_common_and_rare_fragments_find_the_same_rows_as_a_plain_scan(alice, monkeypatch):
    monkeypatch.setattr(search, "WINDOW", 3)
    for i in range(40):
        city = "Springfield" if i % 2 else "Shelbyville"
        contact_create(
            actor=alice,
            data={
                "given_name": f"Person{i}",
                "family_name": "Rare" if i in (7, 33) else "Common",
                "addresses": [{"locality": city, "country": "US"}],
            },
        )

    springfield, _ = _everyone(alice, "springfield")
    rare, _ = _everyone(alice, "are person")

    expected = {f"Person{i} {'Rare' if i in (7, 33) else 'Common'}" for i in range(1, 40, 2)}
    assert sorted(springfield) == sorted(expected)
    assert sorted(rare) == ["Person33 Rare", "Person7 Rare"]


def test_asking_the_index_only_about_rare_trigrams_loses_no_match(alice, monkeypatch):
    from django.db import connection

    from rapport.contacts.models import Contact

    # A "large" table for the sample (PostgreSQL asks the index about rare trigrams only).
    monkeypatch.setattr(search, "SAMPLE_ROWS", 20)
    monkeypatch.setattr(search, "WINDOW", 5)
    monkeypatch.setattr(search, "_samples", {})
    titles = ["Westermann & de Beer", "Ferreira S.A.", "Anderson LLC", "Stevens and Sons"]
    for i in range(60):
        contact_create(
            actor=alice,
            data={
                "given_name": ["Ana", "Jonathan", "Beer", "Marta"][i % 4],
                "family_name": ["Westermann", "Ferreira", "Anderson", "Stevens"][i % 7 % 4],
                "job_title": titles[i % 4] if i % 5 else "",
                "emails": [{"address": f"p{i}@example.com"}],
            },
        )
    for i, name in enumerate(["Seán O'Brien", "Nora O'Brady", "Georg Orgel"]):
        contact_create(
            actor=alice,
            data={"full_name": name, "emails": [{"address": f"x{i}@acme.{'org' if i else 'de'}"}]},
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE contacts_contact")
    documents = list(Contact.objects.values_list("display_name", "search_doc"))

    for q in [
        "westermann & de beer",
        "Ferreira S.A.",
        "ferreira",
        "rmann beer",
        "anderson llc",
        "example.com ana",
        "stevens and sons",
        ".org",
        "o'br",
        "@acme.org",
        "org",
    ]:
        fragments = search.parse(q).fragments
        expected = sorted(name for name, doc in documents if all(f in doc for f in fragments))
        found, _ = _everyone(alice, q)
        assert sorted(found) == expected, q
        assert expected, q  # each query has matches to find
    if connection.vendor == "postgresql":
        assert "contacts_contact" in search._samples  # the sampled path ran


def test_short_words_are_asked_of_the_index_with_the_punctuation_around_them():
    from collections import Counter

    documents = ["georg orgel | g@acme.de", "nora o'brady | n@acme.org", "jorge | j@x.com"] * 10
    documents += ["ann lee | a@x.net"] * 300
    counts: Counter[str] = Counter()
    for document in documents:
        counts.update(search._trigrams(document))
    sample = search._TrigramSample(0.0, 1_000_000.0, len(documents), counts)

    # "%.org%" lets pg_trgm ask for a word starting with "or"; "%org%" matched every georg.
    assert search._index_pieces(sample, (".org",))[0] == [".org"]
    assert search._index_pieces(sample, ("@acme.org",))[0] == ["@acme.", ".org"]
    assert search._index_pieces(sample, ("brady",))[0] == ["brady"]
