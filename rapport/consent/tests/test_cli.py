"""`rapport consent …` from a terminal: recording through the same services, reading a
contact's history, and the chain check that fails loudly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from rapport.consent.models import ConsentEvent
from rapport.consent.tests.support import record

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("consent", *args, stdout=out)
    return out.getvalue()


def test_grant_and_withdraw_then_read_the_history(bob, ann, newsletter):
    said = _run(
        "grant",
        str(ann.pk),
        "newsletter",
        "--channel",
        "email",
        "--method",
        "paper",
        "--reference",
        "Form 2026-114",
        "--given-at",
        "2026-02-03T10:00:00Z",
        "--as",
        "bob",
    )
    assert said.strip() == "Recorded #1: Granted (newsletter)."
    _run("withdraw", str(ann.pk), "newsletter", "--channel", "sms", "--as", "bob")
    _run("record", str(ann.pk), "--action", "object_marketing", "--method", "email", "--as", "bob")
    grant = ConsentEvent.objects.get(seq=1)
    assert (grant.source, grant.method, grant.source_ref) == ("user", "paper", "bob (command line)")
    assert grant.reference_sealed and "2026-114" not in grant.reference_sealed
    history = _run("history", str(ann.pk), "--as", "bob")
    assert "Objects to direct marketing since" in history
    assert "Newsletter (newsletter): Not allowed" in history  # marketing objection
    assert "#1 2026-02-03 10:00 Granted newsletter · Email · On paper" in history
    assert "ref. Form 2026-114" in history
    data = json.loads(_run("history", str(ann.pk), "--json", "--as", "bob"))
    assert [e["action"] for e in data["history"]] == ["object_marketing", "withdraw", "grant"]


def test_bad_input_on_the_command_line_names_the_field_and_records_nothing(bob, ann, newsletter):
    with pytest.raises(CommandError, match="Purpose: There is no purpose “nope”"):
        _run("grant", str(ann.pk), "nope", "--as", "bob")
    with pytest.raises(CommandError, match="There is no contact with id 999999"):
        _run("grant", "999999", "newsletter", "--as", "bob")
    with pytest.raises(CommandError, match="permission"):
        _run("verify", "--as", "bob")  # checking the whole ledger is for admins
    assert not ConsentEvent.objects.exists()


def test_admins_define_and_change_purposes_from_the_command_line(alice, bob):
    from rapport.consent.models import ConsentText, Purpose

    said = _run(
        "purpose-add", "events", "--name", "Event invitations", "--basis", "consent",
        "--retention-days", "365", "--marketing", "--category", "Name", "--category", "Email",
        "--text", "Invite me to your events.", "--as", "alice",
    )  # fmt: skip
    assert said.strip() == "Created events: Event invitations."
    _run("purpose-set", "events", "--text", "Invite me to events near me.", "--as", "alice")
    purpose = Purpose.objects.get(key="events")
    assert purpose.is_marketing and purpose.data_categories == ["Name", "Email"]
    assert ConsentText.objects.filter(purpose=purpose).count() == 2
    assert "events: Event invitations (Consent) · marketing" in _run("purposes", "--as", "bob")
    with pytest.raises(CommandError, match="Lawful basis: Unknown lawful basis"):
        _run("purpose-add", "other", "--name", "Other", "--basis", "whim", "--as", "alice")
    with pytest.raises(CommandError, match="permission"):
        _run("purpose-set", "events", "--archived", "--as", "bob")
    assert Purpose.objects.get(key="events").archived_at is None


def test_verify_says_the_ledger_holds(alice, bob, ann, newsletter):
    record(bob, ann, "grant")
    record(bob, ann, "withdraw")
    assert "2 rows checked" in _run("verify", "--as", "alice")
    assert json.loads(_run("verify", "--json", "--as", "alice"))["ok"] is True


@pytest.mark.slow
def test_appends_from_several_processes_on_one_sqlite_file_form_one_chain(tmp_path: Path):
    """SQLite lets one writer in at a time (immediate transactions); four processes
    appending at once must still leave one unbroken chain with no seq twice."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'chain.sqlite3'}",
        "RAPPORT_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "rapport.settings",
    }
    env.pop("RAPPORT_TEST_SQLITE", None)
    subprocess.run([sys.executable, "-m", "rapport.cli", "migrate", "-v", "0"], env=env, check=True)
    setup = (
        "import django; django.setup()\n"
        "from rapport.access.models import User\n"
        "from rapport.consent.tests.support import make_purpose\n"
        "from rapport.contacts.tests.factories import make_contact\n"
        "u = User.objects.create_user(username='admin', password='x', role='admin')\n"
        "make_purpose(u, 'newsletter')\n"
        "print(make_contact(u).pk)\n"
    )
    contact = subprocess.run(
        [sys.executable, "-c", setup], env=env, check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    writer = (
        "import sys, django; django.setup()\n"
        "from rapport.access.models import User\n"
        "from rapport.consent.services import consent_record\n"
        "u = User.objects.get(username='admin')\n"
        "for i in range(10):\n"
        f"    consent_record(actor=u, contact_id={contact}, data={{'action': 'grant' if i % 2 else 'withdraw',"
        " 'purpose': 'newsletter', 'method': 'verbal', 'note': sys.argv[1] + str(i)})\n"
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", writer, f"w{n}-"], env=env, stderr=subprocess.PIPE)
        for n in range(4)
    ]
    for process in writers:
        assert process.wait(timeout=300) == 0, process.stderr.read() if process.stderr else ""
    verify = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "consent", "verify", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    result = json.loads(verify.stdout)
    assert verify.returncode == 0 and result["ok"] and result["checked"] == 40
