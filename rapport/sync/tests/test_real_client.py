"""A real CardDAV client (vdirsyncer, installed by `make install-dev` into
.venv/dav-client) finds the address book from the server's address alone and keeps a
local folder of cards in step with Rapport, both ways: new contacts, edits and
deletions made in Rapport arrive in the folder, and cards created, edited and deleted
in the folder arrive in Rapport, through its contact services."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from rapport.access.services import app_password_create
from rapport.contacts.services import contact_delete, contact_update
from rapport.contacts.tests.factories import make_contact

CLIENT = Path(__file__).resolve().parents[3] / ".venv" / "dav-client" / "bin" / "vdirsyncer"


@pytest.fixture
def vdirsyncer(live_server, transactional_db, alice, tmp_path):
    if not CLIENT.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CLIENT} is missing: `make install-dev` installs it")
        pytest.skip("vdirsyncer is not installed (make install-dev)")
    _item, secret = app_password_create(user=alice, name="vdirsyncer")
    config = tmp_path / "config"
    config.write_text(
        f"""[general]
status_path = "{tmp_path}/status/"

[pair rapport_contacts]
a = "rapport"
b = "local"
collections = ["from a"]
conflict_resolution = "a wins"

[storage rapport]
type = "carddav"
url = "{live_server.url}/"
username = "alice"
password = "{secret}"

[storage local]
type = "filesystem"
path = "{tmp_path}/cards/"
fileext = ".vcf"
"""
    )

    def run(*args: str) -> str:
        done = subprocess.run(
            [str(CLIENT), "-c", str(config), *args],
            input="y\n" * 5,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    return run, tmp_path / "cards"


def _cards(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in folder.rglob("*.vcf")}


def test_the_client_discovers_the_book_and_follows_changes(vdirsyncer, alice):
    run, folder = vdirsyncer
    ada = make_contact(
        given_name="Ada", family_name="Lovelace", emails=[{"address": "ada@example.com"}]
    )
    bob = make_contact(given_name="Bob", family_name="Miller")
    run("discover")
    run("sync")
    cards = _cards(folder)
    assert len(cards) == 2
    assert any("FN:Ada Lovelace" in c and "ada@example.com" in c for c in cards.values())

    contact_update(actor=alice, contact=ada, data={"job_title": "Analyst"}, via="api")
    contact_delete(actor=alice, contact=bob, via="api")
    grace = make_contact(given_name="Grace", family_name="Hopper")
    run("sync")
    cards = _cards(folder)
    assert len(cards) == 2
    assert not any("Bob Miller" in c for c in cards.values())
    assert any("TITLE:Analyst" in c for c in cards.values())
    assert any(grace.display_name in c for c in cards.values())


def test_cards_made_edited_and_deleted_by_the_client_arrive_in_rapport(vdirsyncer, alice):
    from rapport.contacts.models import Contact

    run, folder = vdirsyncer
    make_contact(given_name="Bob", family_name="Miller")
    run("discover")
    run("sync")
    folder_of_book = next(folder.iterdir())
    new = folder_of_book / "grace.vcf"
    new.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:grace-from-the-client\r\nFN:Grace Hopper\r\n"
        "N:Hopper;Grace;;;\r\nTEL;TYPE=CELL:+1 415 555 0100\r\nX-CLIENT-NOTE:keep me\r\n"
        "END:VCARD\r\n"
    )
    run("sync")
    grace = Contact.objects.get(family_name="Hopper")
    assert [p.e164 for p in grace.phones.all()] == ["+14155550100"]

    new.write_text(
        new.read_text()
        .replace("FN:Grace Hopper", "FN:Grace B. Hopper")
        .replace("N:Hopper;Grace;;;", "N:Hopper;Grace;B.;;")
    )
    run("sync")
    grace.refresh_from_db()
    assert grace.middle_name == "B."
    [bob_card] = [p for p in folder_of_book.iterdir() if "Bob Miller" in p.read_text()]
    bob_card.unlink()
    run("sync")
    assert not Contact.objects.filter(family_name="Miller").exists()
    run("sync")  # nothing left to do, and nothing lost on the way back
    text = next(p for p in folder_of_book.iterdir() if "Hopper" in p.read_text()).read_text()
    assert "X-CLIENT-NOTE:keep me" in text and "UID:grace-from-the-client" in text
