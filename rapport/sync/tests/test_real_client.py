"""A real CardDAV client (vdirsyncer, installed by `make install-dev` into
.venv/dav-client) finds the address book from the server's address alone and keeps a
local folder of cards in step with Rapport: new contacts arrive, edits arrive, deletions
and merges take the cards away."""

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
partial_sync = "ignore"

[storage rapport]
type = "carddav"
url = "{live_server.url}/"
username = "alice"
password = "{secret}"
read_only = true

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
