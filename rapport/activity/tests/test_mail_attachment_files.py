"""Attachment files on disk stay in step with the rows that hold them: what a rolled-back
capture wrote is deleted at once, a deleted interaction's files go once the deletion
commits, and the worker's hourly sweep removes files no row holds once they are a day
old (what a process killed half-way through a capture leaves), never a fresh one."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import F

from rapport.activity.mail import imports
from rapport.activity.mail.intake import mail_capture
from rapport.activity.models import Attachment, Interaction, MailImport
from rapport.activity.services import attachments as attachment_files
from rapport.activity.services.interactions import interaction_delete
from rapport.activity.tests import mail_fixtures
from rapport.activity.tests.imap_server import make_message
from rapport.core import jobs, schedule
from rapport.core.models import PeriodicRun

known = mail_fixtures.known
team = mail_fixtures.team

pytestmark = pytest.mark.django_db
DAN = "Dan Brooks <dan.brooks@northwind-traders.com>"


def offer(number: int) -> bytes:
    return make_message(
        sender=DAN,
        to="Alice Archer <alice@rapport.test>",
        subject=f"Offer {number}",
        body=f"Offer number {number} attached.",
        message_id=f"<offer-{number}@northwind-traders.com>",
        attachment=(f"offer-{number}.pdf", f"%PDF offer {number}".encode() * 50),
    )


def on_disk() -> list[str]:
    """The files under the attachments folder, as the rows name them."""
    media = Path(django_settings.MEDIA_ROOT)
    folder = media / "attachments"
    if not folder.exists():
        return []
    return sorted(p.relative_to(media).as_posix() for p in folder.rglob("*") if p.is_file())


def held() -> list[str]:
    return sorted(Attachment.objects.exclude(file="").values_list("file", flat=True))


def age(name: str, days: float) -> None:
    path = Path(django_settings.MEDIA_ROOT) / name
    then = time.time() - days * 86400
    os.utime(path, (then, then))


def stray(name: str, days: float = 0) -> str:
    """A file no row holds, as a process killed mid-capture leaves it."""
    path = Path(django_settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"left behind")
    if days:
        age(name, days)
    return name


def test_a_chunk_rolled_back_when_another_worker_took_the_import_leaves_no_files(
    known, team, tmp_path
):
    source = tmp_path / "offers.mbox"
    with source.open("wb") as out:
        for number in range(4):
            out.write(b"From dan@northwind-traders.com Tue Mar  4 10:30:00 2025\n")
            out.write(offer(number).replace(b"\r\n", b"\n") + b"\n")
    job = imports.mail_import_from_path(actor=team, path=source)

    def taken_over(current: MailImport) -> None:
        # after the first chunk, another worker takes the import over: this one's second
        # chunk is written (files and all) and then rolled back when its claim fails
        MailImport.objects.filter(pk=current.pk).update(claim=F("claim") + 1)

    with pytest.raises(jobs.ClaimLost):
        imports.mail_import_run(job_id=job.pk, progress=taken_over, chunk=2)

    assert sorted(Interaction.objects.values_list("subject", flat=True)) == ["Offer 0", "Offer 1"]
    assert len(held()) == 2
    assert on_disk() == held()


def test_a_message_stored_alone_that_rolls_back_leaves_no_file(known, team):
    """A capture inside a transaction that fails after it (here: the caller's own
    check) takes its file with it."""
    with pytest.raises(RuntimeError), attachment_files.atomic_with_files():
        assert mail_capture(offer(1), owner=team).status == "stored"
        assert len(on_disk()) == 1
        raise RuntimeError("the caller's next step failed")
    assert not Interaction.objects.exists()
    assert on_disk() == []


def test_the_sweep_removes_a_day_old_file_no_row_holds_and_leaves_the_rest(known, team, caplog):
    assert mail_capture(offer(1), owner=team).status == "stored"
    [kept] = held()
    age(kept, 30)  # old, but an interaction holds it
    old = stray("attachments/2025/03/left-by-a-killed-import.pdf", days=1.5)
    fresh = stray("attachments/2025/03/being-written-right-now.pdf")
    caplog.set_level(logging.DEBUG)

    # the worker's hourly duty
    assert "activity.attachments.sweep" in schedule.run_due_duties()

    assert on_disk() == sorted([kept, fresh])
    assert (Path(django_settings.MEDIA_ROOT) / old).exists() is False
    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert any(m.startswith("Attachment files: 1 that no interaction holds removed") for m in loud)
    # an hour later nothing is left to do, and the log stays quiet
    caplog.clear()
    PeriodicRun.objects.update(last_run_at=F("last_run_at") - dt.timedelta(hours=1))
    assert "activity.attachments.sweep" in schedule.run_due_duties()
    assert not [
        r
        for r in caplog.records
        if r.name.startswith("rapport.activity.services") and r.levelno >= logging.INFO
    ]
    # a day later, the fresh stray is old enough to go
    sweep = attachment_files.attachment_files_sweep(
        now=dt.datetime.now(dt.UTC) + dt.timedelta(days=1, minutes=1)
    )
    assert sweep.removed == 1
    assert on_disk() == [kept]


def test_deleting_an_interaction_deletes_its_files_once_the_deletion_commits(
    known, team, alice_client, django_capture_on_commit_callbacks
):
    first = mail_capture(offer(1), owner=team)
    second = mail_capture(offer(2), owner=team)
    one, two = held()
    # a deletion that rolls back keeps the files
    with pytest.raises(RuntimeError), transaction.atomic():
        interaction_delete(actor=team, interaction=Interaction.objects.get(pk=first.interaction_id))
        raise RuntimeError("rolled back")
    assert on_disk() == [one, two]
    # deleted through the API: the file goes when the deletion has committed
    url = f"/api/v1/interactions/{first.interaction_id}"
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.delete(url)
        assert response.status_code == 204
        assert len(on_disk()) == 2  # not before
    assert on_disk() == held() and len(held()) == 1
    assert Interaction.objects.filter(pk=second.interaction_id).exists()
