"""Imports run by real background workers: the database queue, and Redis with RQ."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
ENQUEUE = """
from django.db import transaction
from rapport.access.models import User
from rapport.ingest import services
admin = User.objects.get(username="admin")
with open({path!r}, "rb") as handle:
    batch = services.import_upload(actor=admin, upload=handle, file_name="google.csv")
with transaction.atomic():
    services.import_start(actor=admin, batch=batch)
"""
RESULT = "from rapport.ingest.models import ImportBatch as B; b = B.objects.get(); print(b.status, b.created_count)"


def _redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["database", "rq"])
def test_a_queued_import_is_run_by_a_worker(tmp_path, backend):
    if backend == "rq" and not _redis_reachable():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Redis is required under CI=true (127.0.0.1:6379)")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "RAPPORT_DATA_DIR": str(tmp_path),
        "RAPPORT_TASKS_BACKEND": backend,
        "RAPPORT_ADMIN_PASSWORD": "worker-test-password",
        # A queue of its own, so parallel runs on one Redis never take each other's jobs.
        "REDIS_URL": f"redis://127.0.0.1:6379/{9 + os.getpid() % 6}",
    }
    rapport = [sys.executable, "-m", "rapport.cli"]

    def run(*args: str) -> str:
        done = subprocess.run(
            [*rapport, *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("setup", "--no-demo")
    run("shell", "--no-imports", "-c", ENQUEUE.format(path=str(DATA / "google_contacts.csv")))
    assert run("shell", "--no-imports", "-c", RESULT).split() == ["queued", "0"]
    run("worker", "--batch")
    assert run("shell", "--no-imports", "-c", RESULT).split() == ["done", "4"]
