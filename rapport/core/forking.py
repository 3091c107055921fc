"""A forked child never uses or closes the database connections it inherits, and is
never forked while a job's heartbeat thread is half-way through a write.

Imports, exports and the demo generator fork helper processes. The child gets a copy of
the parent's open connections: a SQLite handle whose locks belong to the parent, or a
PostgreSQL socket shared with it. Querying through either, or closing it (which a
garbage collection in the child would do), corrupts the parent's session or file. At
the fork the child drops its references to them and keeps the raw handles alive until
it exits, so nothing closes them there; a child that needs the database opens a
connection of its own.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.db import connections

from rapport.core import jobs

# The raw handles inherited at the fork, kept referenced so no finaliser closes them.
_inherited: list[Any] = []
_installed = False


def _forget_inherited_connections() -> None:
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            _inherited.append(connection.connection)
            connection.connection = None
            connection.in_atomic_block = False
            connection.savepoint_ids = []
            connection.needs_rollback = False
            connection.run_on_commit = []


def _hold_beats() -> None:
    jobs.beat_lock.acquire()


def _release_beats() -> None:
    jobs.beat_lock.release()


def _in_child() -> None:
    # The heartbeat threads do not exist here; the lock copied at the fork is held.
    jobs.beat_lock = threading.Lock()
    _forget_inherited_connections()


def install() -> None:
    """Register the fork handlers once per process (from ``CoreConfig.ready``)."""
    global _installed
    if not _installed:
        os.register_at_fork(
            before=_hold_beats, after_in_parent=_release_beats, after_in_child=_in_child
        )
        _installed = True
