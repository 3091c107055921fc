"""A database busy past its wait answers 503 with Retry-After; the file is set up once."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from rapport.core.busy import DatabaseBusyMiddleware, is_busy
from rapport.core.sqlite_backend.base import DatabaseWrapper


def _locked_error(tmp_path) -> OperationalError:  # type: ignore[no-untyped-def]
    """The error a writer gets from SQLite when another holds the write lock too long."""
    path = tmp_path / "busy.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    try:
        waiter.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        error = OperationalError(str(exc))
        error.__cause__ = exc
        return error
    finally:
        holder.close()
        waiter.close()
    raise AssertionError("the second writer should have been refused")


def _view_raising(error: Exception):  # type: ignore[no-untyped-def]
    def view(request):  # type: ignore[no-untyped-def]
        raise error

    return view


@pytest.mark.parametrize("path", ["/api/v1/contacts", "/contacts/"])
def test_a_busy_database_answers_503_with_retry_after(tmp_path, path):
    error = _locked_error(tmp_path)
    request = RequestFactory().post(path)
    middleware = DatabaseBusyMiddleware(_view_raising(error))
    response = middleware.process_exception(request, error)
    assert response is not None
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    if path.startswith("/api/"):
        assert "busy" in json.loads(response.content)["detail"]
    else:
        assert b"busy" in response.content


def test_other_database_errors_are_not_taken_for_busy():
    assert not is_busy(OperationalError("no such table: contacts_contact"))
    assert not is_busy(ValueError("database is locked"))


def test_a_new_connection_leaves_a_wal_file_in_use_alone(tmp_path):
    """Opening a connection must not re-run the WAL set-up under another process's feet:
    the journal mode is set once and the live -wal file keeps its inode."""
    path = tmp_path / "shared.sqlite3"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (x)")
    other.execute("INSERT INTO t VALUES (1)")
    wal = path.with_name(path.name + "-wal")
    inode = wal.stat().st_ino
    wrapper = DatabaseWrapper({"NAME": str(path), "OPTIONS": {}, "TIME_ZONE": None})
    connection = wrapper.get_new_connection(wrapper.get_connection_params())
    connection.execute("INSERT INTO t VALUES (2)")
    connection.commit()
    connection.close()
    assert wal.stat().st_ino == inode
    assert other.execute("SELECT count(*) FROM t").fetchone() == (2,)
    assert other.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    other.close()


def test_a_new_database_file_is_put_in_wal_mode(tmp_path):
    path = tmp_path / "new.sqlite3"
    wrapper = DatabaseWrapper({"NAME": str(path), "OPTIONS": {}, "TIME_ZONE": None})
    connection = wrapper.get_new_connection(wrapper.get_connection_params())
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert connection.execute("PRAGMA foreign_keys").fetchone() == (1,)
    connection.close()


def _open_descriptors_to(path) -> int:  # type: ignore[no-untyped-def]
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = fd.readlink()
        except OSError:
            continue
        count += str(target).startswith(str(path))
    return count


HOLD_EXCLUSIVE = """
import sqlite3, sys
holder = sqlite3.connect(sys.argv[1], isolation_level=None)
holder.execute("CREATE TABLE t (x)")  # still in rollback-journal mode
holder.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_a_connection_whose_set_up_fails_is_closed_at_once(tmp_path):
    """A new connection refused by a file another process holds leaves no descriptor open
    behind it (the holder is another process: within one, SQLite itself defers closes)."""
    import gc
    import subprocess
    import sys

    path = tmp_path / "busy.sqlite3"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_EXCLUSIVE, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    wrapper = DatabaseWrapper({"NAME": str(path), "OPTIONS": {"timeout": 0.01}, "TIME_ZONE": None})
    gc.disable()
    try:
        for _ in range(5):
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                wrapper.get_new_connection(wrapper.get_connection_params())
        assert _open_descriptors_to(path) == 0
    finally:
        gc.enable()
        holder.communicate("")
