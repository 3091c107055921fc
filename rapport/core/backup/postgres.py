"""PostgreSQL: snapshots with ``pg_dump`` (custom format), restores with ``pg_restore``.

A restore runs as one transaction in one ``psql`` session (see ``restore``). The client
tools must be of the server's major version or newer (``pg_dump`` refuses to dump a
newer server; ``pg_restore`` cannot read a dump from a newer ``pg_dump``). They are
checked before anything is written, with a message saying what to install.
The row counts of the manifest are taken in the very snapshot ``pg_dump`` dumps
(``pg_export_snapshot``), on a connection of our own that is closed afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import IO, Any

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


def tool_version(name: str, server_major: int, beside: str | None = None) -> tuple[str, int]:
    """The path and major version of ``pg_dump``/``pg_restore``/``psql`` (the one in the
    folder of ``beside`` when there is one there); BackupError when it is missing or
    older than the server."""
    sibling = Path(beside).with_name(name) if beside else None
    path = str(sibling) if sibling and os.access(sibling, os.X_OK) else shutil.which(name)
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


# Runs first in the restore's transaction: the installation was checked to hold no data
# beyond what `migrate` writes, and a failure later rolls this back too.
DROP_TABLES = """\
SET client_min_messages = warning;
SET statement_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
BEGIN;
DO $drop$
DECLARE
  name text;
BEGIN
  FOR name IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I.%I CASCADE', current_schema(), name);
  END LOOP;
  -- functions the migrations made (the consent ledger's trigger function): the dump
  -- creates them again; those of extensions (pg_trgm) stay
  FOR name IN
    SELECT p.oid::regprocedure::text FROM pg_proc p
    WHERE p.pronamespace = current_schema()::regnamespace
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE 'DROP FUNCTION IF EXISTS ' || name || ' CASCADE';
  END LOOP;
END
$drop$;
"""


def restore(database: dict[str, Any], dump: Path, dump_major: int, tables: dict[str, int]) -> None:
    """Replace the installation's tables with the dump's, all or nothing.

    One ``psql`` session runs a single transaction: drop every table of the current
    schema (and its functions that belong to no extension), run the SQL that ``pg_restore`` writes for the dump, compare every table's
    row count with ``tables`` (the manifest's). COMMIT is sent only once ``pg_restore``
    has read the whole dump and every statement has succeeded. Any failure (a damaged
    dump, a statement the server refuses, a count that differs, this process killed)
    ends the session without it and PostgreSQL rolls the transaction back: the tables
    are as they were. Raises BackupError saying what failed.
    """
    _, env = _connection_settings(database)
    with _connect(database) as conn:
        server_major, _ = _server_major(conn)
        epilogue = _row_count_check(conn, tables) + "COMMIT;\n"
    pg_restore, restore_major = tool_version("pg_restore", server_major)
    if restore_major < dump_major:
        raise BackupError(
            f"This archive was written by pg_dump {dump_major}; {pg_restore} is version "
            f"{restore_major} and cannot read it. "
            + INSTALL_HINT.format(major=max(dump_major, server_major))
        )
    # The script pg_restore writes may use psql meta-commands of its own release.
    psql, psql_major = tool_version("psql", server_major, beside=pg_restore)
    if psql_major < restore_major:
        raise BackupError(
            f"{psql} is version {psql_major}, older than {pg_restore} ({restore_major}). "
            + INSTALL_HINT.format(major=restore_major)
        )
    _check_dump(pg_restore, dump, env)
    _run_in_one_transaction(
        psql=[psql, "--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1"],
        script=[
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--file=-",
            str(dump),
        ],
        prologue=DROP_TABLES,
        epilogue=epilogue,
        env=env,
    )


def _row_count_check(conn: psycopg.Connection[Any], tables: dict[str, int]) -> str:
    """SQL that raises, inside the restore's transaction, when a table's row count is
    not the manifest's (the script pg_restore writes empties search_path: reset it)."""
    expected = sql.Literal(json.dumps(tables)).as_string(conn)
    return f"""\
RESET search_path;
DO $check$
DECLARE
  item record;
  counted bigint;
  problems text[] := '{{}}';
BEGIN
  FOR item IN SELECT key, value::bigint AS want FROM jsonb_each_text({expected}::jsonb)
      ORDER BY key LOOP
    IF to_regclass(quote_ident(item.key)) IS NULL THEN
      problems := problems || format('%s is missing, expected %s rows', item.key, item.want);
    ELSE
      EXECUTE format('SELECT count(*) FROM %I', item.key) INTO counted;
      IF counted <> item.want THEN
        problems := problems
          || format('%s has %s rows, expected %s', item.key, counted, item.want);
      END IF;
    END IF;
  END LOOP;
  IF cardinality(problems) > 0 THEN
    RAISE EXCEPTION 'the restored database does not hold what the manifest lists: %',
      array_to_string(problems, ', ');
  END IF;
END
$check$;
"""


def _check_dump(pg_restore: str, dump: Path, env: dict[str, str]) -> None:
    """BackupError when pg_restore cannot read the dump's table of contents, or when the
    dump holds large objects: pg_restore wraps those in a transaction of their own,
    which would end the restore's. Rapport never stores any."""
    listed = subprocess.run(
        [pg_restore, "--list", str(dump)], env=env, capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:
        problem = _error_message(listed.stderr)
        raise BackupError(
            f"pg_restore cannot read the archive's database dump ({problem}). Nothing was changed."
        )
    if re.search(r"^\d+; \d+ \d+ (BLOBS?|LARGE OBJECT)\b", listed.stdout, re.MULTILINE):
        raise BackupError(
            "The archive's database dump holds PostgreSQL large objects, which Rapport never "
            "writes: it was not made by `rapport backup`. Nothing was changed."
        )


def _run_in_one_transaction(
    *, psql: list[str], script: list[str], prologue: str, epilogue: str, env: dict[str, str]
) -> None:
    """Feed ``prologue``, the output of ``script`` and ``epilogue`` to one ``psql``
    session; ``epilogue`` (which ends with COMMIT) only once ``script`` has succeeded."""
    with (
        tempfile.TemporaryFile() as script_errors,
        tempfile.TemporaryFile() as session_errors,
    ):
        session = subprocess.Popen(
            psql, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=session_errors
        )
        try:
            writer = subprocess.Popen(script, env=env, stdout=subprocess.PIPE, stderr=script_errors)
        except BaseException:
            session.kill()
            session.wait()
            raise
        assert session.stdin is not None and writer.stdout is not None
        failed: str | None = "psql"
        try:
            session.stdin.write(prologue.encode())
            shutil.copyfileobj(writer.stdout, session.stdin, 1 << 20)
            if writer.wait() != 0:
                failed = "pg_restore"
            else:
                session.stdin.write(epilogue.encode())
                session.stdin.close()
                if session.wait() == 0:
                    failed = None
        except BrokenPipeError:
            pass  # psql stopped at an error; its message says which
        finally:
            for process in (writer, session):
                if process.poll() is None:
                    # psql ends without COMMIT: the server rolls the transaction back.
                    process.kill()
                process.wait()
            with suppress(OSError):
                session.stdin.close()
            writer.stdout.close()
        if failed is None:
            return
        if failed == "pg_restore":
            message = f"pg_restore: {_error_message(script_errors)}"
        else:
            message = _error_message(session_errors)
    raise BackupError(
        f"Restoring the database failed ({message}). The restore was rolled back: the "
        "database is as it was before. Nothing was changed."
    )


# How psql and pg_restore start an error line ("pg_restore: error: …", "ERROR:  …").
ERROR_PREFIX = re.compile(r"^(?:(?:psql|pg_restore):(?:<stdin>:\d+:)? )?(?:error:|ERROR:)\s*")


def _error_message(output: IO[bytes] | str) -> str:
    """The errors a client tool wrote, without its prefixes and PL/pgSQL context lines."""
    if not isinstance(output, str):
        output.seek(0)
        output = output.read().decode("utf-8", "replace")
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if ERROR_PREFIX.match(line)] or lines[-5:]
    return "; ".join(ERROR_PREFIX.sub("", line) for line in errors) or "no message"
