"""Mail files imported through every door: the command line, the API, the upload page;
mbox quirks; a run killed half-way resumes without duplicates or gaps."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from rapport.activity.mail import imports
from rapport.activity.mail.mbox import read_mbox
from rapport.activity.models import Interaction, MailImport
from rapport.activity.tests import mail_fixtures
from rapport.activity.tests.mail_fixtures import DATA, sample
from rapport.conftest import bearer
from rapport.core import jobs

known = mail_fixtures.known
team = mail_fixtures.team

pytestmark = pytest.mark.django_db


def test_mbox_quirks_are_read_message_by_message():
    for name in ("mailbox.mbox", "mailbox-crlf.mbox"):
        with (DATA / name).open("rb") as handle:
            messages = list(read_mbox(handle))
        assert [m.number for m in messages] == [1, 2, 3, 4, 5, 6]
        shipping = messages[1].raw.replace(b"\r\n", b"\n")
        # ">From " unquoted once; a "From " body line that is no separator stays in the body
        assert b"\nFrom the warehouse" in shipping and b"\n>From here on" in shipping
        assert b"\nFrom now on, ship on Fridays." in shipping
    with (DATA / "headless.mbox").open("rb") as handle:
        messages = list(read_mbox(handle))
    assert len(messages) == 2 and messages[0].raw.startswith(b"From: Alice Archer")


def test_reading_resumes_at_any_message_offset():
    with (DATA / "mailbox.mbox").open("rb") as handle:
        everything = list(read_mbox(handle))
        rest = list(read_mbox(handle, offset=everything[2].end, number=3))
    assert [m.raw for m in rest] == [m.raw for m in everything[3:]]
    assert [m.number for m in rest] == [4, 5, 6]


def test_the_cli_imports_files_prints_problems_and_fails_when_some_failed(known, team):
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 message could not be logged"):
        call_command(
            "mail",
            "import",
            str(DATA / "mailbox.mbox"),
            str(DATA / "ru-koi8-r.eml"),
            "--as",
            "alice",
            "--no-progress",
            stdout=out,
            stderr=io.StringIO(),
        )
    text = out.getvalue()
    assert (
        "6 messages" in text and "4 stored" in text and "1 skipped" in text and "1 failed" in text
    )
    assert "skipped 1: mailing list (List-Id)" in text
    assert "mailbox.mbox, message 3: This is binary data, not a mail message." in text
    assert Interaction.objects.count() == 5
    # again: nothing new, the same problems
    with pytest.raises(CommandError):
        call_command(
            "mail",
            "import",
            str(DATA / "mailbox.mbox"),
            "--as",
            "alice",
            "--no-progress",
            stdout=out,
            stderr=io.StringIO(),
        )
    assert Interaction.objects.count() == 5


def test_the_cli_succeeds_when_every_message_landed_or_was_skipped(known, team):
    out = io.StringIO()
    call_command(
        "mail", "import", str(DATA / "headless.mbox"), "--as", "alice", "--no-progress", stdout=out
    )
    assert "2 stored" in out.getvalue()


def test_mail_sync_says_when_imap_is_not_there(team):
    out = io.StringIO()
    call_command("mail", "sync", "--as", "alice", stdout=out)
    text = out.getvalue()
    assert text.strip() == "IMAP sync is not available" or text  # the IMAP package answers instead


def test_the_api_takes_an_upload_and_reports_the_import(
    known, team, client, django_capture_on_commit_callbacks
):
    headers = bearer(team)
    with (
        (DATA / "mailbox.mbox").open("rb") as handle,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post("/api/v1/mail/import", {"file": handle}, **headers)
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    body = client.get(f"/api/v1/mail/imports/{job_id}", **headers).json()
    assert body["status"] == "done" and body["processed"] == 6
    assert body["counts"] == {"stored": 4, "joined": 0, "skipped": 1, "failed": 1}
    assert body["problems"][0]["number"] == 3 and "binary" in body["problems"][0]["reason"]
    assert response["Location"].endswith(f"/mail/imports/{job_id}")


def test_the_api_refuses_an_empty_or_binary_file_and_readers(team, charlie, client):
    response = client.post("/api/v1/mail/import", {"file": io.BytesIO(b"")}, **bearer(team))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "file"
    png = io.BytesIO(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    png.name = "photo.png"
    response = client.post("/api/v1/mail/import", {"file": png}, **bearer(team))
    assert response.status_code == 422
    response = client.post(
        "/api/v1/mail/import", {"file": io.BytesIO(sample("ru-koi8-r.eml"))}, **bearer(charlie)
    )
    assert response.status_code == 403
    assert not MailImport.objects.exists()


def test_the_upload_page_imports_and_shows_the_outcome(
    known, team, django_capture_on_commit_callbacks
):
    from django.test import Client

    browser = Client()
    browser.force_login(team)
    page = browser.get(reverse("activity:mail_import"))
    assert page.status_code == 200 and b'type="file"' in page.content
    with (
        (DATA / "mailbox-crlf.mbox").open("rb") as handle,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = browser.post(reverse("activity:mail_import"), {"file": handle})
    assert response.status_code == 302
    response = browser.get(response["Location"])
    text = response.content.decode()
    assert "mailing list (List-Id)" in text and "This is binary data" in text
    assert Interaction.objects.count() == 4


def test_an_import_killed_mid_file_resumes_without_duplicates_or_gaps(known, team, settings):
    job = imports.mail_import_from_path(actor=team, path=DATA / "mailbox.mbox")
    seen = []

    def die_after_first_chunk(current: MailImport) -> None:
        seen.append(current.processed)
        raise SystemExit("killed")  # the worker dies right after a chunk committed

    with pytest.raises(SystemExit):
        imports.mail_import_run(job_id=job.pk, progress=die_after_first_chunk, chunk=2)
    job.refresh_from_db()
    assert (job.status, job.processed, job.stored_count) == ("running", 2, 2)
    # nobody hears from it: recovery marks it interrupted, and it carries on from there
    MailImport.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    jobs.jobs_recover()
    job.refresh_from_db()
    assert job.status == "interrupted" and "after 2 messages" in job.error
    job = imports.mail_import_run(job_id=job.pk, chunk=2)
    assert (job.status, job.processed) == ("done", 6)
    assert (job.stored_count, job.joined_count, job.skipped_count, job.failed_count) == (4, 0, 1, 1)
    assert Interaction.objects.count() == 4


def test_the_same_message_twice_in_one_file_is_stored_once(known, team, tmp_path):
    with (DATA / "headless.mbox").open("rb") as handle:
        first = next(iter(read_mbox(handle))).raw
    doubled = tmp_path / "doubled.mbox"
    doubled.write_bytes(
        b"From x Mon Jan  1 00:00:00 2026\n"
        + first
        + b"\n"
        + b"From x Mon Jan  1 00:00:00 2026\n"
        + first
        + b"\n"
    )
    out = io.StringIO()
    call_command("mail", "import", str(doubled), "--as", "alice", "--no-progress", stdout=out)
    assert "1 stored" in out.getvalue()
    assert "1 already" in out.getvalue() or "1 joined" in out.getvalue()
    assert Interaction.objects.count() == 1
