"""SQLite: snapshots and restores through SQLite's online backup API.

Both directions go through SQLite's own locking on connections opened here (not
Django's) and closed before returning, so a server or worker that has the database open
keeps reading a consistent file, and no copy is ever taken of a file mid-write.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from rapport.core.backup.archive import BackupError


def snapshot(database: Path, target: Path) -> None:
    """Copy the live database at ``database`` into a new self-contained file ``target``."""
    if not database.exists():
        raise BackupError(f"{database}: no such database; run `rapport setup` first.")
    with (
        closing(sqlite3.connect(database, timeout=30)) as source,
        closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)
        # One file with no -wal beside it: the archive holds everything.
        copy.execute("PRAGMA journal_mode=DELETE")
        (result,) = copy.execute("PRAGMA integrity_check").fetchone()
        if result != "ok":
            raise BackupError(f"The snapshot of {database} failed its integrity check: {result}")


def restore(snapshot_file: Path, database: Path) -> None:
    """Replace the content of ``database`` with the snapshot, through the backup API."""
    database.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(snapshot_file)) as source,
        closing(sqlite3.connect(database, timeout=30)) as live,
    ):
        source.backup(live)
        live.execute("PRAGMA journal_mode=WAL")


def describe(snapshot_file: Path) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Rows per table and applied migrations per app, read from a snapshot file."""
    with closing(sqlite3.connect(f"file:{snapshot_file}?mode=ro", uri=True)) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        counts = {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
        migrations: dict[str, list[str]] = {}
        if "django_migrations" in counts:
            for app, name in db.execute("SELECT app, name FROM django_migrations ORDER BY id"):
                migrations.setdefault(app, []).append(name)
    return counts, migrations
