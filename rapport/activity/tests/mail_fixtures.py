"""What the mail tests share: the sample files, the team's users with their addresses,
and the contacts the samples write to."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.contacts.services import contact_create

DATA = Path(__file__).parent / "data" / "mail"


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.fixture
def team(alice, bob):
    """alice@rapport.test is Alice's address (the samples' "Alice Archer")."""
    alice.email = "alice@rapport.test"
    alice.save()
    bob.email = "bob@rapport.test"
    bob.save()
    return alice


@pytest.fixture
def known(team):
    """The contacts the samples correspond with, by short name."""
    people = {
        "dan": ("Dan Brooks", "dan.brooks@northwind-traders.com"),
        "juergen": ("Jürgen Müller", "juergen.mueller@bergmann-technik.de"),
        "marie": ("Marie Dubois", "marie.dubois@atelier-lumiere.fr"),
        "ivan": ("Иван Петров", "ivan.petrov@severstal-trade.ru"),
        "tanaka": ("田中 太郎", "tanaka@sakura-shoji.co.jp"),
        "wang": ("王伟", "wang.wei@huaxin-tech.cn"),
        "carlos": ("Carlos García", "carlos.garcia@sol-y-mar.es"),
        "sanne": ("Sanne de Vries", "sanne@polderdata.nl"),
    }
    return {
        key: contact_create(actor=team, data={"full_name": name, "emails": [{"address": email}]})
        for key, (name, email) in people.items()
    }
