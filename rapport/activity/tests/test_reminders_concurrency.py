"""Two reminder workers at the same moment, each a process of its own on one real
database (a scratch SQLite file, or a scratch PostgreSQL database) and a real SMTP
server: every reminder and every digest is mailed exactly once; a worker in the middle
of a send is not overtaken, however long ago its run began; a reminder moved while its
mail went out is mailed again at its new time, not lost."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.db import connection

from rapport.activity.tests.tasks_support import Inbox, _free_port

pytestmark = pytest.mark.slow
RAPPORT = [sys.executable, "-m", "rapport.cli"]


class TestInbox(Inbox):
    """A server that takes a moment over each message (so that two workers' sends
    overlap) and can keep the first message waiting after its DATA until released (a
    worker caught in the middle of a send)."""

    __test__ = False

    def __init__(self, *, hold_first: bool = False) -> None:
        super().__init__()
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.holding = hold_first

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.holding:
            self.holding = False
            self.arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
        await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


class Workers:
    """Runs `rapport shell -c` processes on the shared database."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def command(self, call: str) -> list[str]:
        code = f"from rapport.activity.tests import reminder_worker as w; w.{call}"
        return [*RAPPORT, "shell", "--no-imports", "-c", code]

    def run(self, call: str) -> Any:
        done = subprocess.run(
            self.command(call), env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else None

    def start(self, call: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(call),
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @staticmethod
    def result(process: subprocess.Popen[str]) -> Any:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def shared_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment for worker processes on a migrated scratch database of this run's
    engine (the test database itself lives in this process's transactions)."""
    tmp = tmp_path_factory.mktemp("reminder-workers")
    env = {**os.environ, "RAPPORT_DATA_DIR": str(tmp), "RAPPORT_TASKS_BACKEND": "immediate"}
    postgres = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    name = f"rapport_reminder_race_{os.getpid()}"
    if postgres:
        import psycopg

        db = connection.settings_dict
        server = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}"
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name}")
        env["DATABASE_URL"] = f"{server}/{name}".replace("postgresql://", "postgres://", 1)
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'workers.sqlite3'}"
    done = subprocess.run(
        [*RAPPORT, "migrate", "--no-input"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    yield env
    if postgres:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _serve(env: dict[str, str], inbox: TestInbox) -> Iterator[Inbox]:
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    env.update(
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(port),
        EMAIL_TIMEOUT="30",
        DEFAULT_FROM_EMAIL="Rapport <rapport@crm.example.com>",
    )
    try:
        yield inbox
    finally:
        inbox.release.set()
        controller.stop()


@pytest.fixture
def workers(shared_database: dict[str, str]) -> Iterator[Workers]:
    team = Workers(dict(shared_database))
    yield team
    team.run("reset()")


@pytest.fixture
def smtp(workers: Workers) -> Iterator[TestInbox]:
    yield from _serve(workers.env, TestInbox())  # type: ignore[misc]


@pytest.fixture
def held_smtp(workers: Workers) -> Iterator[TestInbox]:
    yield from _serve(workers.env, TestInbox(hold_first=True))  # type: ignore[misc]


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _seed(workers: Workers, users: list[dict[str, Any]], tasks: list[dict[str, Any]]) -> Any:
    return workers.run(f"seed({json.dumps(json.dumps({'users': users, 'tasks': tasks}))})")


def test_two_workers_at_once_mail_each_reminder_and_digest_exactly_once(workers, smtp, tmp_path):
    noon = dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time(12), tzinfo=dt.UTC)
    users = [{"username": f"single{n}"} for n in range(3)]
    users += [{"username": f"digest{n}", "digest": True} for n in range(3)]
    tasks = [
        {
            "user": u["username"],
            "title": f"{u['username']} {i}",
            "due_at": _iso(noon - dt.timedelta(hours=i + 1)),
        }
        for u in users
        for i in range(4)
    ]
    _seed(workers, users, tasks)
    ready = [tmp_path / "ready-1", tmp_path / "ready-2"]
    go = tmp_path / "go"
    running = [
        workers.start(f"deliver({_iso(noon)!r}, ready={str(r)!r}, go={str(go)!r})") for r in ready
    ]
    deadline = time.monotonic() + 60
    while not all(r.exists() for r in ready):
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.01)
    go.touch()
    runs = [Workers.result(p) for p in running]
    assert sum(r["notified"] for r in runs) == 24
    assert sum(r["mailed"] for r in runs) == 12
    assert sum(r["digests"] for r in runs) == 3
    assert sum(r["failed"] for r in runs) == 0
    mails = Counter((m["X-Envelope-To"], m["Subject"]) for m in smtp.messages)
    assert len(smtp.messages) == 15 and set(mails.values()) == {1}
    for n in range(3):
        assert len(smtp.to(f"single{n}@example.com")) == 4
        [digest] = smtp.to(f"digest{n}@example.com")
        assert digest["Subject"].startswith("Your reminders for")
    assert workers.run("summary()") == {"notifications": 24, "unmailed": 0, "digests_sent": 3}
    # a third run afterwards finds nothing left to do
    assert workers.run(f"deliver({_iso(noon)!r})") == {
        "notified": 0,
        "mailed": 0,
        "failed": 0,
        "digests": 0,
        "refused": 0,
    }
    assert len(smtp.messages) == 15


def test_a_worker_in_the_middle_of_a_send_is_not_overtaken(workers, held_smtp):
    """The claim is stamped when it is made, not when the run began: a run that began
    long ago (a long batch before it) holds a fresh claim while it sends."""
    now = dt.datetime.now(dt.UTC)
    _seed(
        workers,
        [{"username": "ann"}],
        [{"user": "ann", "title": "Renewal", "due_at": _iso(now - dt.timedelta(hours=1))}],
    )
    began_long_ago = now - dt.timedelta(minutes=30)
    slow = workers.start(f"deliver({_iso(began_long_ago)!r})")
    assert held_smtp.arrived.wait(timeout=60), "the first worker never reached the server"
    # its mail is on its way (the server has it and has not answered yet): a second
    # worker comes along and finds the mail claimed
    assert workers.run("deliver()") == {
        "notified": 0,
        "mailed": 0,
        "failed": 0,
        "digests": 0,
        "refused": 0,
    }
    held_smtp.release.set()
    assert Workers.result(slow)["mailed"] == 1
    assert len(held_smtp.messages) == 1
    assert workers.run("summary()")["unmailed"] == 0


def test_a_reminder_moved_while_its_mail_went_out_is_mailed_again(workers, held_smtp):
    now = dt.datetime.now(dt.UTC)
    ids = _seed(
        workers,
        [{"username": "ann"}],
        [{"user": "ann", "title": "Call Ann", "due_at": _iso(now - dt.timedelta(hours=2))}],
    )
    sending = workers.start("deliver()")
    assert held_smtp.arrived.wait(timeout=60)
    # meanwhile the task gets a new due time: its reminder is to be delivered again
    workers.run(f"move({ids['Call Ann']}, {_iso(now - dt.timedelta(minutes=30))!r})")
    held_smtp.release.set()
    assert Workers.result(sending)["mailed"] == 1
    again = workers.run("deliver()")
    assert (again["notified"], again["mailed"]) == (1, 1)
    assert len(held_smtp.messages) == 2
    assert workers.run("summary()") == {"notifications": 2, "unmailed": 0, "digests_sent": 0}
