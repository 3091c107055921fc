"""SQLite: snapshots and restores through SQLite's online backup API.

Both directions go through SQLite's own locking on connections opened here (not
Django's) and closed before returning, so a server or worker that has the database open
keeps reading a consistent file, and no copy is ever taken of a file mid-write.

A restore checks the snapshot whole before it touches the live database, then copies it
in with one ``sqlite3_backup_step(-1)``: a single write transaction on the live file,
journaled like any other, so a failure or a crash part-way leaves the old content.
Copying through the live file (rather than renaming a new file over it) keeps its
``-wal`` and ``-shm`` files coherent and serves every open connection the new content.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from rapport.core.backup.archive import BackupError, row_count_differences
from rapport.core.sqlite_backend.base import ensure_wal


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


def check_snapshot(snapshot_file: Path, tables: dict[str, int]) -> None:
    """BackupError unless ``snapshot_file`` is a sound SQLite database holding exactly
    the rows per table of ``tables`` (the manifest's)."""
    try:
        with closing(_open_read_only(snapshot_file)) as db:
            problems = [row[0] for row in db.execute("PRAGMA integrity_check(5)")]
        if problems != ["ok"]:
            raise BackupError(
                "The archive's database is damaged: SQLite's integrity check reports "
                + "; ".join(problems)
                + ". Nothing was changed."
            )
        counts, _ = describe(snapshot_file)
    except sqlite3.DatabaseError as exc:
        raise BackupError(
            f"The archive's database is damaged: SQLite cannot read it ({exc}). "
            "Nothing was changed."
        ) from None
    differ = row_count_differences(tables, counts)
    if differ:
        raise BackupError(
            f"The archive's database does not hold what the manifest lists: {differ}. "
            "Nothing was changed."
        )


def restore(snapshot_file: Path, database: Path, tables: dict[str, int]) -> None:
    """Replace the content of ``database`` with the snapshot, all or nothing.

    The snapshot is checked first (``check_snapshot``); then it is copied over the live
    database in one transaction. Raises BackupError, with the live database unchanged,
    when the check or the copy fails.
    """
    check_snapshot(snapshot_file, tables)
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        with (
            closing(_open_read_only(snapshot_file)) as source,
            closing(sqlite3.connect(database, timeout=30)) as live,
        ):
            source.backup(live, pages=-1)
            ensure_wal(live)
    except sqlite3.Error as exc:
        raise BackupError(
            f"Copying the archive's database into {database} failed ({exc}); SQLite rolled "
            "the copy back. Nothing was changed."
        ) from None


def _open_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def describe(snapshot_file: Path) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Rows per table and applied migrations per app, read from a snapshot file."""
    with closing(_open_read_only(snapshot_file)) as db:
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
