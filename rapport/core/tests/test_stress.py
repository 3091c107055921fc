"""Many writers at once, through a real server and the CLI, never damage the database.

A real ``rapport serve`` (gunicorn workers with threads, and the task worker) on the
engine of this run: SQLite in a file of its own, or a scratch PostgreSQL database.
Threads create, update and read contacts through the API while CLI processes import a
file, add contacts, scan for duplicates and merge. Afterwards the file passes
``PRAGMA integrity_check``, every acknowledged write is there, and no request was
answered with a server error other than a 503 with Retry-After (which the client
honours and retries, as the API documents).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

RAPPORT = str(Path(sys.executable).parent / "rapport")
CREATORS, CREATES_EACH = 3, 40
UPDATES_EACH = 30
IMPORT_ROWS = 500
CLI_ADDS = 3
MERGES = 2


class Client:
    """A tiny API client that records every status and retries a 503 after Retry-After."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token
        self.lock = threading.Lock()
        self.statuses: list[tuple[str, str, int]] = []
        self.busy = 0

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        for _ in range(20):
            request = urllib.request.Request(
                self.base + path,
                data=None if body is None else json.dumps(body).encode(),
                method=method,
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": "application/json",
                    **(headers or {}),
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    status, head, raw = response.status, dict(response.headers), response.read()
            except urllib.error.HTTPError as error:
                status, head, raw = error.code, dict(error.headers), error.read()
            with self.lock:
                self.statuses.append((method, path, status))
            if status == 503:
                assert head.get("Retry-After"), "a 503 must say when to retry"
                with self.lock:
                    self.busy += 1
                time.sleep(float(head["Retry-After"]))
                continue
            is_json = head.get("Content-Type", "").startswith("application/json")
            return status, head, json.loads(raw) if raw and is_json else raw
        raise AssertionError(f"{method} {path} stayed busy for 20 tries")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def scratch_database(tmp_path):  # type: ignore[no-untyped-def]
    """A database URL of the engine under test that no other test uses."""
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        import psycopg

        url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
        name = f"rapport_stress_{os.getpid()}"
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name}")
        yield url.rsplit("/", 1)[0] + "/" + name
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    else:
        yield f"sqlite:///{tmp_path / 'stress.sqlite3'}"


def _rapport(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RAPPORT, *args], env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_concurrent_writers_through_api_and_cli_keep_the_database_sound(tmp_path, scratch_database):
    env = {
        **os.environ,
        "DATABASE_URL": scratch_database,
        "RAPPORT_DATA_DIR": str(tmp_path / "data"),
        "RAPPORT_TASKS_BACKEND": "database",
        "RAPPORT_ADMIN_PASSWORD": "stress-Test-passw0rd",
    }
    assert _rapport(env, "setup", "--no-demo").returncode == 0
    token = _rapport(env, "token", "create", "admin").stdout.strip()
    port = _free_port()
    serve = subprocess.Popen(
        [RAPPORT, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    client = Client(f"http://127.0.0.1:{port}", token)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.call("GET", "/api/v1/contacts?limit=1")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)

        # Pairs the CLI will merge while everything else runs.
        pairs = []
        for n in range(MERGES):
            ids = [
                client.call(
                    "POST",
                    "/api/v1/contacts",
                    {"given_name": "Pair", "family_name": f"Twin{n}", "job_title": f"Side {s}"},
                )[2]["id"]
                for s in range(2)
            ]
            pairs.append(ids)

        created: dict[int, str] = {}  # id → email, acknowledged creates
        updated: dict[int, str] = {}  # id → the last acknowledged job title
        errors: list[str] = []
        lock = threading.Lock()

        def creator(worker: int) -> None:
            for n in range(CREATES_EACH):
                email = f"w{worker}.{n}.{uuid.uuid4().hex[:8]}@example.org"
                status, _, body = client.call(
                    "POST",
                    "/api/v1/contacts",
                    {
                        "given_name": f"Writer{worker}",
                        "family_name": f"Stress{n}",
                        "emails": [{"address": email}],
                        "tags": ["stress"],
                    },
                )
                if status == 201:
                    with lock:
                        created[body["id"]] = email
                else:
                    errors.append(f"create answered {status}: {body}")

        def updater() -> None:
            mine: list[int] = []
            for n in range(UPDATES_EACH):
                status, head, body = client.call(
                    "POST", "/api/v1/contacts", {"given_name": "Edited", "family_name": f"U{n}"}
                )
                mine.append(body["id"])
                contact_id = mine[n // 2]
                status, head, body = client.call("GET", f"/api/v1/contacts/{contact_id}")
                title = f"Title {n}"
                status, _, body = client.call(
                    "PATCH",
                    f"/api/v1/contacts/{contact_id}",
                    {"job_title": title},
                    headers={"If-Match": head["ETag"]},
                )
                if status == 200:
                    updated[contact_id] = title
                else:
                    errors.append(f"update answered {status}: {body}")

        def reader() -> None:
            for n in range(40):
                client.call("GET", f"/api/v1/contacts?q=stress{n % 10}")
                if n % 10 == 0:
                    client.call("GET", "/api/v1/exports/contacts?format=csv&tag=stress")

        rows = ["First Name,Last Name,E-mail Address"] + [
            f"Imported{n},Row{n},imported{n}.{uuid.uuid4().hex[:6]}@example.net"
            for n in range(IMPORT_ROWS)
        ]
        source = tmp_path / "people.csv"
        source.write_text("\n".join(rows) + "\n")

        def guarded(work: Any, *args: Any) -> threading.Thread:
            def run() -> None:
                try:
                    work(*args)
                except BaseException as exc:  # reported below, not lost in the thread
                    errors.append(f"{work.__name__} failed: {exc!r}")

            return threading.Thread(target=run)

        threads = [guarded(creator, w) for w in range(CREATORS)]
        threads += [guarded(updater), guarded(reader)]
        for thread in threads:
            thread.start()
        cli = [subprocess.Popen([RAPPORT, "import", str(source), "--no-progress"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)]  # fmt: skip
        cli.append(subprocess.Popen([RAPPORT, "dedupe"], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True))  # fmt: skip
        added = []
        for n in range(CLI_ADDS):
            result = _rapport(
                env, "contacts", "add", "--given-name", "Cli", "--family-name", f"Added{n}",
                "--email", f"cli{n}.{uuid.uuid4().hex[:6]}@example.com", "--json",
            )  # fmt: skip
            assert result.returncode == 0, result.stdout + result.stderr
            added.append(json.loads(result.stdout)["id"])
        merged = []
        for survivor, other in pairs:
            result = _rapport(env, "merge", "contacts", str(survivor), str(other), "--json")
            assert result.returncode == 0, result.stdout + result.stderr
            merged.append((survivor, other))
        for process in cli:
            output = process.communicate(timeout=600)[0]
            assert process.returncode == 0, output
        for thread in threads:
            thread.join(timeout=600)
    finally:
        serve.terminate()
        serve.wait(timeout=60)

    server_errors = [s for s in client.statuses if s[2] >= 500 and s[2] != 503]
    assert server_errors == [], server_errors
    assert errors == []
    assert len(created) == CREATORS * CREATES_EACH

    check = subprocess.run(
        [RAPPORT, "shell", "-c", _CHECK],
        env={**env, "STRESS_EXPECT": json.dumps(
            {"created": created, "updated": updated, "added": added, "merged": merged,
             "import_rows": IMPORT_ROWS})},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip().splitlines()[-1] == "sound", check.stdout


# Run inside `rapport shell` against the stressed database: every acknowledged write is
# there, merged-away contacts are gone into their survivors, and SQLite's own check
# finds the file intact.
_CHECK = """
import json, os
from django.db import connection
from rapport.contacts.models import Contact
from rapport.ingest.models import ImportBatch
expect = json.loads(os.environ["STRESS_EXPECT"])
if connection.vendor == "sqlite":
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA integrity_check")
        result = [row[0] for row in cursor.fetchall()]
    assert result == ["ok"], result
for contact_id, email in expect["created"].items():
    contact = Contact.objects.get(pk=contact_id)
    assert contact.emails.filter(address=email).exists(), (contact_id, email)
for contact_id, title in expect["updated"].items():
    assert Contact.objects.get(pk=contact_id).job_title == title, (contact_id, title)
assert Contact.objects.filter(pk__in=expect["added"]).count() == len(expect["added"])
for survivor, other in expect["merged"]:
    assert Contact.objects.filter(pk=survivor).exists()
    assert not Contact.objects.filter(pk=other).exists()
batch = ImportBatch.objects.get()
assert batch.status == "done", batch.status
assert batch.created_count == expect["import_rows"], batch.created_count
print("sound")
"""
