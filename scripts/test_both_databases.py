"""Run the whole suite on SQLite and on PostgreSQL (when one is reachable) side by side.

The two runs share nothing (an in-memory SQLite database; a PostgreSQL test database
named after the process), so they run at the same time, one per core. The SQLite run
prints as it goes; the PostgreSQL run's output is kept and printed whole after it. Under CI=true a missing PostgreSQL is a failure,
not a skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from typing import IO

import psycopg


def postgres_reachable(url: str) -> str | None:
    try:
        with psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


Run = tuple[subprocess.Popen[bytes], IO[bytes] | None]


def start(label: str, env: dict[str, str], *, live: bool) -> Run:
    """Start one whole run of the suite: printing as it goes, or into a temporary file."""
    command = [sys.executable, "-m", "pytest", *sys.argv[1:]]
    if live:
        print(f"\n=== Test suite on {label} ===", flush=True)
        return subprocess.Popen(command, env=env), None
    output = tempfile.TemporaryFile(prefix="rapport-tests-")  # noqa: SIM115 (closed in finish)
    return subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT), output


def finish(label: str, run: Run) -> int:
    """Wait for a run, print its kept output and return its exit code."""
    process, output = run
    code = process.wait()
    if output is not None:
        print(f"\n=== Test suite on {label} ===", flush=True)
        output.seek(0)
        sys.stdout.buffer.write(output.read())
        sys.stdout.flush()
        output.close()
    return code


def main() -> int:
    base = {**os.environ}
    base.pop("DATABASE_URL", None)
    failures = 0
    url = os.environ.get("RAPPORT_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    problem = postgres_reachable(url)
    postgres_run = None
    if problem is None:
        postgres_run = start("PostgreSQL", {**base, "DATABASE_URL": url}, live=False)
    sqlite_run = start("SQLite", base, live=True)
    if finish("SQLite", sqlite_run) != 0:
        failures += 1
    if postgres_run is not None:
        if finish("PostgreSQL", postgres_run) != 0:
            failures += 1
    elif os.environ.get("CI", "").lower() == "true":
        print(f"\nPostgreSQL is required under CI=true but {url} is not reachable: {problem}")
        failures += 1
    else:
        print(f"\nSkipping the PostgreSQL run: {url} is not reachable ({problem}).")
        print("Set RAPPORT_TEST_DATABASE_URL to a reachable server to run it.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
