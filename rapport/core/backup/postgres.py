"""PostgreSQL: snapshots with ``pg_dump`` (custom format), restores with ``pg_restore``.

The client tools must be of the server's major version or newer (``pg_dump`` refuses
to dump a newer server; ``pg_restore`` cannot read a dump from a newer ``pg_dump``).
Both are checked before anything is written, with a message saying what to install.
The row counts of the manifest are taken in the very snapshot ``pg_dump`` dumps
(``pg_export_snapshot``), on a connection of our own that is closed afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from rapport.core.backup.archive import BackupError

INSTALL_HINT = (
    "Install the PostgreSQL client tools of the server's major version or newer "
    "(Debian/Ubuntu: apt-get install postgresql-client-{major}, or postgresql-client "
    "when that is the server's version)."
)


def _connection_settings(database: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Keyword arguments for psycopg and environment variables for the client tools."""
    options = database.get("OPTIONS") or {}
    kwargs: dict[str, Any] = {"dbname": database["NAME"]}
    env = {**os.environ, "PGDATABASE": str(database["NAME"])}
    for key, param, var in (
        ("HOST", "host", "PGHOST"),
        ("PORT", "port", "PGPORT"),
        ("USER", "user", "PGUSER"),
        ("PASSWORD", "password", "PGPASSWORD"),
    ):
        if database.get(key):
            kwargs[param] = str(database[key])
            env[var] = str(database[key])
    if options.get("sslmode"):
        kwargs["sslmode"] = env["PGSSLMODE"] = str(options["sslmode"])
    return kwargs, env


def _connect(database: dict[str, Any]) -> psycopg.Connection[Any]:
    kwargs, _ = _connection_settings(database)
    try:
        return psycopg.connect(**kwargs)
    except psycopg.Error as exc:
        raise BackupError(
            f"Cannot connect to PostgreSQL database {database['NAME']}: {exc}"
        ) from None


def _server_major(conn: psycopg.Connection[Any]) -> tuple[int, str]:
    row = conn.execute("SHOW server_version_num").fetchone()
    version = conn.execute("SHOW server_version").fetchone()
    assert row is not None and version is not None
    return int(row[0]) // 10000, str(version[0]).split()[0]


def tool_version(name: str, server_major: int) -> tuple[str, int]:
    """The path and major version of ``pg_dump``/``pg_restore``; BackupError when it is
    missing or older than the server."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} was not found on PATH. " + INSTALL_HINT.format(major=server_major)
        )
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"(\d+)(?:\.(\d+))?", out.stdout)
    if match is None:
        raise BackupError(f"Cannot tell the version of {path}: {out.stdout or out.stderr}")
    major = int(match.group(1))
    if major < server_major:
        raise BackupError(
            f"{path} is version {major}, older than the PostgreSQL {server_major} server. "
            + INSTALL_HINT.format(major=server_major)
        )
    return path, major


def snapshot(
    database: dict[str, Any], target: Path
) -> tuple[dict[str, int], dict[str, list[str]], str, str]:
    """Dump the database into ``target``; returns rows per table and applied migrations
    as of the dumped snapshot, the server version and the pg_dump version."""
    _, env = _connection_settings(database)
    with _connect(database) as conn:
        server_major, server_version = _server_major(conn)
        pg_dump, dump_major = tool_version("pg_dump", server_major)
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        done = subprocess.run(
            [pg_dump, "--format=custom", f"--snapshot={row[0]}", f"--file={target}"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        counts, migrations = _describe(conn)
        conn.rollback()
    return counts, migrations, server_version, str(dump_major)


def _describe(conn: psycopg.Connection[Any]) -> tuple[dict[str, int], dict[str, list[str]]]:
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        )
    ]
    counts: dict[str, int] = {}
    for table in tables:
        row = conn.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(table)))
        counts[table] = int(row.fetchone()[0])  # type: ignore[index]
    migrations: dict[str, list[str]] = {}
    if "django_migrations" in counts:
        for app, name in conn.execute("SELECT app, name FROM django_migrations ORDER BY id"):
            migrations.setdefault(app, []).append(name)
    return counts, migrations


def restore(database: dict[str, Any], dump: Path, dump_major: int) -> None:
    """Drop the (verified empty) installation's tables and restore the dump in one
    transaction: either all of it lands or nothing does."""
    _, env = _connection_settings(database)
    with _connect(database) as conn:
        server_major, _ = _server_major(conn)
        pg_restore, restore_major = tool_version("pg_restore", server_major)
        if restore_major < dump_major:
            raise BackupError(
                f"This archive was written by pg_dump {dump_major}; {pg_restore} is version "
                f"{restore_major} and cannot read it. "
                + INSTALL_HINT.format(major=max(dump_major, server_major))
            )
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        ]
        with conn.transaction():
            for table in tables:
                conn.execute(
                    sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(table))
                )
    done = subprocess.run(
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={database['NAME']}",
            str(dump),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()}")


def describe(database: dict[str, Any]) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Rows per table and applied migrations of the live database."""
    with _connect(database) as conn:
        return _describe(conn)
