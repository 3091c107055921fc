"""Real `rapport mail import` and `rapport mail sync` processes killed with SIGKILL half
way, then run again: every message is stored exactly once, and the import's or the
mailbox's status says what happened. The attachment files the killed process wrote
for messages it never committed are removed by the worker's sweep once a day old; the
files of stored messages stay.

The child processes use a database of their own: a SQLite file in the test's folder,
or on PostgreSQL the committed test database itself (``transactional_db``). This
process watches that database directly, and kills the child once some but not all
messages are in.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rapport.activity.mail.imap.sync import COMMIT_EVERY
from rapport.activity.mail.imports import CHUNK
from rapport.activity.tests.imap_server import ImapAccount, make_message

pytestmark = pytest.mark.slow

RAPPORT = [sys.executable, "-m", "rapport.cli"]
STALE_SECONDS = 3


@dataclass
class Child:
    """How to run `rapport` against the children's database, and to look into it."""

    env: dict[str, str]
    query: Callable[[str], list[tuple[Any, ...]]]
    media: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*RAPPORT, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        if check:
            assert done.returncode == 0, f"rapport {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*RAPPORT, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )

    def value(self, sql: str) -> Any:
        rows = self.query(sql)
        return rows[0][0] if rows else None

    def message_ids(self) -> list[str]:
        """The Message-ID of every email stored, once per row (duplicates stay)."""
        return [row[0] for row in self.query("SELECT message_id FROM activity_interaction")]

    def files(self) -> list[str]:
        """The attachment files on disk, as rows name them."""
        folder = self.media / "attachments"
        if not folder.exists():
            return []
        return sorted(
            p.relative_to(self.media).as_posix() for p in folder.rglob("*") if p.is_file()
        )

    def held(self) -> list[str]:
        """The attachment files the stored messages' rows name."""
        return sorted(row[0] for row in self.query("SELECT file FROM activity_attachment"))

    def age_files(self, days: float) -> None:
        then = time.time() - days * 86400
        for name in self.files():
            os.utime(self.media / name, (then, then))

    def wait_for_files_beyond_rows(self, *, seconds: float = 60) -> None:
        """Until the process has written files for messages it has not committed."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            on_disk = set(self.files())
            if on_disk - set(self.held()):
                return
            time.sleep(0.01)
        raise AssertionError("the process never wrote a file beyond what it committed")

    def wait_until(self, sql: str, done: Callable[[Any], bool], *, seconds: float = 60) -> Any:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = self.value(sql)
            if done(value):
                return value
            time.sleep(0.02)
        raise AssertionError(f"{sql!r} never got there (last: {value!r})")


@pytest.fixture
def child(tmp_path: Path, transactional_db: None) -> Iterator[Child]:
    """A database for `rapport` child processes, set up (`rapport setup --no-demo`) and
    with one contact, Ada Lovelace <ada@example.com>, whom the test mail is from."""
    from django.conf import settings
    from django.db import connection

    env = {
        **os.environ,
        "RAPPORT_DATA_DIR": str(tmp_path),
        "RAPPORT_JOB_STALE_SECONDS": str(STALE_SECONDS),
        "RAPPORT_TASKS_BACKEND": "database",
    }
    env.pop("RAPPORT_MAILBOX_KEY", None)
    if settings.DATABASES["default"]["ENGINE"] == "rapport.core.sqlite_backend":
        database = tmp_path / "kill.sqlite3"
        env["DATABASE_URL"] = f"sqlite:///{database}"

        def query(sql: str) -> list[tuple[Any, ...]]:
            with closing(sqlite3.connect(database, timeout=30)) as db:
                return db.execute(sql).fetchall()

    else:
        db = connection.settings_dict
        env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"

        def query(sql: str) -> list[tuple[Any, ...]]:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())

    found = Child(env, query, tmp_path / "media")
    subprocess.run(
        [*RAPPORT, "setup", "--no-demo"],
        env={**env, "RAPPORT_ADMIN_PASSWORD": "a long admin password"},
        check=True,
        capture_output=True,
    )
    found.run("contacts", "add", "--name", "Ada Lovelace", "--email", "ada@example.com")
    yield found


def mail(number: int) -> bytes:
    return make_message(
        subject=f"Note {number}",
        body=f"Message number {number}.",
        message_id=f"<kill-{number}@example.com>",
        attachment=(f"note-{number}.bin", f"attachment of message {number}".encode()),
    )


def expected_ids(total: int) -> list[str]:
    return sorted(f"kill-{n}@example.com" for n in range(total))


def kill(process: subprocess.Popen[bytes]) -> None:
    assert process.poll() is None, "the process should still have been running"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


def test_an_import_killed_mid_file_stores_every_message_exactly_once_when_resumed(
    child: Child, tmp_path: Path
):
    total = 1500  # a few chunks, a second or more of work: the kill lands mid-way
    source = tmp_path / "archive.mbox"
    with source.open("wb") as out:
        for number in range(total):
            out.write(b"From ada@example.com Tue Mar  4 10:30:00 2025\n")
            out.write(mail(number).replace(b"\r\n", b"\n") + b"\n")
    process = child.start("mail", "import", str(source), "--no-progress")
    processed = child.wait_until(
        "SELECT processed FROM activity_mailimport", lambda n: n is not None and n >= CHUNK
    )
    child.wait_for_files_beyond_rows()
    kill(process)
    job_id = str(child.value("SELECT id FROM activity_mailimport"))
    # at once, its heartbeat is still fresh: nobody may take it over yet
    refused = child.run("mail", "import", "--resume", job_id, "--no-progress", check=False)

    assert refused.returncode == 1
    assert f"Mail import {job_id} is still running in another process (last reported at" in (
        refused.stderr
    )
    job = child.query("SELECT status, processed, stored_count FROM activity_mailimport")[0]
    stored = child.message_ids()
    assert job[0] == "running"  # until a worker notices its process is gone
    assert processed <= job[1] < total, "the kill should land mid-file"
    # what was committed is whole chunks, each counted with its messages
    assert job[1] % CHUNK == 0 and len(stored) == len(set(stored)) == job[1] == job[2]

    # every stored message has its file; the chunk it was killed in left files behind
    held = child.held()
    assert len(held) == job[1] and set(held) <= set(child.files())
    assert set(child.files()) - set(held)
    # a day later, a worker (any one: the hourly sweep is a duty) removes those
    child.age_files(days=1.5)
    time.sleep(STALE_SECONDS + 0.5)
    child.run("worker", "--batch")  # marks the dead import stopped, as a running worker does
    assert child.files() == held
    status, error = child.query("SELECT status, error FROM activity_mailimport")[0]
    assert status == "interrupted"
    assert error.startswith(f"The process running this import stopped after {job[1]} messages")
    resumed = child.run("mail", "import", "--resume", job_id, "--no-progress")

    assert f"{total:,} messages" in resumed.stdout and f"{total:,} stored" in resumed.stdout
    stored = child.message_ids()
    assert sorted(stored) == expected_ids(total)  # each once: no duplicates, no gaps
    final = child.query(
        "SELECT status, error, processed, stored_count, joined_count, failed_count "
        "FROM activity_mailimport"
    )[0]
    assert final == ("done", "", total, total, 0, 0)
    assert child.files() == child.held() and len(child.held()) == total


def test_a_sync_killed_mid_folder_stores_every_message_exactly_once_when_run_again(
    child: Child, imap_account: ImapAccount
):
    total = 800  # a few batches
    imap_account.append("INBOX", *(mail(number) for number in range(total)))
    child.run(
        "shell",
        "--no-imports",
        "-c",
        "from rapport.access.models import User; "
        "from rapport.activity.mail.imap.services import mailbox_create; "
        "mailbox_create(actor=User.objects.get(username='admin'), data={"
        f"'name': 'Work', 'host': '127.0.0.1', 'port': {imap_account.server.port}, "
        f"'security': 'none', 'username': {imap_account.username!r}, "
        f"'password': {imap_account.password!r}, 'folders': ['INBOX']}})",
    )
    process = child.start("mail", "sync", "Work")
    child.wait_until(
        "SELECT COUNT(*) FROM activity_mailboxmessage", lambda n: n is not None and n >= 1
    )
    child.wait_for_files_beyond_rows()
    kill(process)
    again = child.run("mail", "sync", "Work", check=False)  # its heartbeat is still fresh

    assert again.returncode == 1 and "Not synced: it is being synced already." in again.stdout
    recorded = child.value("SELECT COUNT(*) FROM activity_mailboxmessage")
    highest = child.value("SELECT highest_uid FROM activity_mailboxfolder")
    stored = child.message_ids()
    assert 0 < recorded < total, "the kill should land mid-folder"
    # what was committed is whole batches, each with its UIDs and the folder's place
    assert recorded % COMMIT_EVERY == 0 and highest == recorded
    assert len(stored) == len(set(stored)) == recorded
    assert child.value("SELECT status FROM activity_mailbox") == "syncing"

    time.sleep(STALE_SECONDS + 0.5)
    rerun = child.run("mail", "sync", "Work")

    assert "Synced." in rerun.stdout
    assert f"INBOX: {total - recorded} read, {total - recorded} logged" in rerun.stdout
    assert sorted(child.message_ids()) == expected_ids(total)
    # the batch it was killed in left files behind, which the worker's sweep removes
    # once they are a day old
    assert set(child.files()) - set(child.held())
    child.age_files(days=1.5)
    child.run("worker", "--batch")
    assert child.files() == child.held() and len(child.held()) == total
    uids = [row[0] for row in child.query("SELECT uid FROM activity_mailboxmessage ORDER BY uid")]
    assert uids == list(range(1, total + 1))
    mailbox = child.query("SELECT status, last_error, consecutive_failures FROM activity_mailbox")
    assert mailbox == [("ok", "", 0)]
    folder = child.query("SELECT seen, stored, highest_uid FROM activity_mailboxfolder")
    assert folder == [(total, total, total)]
