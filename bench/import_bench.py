"""Import speed and memory: a Google-Contacts-format CSV through `rapport import`.

    python bench/import_bench.py [--rows 20000] [--engine postgresql|sqlite|both]

Each run imports into a new, empty database (a SQLite file under var/bench/, or the
PostgreSQL database `rapport_import_bench`) in a child process, with full validation,
and reports rows per second, the child's peak memory (maximum resident set size) and the
CPU time per row of the importer, its validating process and its PostgreSQL backend.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
POSTGRES = os.environ.get("RAPPORT_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
HEADER = [
    "Name", "Given Name", "Family Name", "E-mail 1 - Type", "E-mail 1 - Value",
    "Phone 1 - Type", "Phone 1 - Value", "Address 1 - City", "Address 1 - Country",
    "Organization 1 - Name", "Organization 1 - Title", "Group Membership", "Notes",
]  # fmt: skip
GIVEN = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Tim", "Barbara", "Dennis", "Frances", "Ken"]
FAMILY = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Hamilton",
    "Berners-Lee",
    "Liskov",
    "Ritchie",
]
# Every row gets its own valid number, so rows match nothing and each makes a contact.
CITIES = [
    ("London", "GB", lambda i: f"+44 20 7{i // 10_000 % 1000:03d} {i % 10_000:04d}"),
    ("Berlin", "DE", lambda i: f"030 {20_000_000 + i:08d}"),
    ("Paris", "FR", lambda i: f"+33 1 42 {i % 1_000_000:06d}"),
    ("Boston", "US", lambda i: f"(617) {200 + i // 10_000 % 800:03d}-{i % 10_000:04d}"),
]


def write_file(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(rows):
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            city, country, phone = rng.choice(CITIES)
            writer.writerow([
                f"{given} {family}", given, family, "* Work", f"{given}.{family}.{i}@example.com".lower(),
                "Mobile", phone(i), city, country, f"Company {i % 5000}", "Engineer",
                "* myContacts ::: Customers", "Imported for the benchmark",
            ])  # fmt: skip


def run(engine: str, path: Path, rows: int) -> dict[str, float]:
    env = {**os.environ, "RAPPORT_DATA_DIR": str(BENCH_DIR / "import-data")}
    if engine == "sqlite":
        database = BENCH_DIR / "import.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{database}"
    else:
        import psycopg

        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS rapport_import_bench")
            conn.execute("CREATE DATABASE rapport_import_bench")
        env["DATABASE_URL"] = f"{POSTGRES}/rapport_import_bench"
    rapport = str(Path(sys.executable).parent / "rapport")
    setup_env = {**env, "RAPPORT_ADMIN_PASSWORD": "bench-password-1"}
    subprocess.run([rapport, "setup", "--no-demo"], env=setup_env, check=True, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    process = subprocess.Popen(
        [rapport, "import", str(path), "--no-progress"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    cpu = CpuWatch(process.pid, "rapport_import_bench" if engine == "postgresql" else None)
    while process.poll() is None:
        cpu.sample()
        time.sleep(0.5)
    stdout, stderr = process.communicate()
    if process.returncode:
        raise SystemExit(f"rapport import failed:\n{stderr}")
    seconds = time.perf_counter() - started
    peak_kb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    return {
        "rows": rows,
        "seconds": round(seconds, 1),
        "rows_per_s": round(rows / seconds),
        "peak_mb": round(peak_kb / 1024),
        "cpu_us": {k: round(v * 1e6 / rows) for k, v in cpu.totals().items()},
        "summary": (stdout.strip().splitlines() or [""])[-1],
    }


class CpuWatch:
    """CPU seconds of the import, its validating process and its PostgreSQL backends.

    Read from /proc every half second while they run (so the last half second of a
    process that ends is missed); Linux only.
    """

    def __init__(self, pid: int, database: str | None) -> None:
        self.pid = pid
        self.database = database
        self.seen: dict[int, tuple[str, float]] = {}

    def sample(self) -> None:
        roles = {self.pid: "importer"}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _stat(int(entry.name), 1) == str(self.pid):
                roles[int(entry.name)] = "validating process"
        if self.database:
            import psycopg

            with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
                for (pid,) in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.database]
                ):
                    roles[pid] = "PostgreSQL"
        for pid, role in roles.items():
            utime, stime = _stat(pid, 11), _stat(pid, 12)
            if utime is not None and stime is not None:
                ticks = os.sysconf("SC_CLK_TCK")
                self.seen[pid] = (role, (int(utime) + int(stime)) / ticks)

    def totals(self) -> dict[str, float]:
        result: dict[str, float] = {}
        for role, seconds in self.seen.values():
            result[role] = result.get(role, 0.0) + seconds
        return result


def _stat(pid: int, index: int) -> str | None:
    """Field ``index`` after the command name in /proc/PID/stat (1: parent, 11: utime)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[index]
    except (OSError, IndexError):
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--engine", choices=["postgresql", "sqlite", "both"], default="both")
    args = parser.parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"google-contacts-{args.rows}.csv"
    if not path.exists():
        write_file(path, args.rows)
    engines = ["postgresql", "sqlite"] if args.engine == "both" else [args.engine]
    print(
        f"Import of a {args.rows:,}-row Google Contacts CSV (full validation, organizations, tags)"
    )
    for engine in engines:
        result = run(engine, path, args.rows)
        print(
            f"  {engine:<10} {result['rows_per_s']:>6,} rows/s   {result['seconds']:>7} s   peak {result['peak_mb']} MB"
        )
        cpu = ", ".join(f"{role} {us}" for role, us in result["cpu_us"].items())
        print(f"             CPU µs per row: {cpu}")
        print(f"             {result['summary']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
