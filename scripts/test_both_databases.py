"""Run the whole suite on SQLite, then on PostgreSQL when one is reachable.

Under CI=true a missing PostgreSQL is a failure, not a skip.
"""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg


def postgres_reachable(url: str) -> str | None:
    try:
        with psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


def run(label: str, env: dict[str, str]) -> int:
    print(f"\n=== Test suite on {label} ===", flush=True)
    return subprocess.call([sys.executable, "-m", "pytest", *sys.argv[1:]], env=env)


def main() -> int:
    base = {**os.environ}
    base.pop("DATABASE_URL", None)
    failures = 0
    if run("SQLite", base) != 0:
        failures += 1
    url = os.environ.get("RAPPORT_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    problem = postgres_reachable(url)
    if problem is None:
        if run("PostgreSQL", {**base, "DATABASE_URL": url}) != 0:
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
