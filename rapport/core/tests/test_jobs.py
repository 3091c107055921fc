"""Background jobs report heartbeats; a job whose process died is taken over or marked stopped."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from rapport.core import jobs
from rapport.duplicates.models import DuplicateScan
from rapport.ingest.models import ImportBatch


def _scan(status: str, beat_seconds_ago: float | None) -> DuplicateScan:
    beat = (
        None if beat_seconds_ago is None else timezone.now() - timedelta(seconds=beat_seconds_ago)
    )
    return DuplicateScan.objects.create(status=status, heartbeat_at=beat, started_at=beat)


def test_a_running_job_that_still_reports_cannot_be_claimed_by_another_process(db, settings):
    settings.RAPPORT_JOB_STALE_SECONDS = 60
    live = _scan("running", 5)
    dead = _scan("running", 120)
    running = DuplicateScan.Status.RUNNING
    assert not jobs.job_claim(DuplicateScan, live.pk, startable=["queued"], running=running)
    assert jobs.job_claim(DuplicateScan, dead.pk, startable=["queued"], running=running)
    dead.refresh_from_db()
    assert timezone.now() - dead.heartbeat_at < timedelta(seconds=5)


def test_recovery_marks_dead_jobs_stopped_and_leaves_live_and_finished_ones(db, settings):
    settings.RAPPORT_JOB_STALE_SECONDS = 60
    live, dead, done = _scan("running", 5), _scan("running", 120), _scan("done", 600)
    batch = ImportBatch.objects.create(
        file_name="a.csv", status="running", processed_rows=400, heartbeat_at=None
    )
    marked = jobs.jobs_recover()
    assert {(type(j).__name__, j.pk) for j in marked} == {
        ("DuplicateScan", dead.pk),
        ("ImportBatch", batch.pk),
    }
    for job in (live, dead, done, batch):
        job.refresh_from_db()
    assert (live.status, dead.status, done.status) == ("running", "failed", "done")
    assert dead.error.startswith("The process running this scan stopped")
    assert batch.status == "interrupted"
    assert "stopped after 400 rows" in batch.error and "resume it" in batch.error


def test_a_job_reports_heartbeats_while_it_runs_and_stops_when_it_ends(transactional_db, settings):
    settings.RAPPORT_JOB_STALE_SECONDS = 1  # a heartbeat every 0.2 s
    scan = _scan("running", 30)
    seen = []
    with jobs.job_heartbeat(jobs.Claim(DuplicateScan, scan.pk, scan.claim)):
        for _ in range(4):
            time.sleep(0.3)
            scan.refresh_from_db()
            seen.append(scan.heartbeat_at)
    assert len(set(seen)) >= 3
    assert timezone.now() - seen[-1] < timedelta(seconds=1)
    assert not jobs.job_is_stale(scan, running="running")
    scan.refresh_from_db()
    last = scan.heartbeat_at
    time.sleep(0.5)
    scan.refresh_from_db()
    assert scan.heartbeat_at == last  # the thread ended with the job


def _paused(job: Any) -> None:
    """What a long pause of its worker does to a job: its heartbeat falls far behind."""
    type(job).objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))


def test_a_worker_whose_job_was_taken_over_can_no_longer_write_to_it(db, settings):
    settings.RAPPORT_JOB_STALE_SECONDS = 60
    scan = _scan("queued", None)
    running = DuplicateScan.Status.RUNNING
    first = jobs.job_claim(DuplicateScan, scan.pk, startable=["queued"], running=running)
    assert first is not None
    _paused(scan)
    second = jobs.job_claim(DuplicateScan, scan.pk, startable=["queued"], running=running)
    assert second is not None and second.number == first.number + 1
    second.update(phase="comparing", done=7, total=10)

    with pytest.raises(jobs.ClaimLost, match=f"Duplicate scan {scan.pk} was taken over"):
        first.update(phase="reading", done=1, total=10)  # its progress
    with pytest.raises(jobs.ClaimLost):
        first.update(status="done", finished_at=timezone.now(), clusters_found=3)  # its end
    with pytest.raises(jobs.ClaimLost):
        first.confirm()  # its heartbeat
    scan.refresh_from_db()
    assert (scan.status, scan.phase, scan.done, scan.clusters_found) == (
        "running",
        "comparing",
        7,
        0,
    )
    assert scan.finished_at is None
    second.update(status="done")  # the new holder still writes


def test_marking_a_dead_job_stopped_takes_its_claim(db, settings):
    settings.RAPPORT_JOB_STALE_SECONDS = 60
    scan = _scan("queued", None)
    claim = jobs.job_claim(DuplicateScan, scan.pk, startable=["queued"], running="running")
    assert claim is not None
    _paused(scan)
    assert [job.pk for job in jobs.jobs_recover()] == [scan.pk]
    with pytest.raises(jobs.ClaimLost):
        claim.update(status="done")  # its worker wakes up: the scan stays failed
    scan.refresh_from_db()
    assert scan.status == "failed"


def test_the_heartbeat_of_a_worker_whose_job_was_taken_over_stops(transactional_db, settings):
    settings.RAPPORT_JOB_STALE_SECONDS = 1  # a heartbeat every 0.2 s
    scan = _scan("queued", None)
    first = jobs.job_claim(DuplicateScan, scan.pk, startable=["queued"], running="running")
    assert first is not None
    with jobs.job_heartbeat(first):
        _paused(scan)
        second = jobs.job_claim(DuplicateScan, scan.pk, startable=["queued"], running="running")
        assert second is not None
        taken_at = timezone.now() - timedelta(hours=2)  # so that a beat would show
        DuplicateScan.objects.filter(pk=scan.pk).update(heartbeat_at=taken_at)
        time.sleep(0.6)
        scan.refresh_from_db()
        assert scan.heartbeat_at == taken_at, "the first worker's beats no longer land"
        beating = [t.name for t in threading.enumerate() if t.name.startswith("heartbeat-")]
        assert beating == [], "and its heartbeat thread ended"


def test_resuming_an_import_that_is_still_running_is_refused_with_a_reason(
    db, settings, bob, tmp_path
):
    from django.core.management import CommandError, call_command

    batch = ImportBatch.objects.create(
        file_name="a.csv", status="running", created_by=bob, heartbeat_at=timezone.now()
    )
    with pytest.raises(CommandError) as exc:
        call_command("import", "--resume", str(batch.pk), "--as", "bob", "--no-progress")
    assert f"Import {batch.pk} is still running in another process" in str(exc.value)
    assert "can be resumed once it has been silent for 60 seconds" in str(exc.value)


def _shared_database(tmp_path: Path) -> tuple[dict[str, str], Callable[[str], list[Any]]]:
    """Environment for `rapport` child processes on a committed database, and a way to
    read that database from this process."""
    from django.conf import settings as django_settings
    from django.db import connection

    env = {
        **os.environ,
        "RAPPORT_DATA_DIR": str(tmp_path),
        "RAPPORT_TASKS_BACKEND": "database",
    }
    if django_settings.DATABASES["default"]["ENGINE"] == "rapport.core.sqlite_backend":
        database = tmp_path / "jobs.sqlite3"
        env["DATABASE_URL"] = f"sqlite:///{database}"

        def query(sql: str) -> list[Any]:
            with sqlite3.connect(database, timeout=10) as db:
                rows = db.execute(sql).fetchall()
            db.close()
            return rows

        return env, query
    db = connection.settings_dict
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"

    def query_postgres(sql: str) -> list[Any]:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())

    return env, query_postgres


@pytest.mark.slow
def test_a_scan_whose_worker_is_killed_is_marked_failed_by_the_next_worker(
    tmp_path, transactional_db
):
    env, query = _shared_database(tmp_path)
    stale = 2
    env["RAPPORT_JOB_STALE_SECONDS"] = str(stale)
    rapport = [sys.executable, "-m", "rapport.cli"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*rapport, *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done

    run("setup")  # with its 500 demo people
    run(
        "shell",
        "--no-imports",
        "-c",
        "from rapport.access.models import User; from rapport.duplicates.services import "
        "duplicates_scan_start as s; s(actor=User.objects.get(username='admin'))",
    )
    (scan_id, status), *_ = query("SELECT id, status FROM duplicates_duplicatescan")
    assert status == "queued"
    worker = subprocess.Popen(
        [*rapport, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        (status,) = query(f"SELECT status FROM duplicates_duplicatescan WHERE id={scan_id}")[0]
        if status != "queued":
            break
        time.sleep(0.02)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    killed_at = time.monotonic()
    assert status == "running", "the worker should have been killed mid-scan"
    assert query(f"SELECT status FROM duplicates_duplicatescan WHERE id={scan_id}") == [
        ("running",)
    ]

    time.sleep(max(0.0, stale + 0.5 - (time.monotonic() - killed_at)))
    run("worker", "--batch")  # the next worker, at its start
    ((status, error, finished),) = query(
        f"SELECT status, error, finished_at FROM duplicates_duplicatescan WHERE id={scan_id}"
    )
    assert status == "failed"
    assert error.startswith("The process running this scan stopped during")
    assert error.endswith("start a new scan.")
    assert finished is not None


def test_a_fork_waits_for_a_heartbeat_write_and_the_child_starts_unlocked():
    """Imports and exports fork helper processes while a job's heartbeat thread may be
    writing: the fork waits for the write to end, so the child never inherits a lock
    held half-way through one, and the child's own lock is free."""
    import os
    import threading
    import time

    from rapport.core import jobs

    writing = threading.Event()

    def beat() -> None:
        with jobs.beat_lock:
            writing.set()
            time.sleep(0.5)

    thread = threading.Thread(target=beat)
    thread.start()
    writing.wait()
    started = time.monotonic()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report whether its lock is free, and leave
        os.write(write, b"1" if jobs.beat_lock.acquire(timeout=1) else b"0")
        os._exit(0)
    waited = time.monotonic() - started
    os.close(write)
    free_in_child = os.read(read, 1)
    os.waitpid(pid, 0)
    thread.join()
    assert waited >= 0.3, "the fork went ahead while a beat was writing"
    assert free_in_child == b"1"
    assert not jobs.beat_lock.locked()
