"""Importing calendars the ways a user does: the command line, the API and the page."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from rapport.activity.models import Interaction
from rapport.conftest import bearer

DATA = Path(__file__).parent / "data" / "calendar"
URL = "/api/v1/calendar/import"
PAGE = "/activity/calendar/"


@pytest.fixture(autouse=True)
def _wide_window(settings):
    # the sample files hold 2026's meetings: keep them inside the window whenever this runs
    settings.RAPPORT_CALENDAR_PAST_DAYS = 36500
    settings.RAPPORT_CALENDAR_FUTURE_DAYS = 36500


def upload(name: str, data: bytes | None = None) -> SimpleUploadedFile:
    raw = data if data is not None else (DATA / name).read_bytes()
    return SimpleUploadedFile(name, raw, content_type="text/calendar")


# -- command line -------------------------------------------------------------------------


def test_the_command_imports_files_and_prints_what_it_did(bob):
    out = io.StringIO()
    call_command(
        "calendar",
        "import",
        str(DATA / "dst_weekly.ics"),
        str(DATA / "google.ics"),
        "--user",
        "bob",
        stdout=out,
    )
    text = out.getvalue()
    assert "dst_weekly.ics: 2 events: 7 created, 0 updated, 0 unchanged" in text
    assert "In all: 12 created" in text
    assert Interaction.objects.filter(author=bob).count() == 12
    again = io.StringIO()
    call_command("calendar", "import", str(DATA / "dst_weekly.ics"), "--user", "bob", stdout=again)
    assert "0 created, 0 updated, 7 unchanged" in again.getvalue()
    assert Interaction.objects.count() == 12


def test_the_command_names_each_bad_event_and_fails(bob):
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("calendar", "import", str(DATA / "faults.ics"), "--user", "bob", stdout=out)
    assert "4 events failed" in str(failed.value)
    text = out.getvalue()
    assert "UID swapped@example.org (Ends before it starts): it ends" in text
    assert "UID unknown-zone@example.org (On Mars time): unknown time zone" in text
    assert Interaction.objects.count() == 3


def test_the_command_reports_a_file_it_cannot_read_and_imports_the_others(bob, tmp_path):
    text_file = tmp_path / "notes.ics"
    text_file.write_text("just some notes")
    err = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command(
            "calendar",
            "import",
            str(tmp_path / "missing.ics"),
            str(text_file),
            str(DATA / "allday_floating.ics"),
            "--user",
            "bob",
            stdout=io.StringIO(),
            stderr=err,
        )
    assert "2 files could not be read" in str(failed.value)
    assert "missing.ics: cannot read it" in err.getvalue()
    assert "notes.ics: This is not an iCalendar (.ics) file" in err.getvalue()
    assert Interaction.objects.count() == 6


def test_the_command_refuses_an_unknown_or_read_only_user(charlie):
    with pytest.raises(CommandError, match="no active user named nobody"):
        call_command("calendar", "import", str(DATA / "google.ics"), "--user", "nobody")
    with pytest.raises(CommandError, match="permission"):
        call_command("calendar", "import", str(DATA / "google.ics"), "--user", "charlie")
    assert Interaction.objects.count() == 0


def test_the_command_prints_json(bob):
    out = io.StringIO()
    call_command(
        "calendar", "import", str(DATA / "google.ics"), "--user", "bob", "--json", stdout=out
    )
    data = json.loads(out.getvalue())
    assert data["counts"]["created"] == 5
    assert data["files"][0]["counts"]["skipped"] == 1


# -- API ------------------------------------------------------------------------------------


def test_the_api_imports_an_uploaded_file_and_reports_counts_and_problems(client, bob):
    response = client.post(URL, {"file": upload("faults.ics")}, **bearer(bob))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["counts"] == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "cancelled": 0,
        "skipped": 0,
        "failed": 4,
    }
    errors = {p["uid"]: p for p in body["problems"] if p["severity"] == "error"}
    assert errors["swapped@example.org"]["summary"] == "Ends before it starts"
    assert "before it starts" in errors["swapped@example.org"]["reason"]
    again = client.post(URL, {"file": upload("faults.ics")}, **bearer(bob)).json()
    assert again["counts"]["unchanged"] == 3
    assert Interaction.objects.count() == 3


def test_the_api_refuses_a_missing_large_or_foreign_file_with_422(client, bob, settings):
    headers = bearer(bob)
    missing = client.post(URL, {}, **headers)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "file"
    settings.RAPPORT_CALENDAR_MAX_BYTES = 2000
    large = client.post(URL, {"file": upload("outlook.ics")}, **headers)
    assert large.status_code == 422
    assert "at most 1.95 KB" in large.json()["errors"][0]["message"]
    foreign = client.post(URL, {"file": upload("x.ics", b"\x89PNG\r\n\x1a\n\x00\x00")}, **headers)
    assert foreign.status_code == 422
    assert "not an iCalendar" in foreign.json()["errors"][0]["message"]
    assert Interaction.objects.count() == 0


def test_the_api_import_needs_permission(client, charlie):
    response = client.post(URL, {"file": upload("google.ics")}, **bearer(charlie))
    assert response.status_code == 403
    assert client.post(URL, {"file": upload("google.ics")}).status_code == 401
    assert Interaction.objects.count() == 0


# -- the page -------------------------------------------------------------------------------


def test_the_page_is_in_the_menu_and_imports_an_uploaded_file(bob_client):
    home = bob_client.get("/contacts/")
    assert 'href="/activity/calendar/"' in home.content.decode()
    page = bob_client.get(PAGE)
    assert page.status_code == 200
    assert "Import calendar" in page.content.decode()
    response = bob_client.post(PAGE, {"file": [upload("google.ics"), upload("outlook.ics")]})
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-count="created">11<' in text
    assert 'data-count="skipped">1 ' in text
    assert Interaction.objects.count() == 11


def test_the_page_lists_the_problems_of_bad_events(bob_client):
    response = bob_client.post(PAGE, {"file": upload("faults.ics")})
    text = response.content.decode()
    assert 'data-count="failed">4<' in text
    assert "unknown-zone@example.org" in text
    assert "unknown time zone “Mars/Olympus_Mons”" in text


def test_the_page_says_why_a_file_was_refused(bob_client):
    response = bob_client.post(PAGE, {"file": upload("contacts.csv", b"Name,Email\n")})
    assert response.status_code == 422
    assert "Nothing was imported" in response.content.decode()
    assert "not an iCalendar" in response.content.decode()


def test_the_page_is_closed_to_read_only_users(charlie_client):
    assert charlie_client.get(PAGE).status_code == 403
    response = charlie_client.post(PAGE, {"file": upload("google.ics")})
    assert response.status_code == 403
    assert Interaction.objects.count() == 0
