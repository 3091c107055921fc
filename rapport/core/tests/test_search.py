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
