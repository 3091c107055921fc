"""Django's SQLite backend with connection settings that keep a shared database file sound.

Several processes use one SQLite file: gunicorn's workers and their threads, the task
worker, and CLI commands such as imports and duplicate scans. Two things matter:

- The journal mode is stored in the database file, so it is set once, when the file is
  not yet in WAL mode, never on every new connection. ``PRAGMA journal_mode=WAL`` on a
  fresh connection takes exclusive locks and re-runs the WAL set-up while other
  processes read and write through the same ``-wal`` and ``-shm`` files; done on every
  request (connections are opened per request) this is what left workers holding
  deleted ``-wal`` files and, under load, corrupted the database.
- The remaining pragmas are per connection and harmless to repeat.
- A connection whose set-up fails is closed at once, never left for the garbage
  collector (whose thresholds the servers raise) to close later.

Errors while the database is busy beyond ``timeout`` reach the client as a 503 with
``Retry-After`` (``rapport.core.busy``), never as a damaged file.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.sqlite3 import base

# Per-connection settings; each is a plain assignment that touches no shared state.
CONNECTION_PRAGMAS = (
    "PRAGMA synchronous = NORMAL",  # durable across application crashes in WAL mode
    "PRAGMA cache_size = -64000",  # 64 MB of page cache per connection
    "PRAGMA mmap_size = 268435456",  # read through a 256 MB memory map
    "PRAGMA journal_size_limit = 67108864",  # truncate the WAL back to 64 MB after checkpoints
)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        try:
            ensure_wal(connection)
            for pragma in CONNECTION_PRAGMAS:
                connection.execute(pragma)
        except BaseException:
            # A set-up that fails (the file busy past the timeout) must not leave an
            # open handle that only the garbage collector would close, at a moment
            # nobody chose, holding descriptors to -wal and -shm files in the meantime.
            connection.close()
            raise
        return connection


def ensure_wal(connection: Any) -> None:
    """Switch the file to WAL once; a file already in WAL mode is left untouched."""
    (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    if str(mode).lower() not in {"wal", "memory"}:
        connection.execute("PRAGMA journal_mode = WAL")
