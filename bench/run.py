"""Search, list and detail latency on a large database, on PostgreSQL and on SQLite.

    python bench/run.py [--contacts 1000000] [--engine postgresql|sqlite|both] [--rounds 3]

Each engine runs in its own process (settings read DATABASE_URL once). The benchmark
database is loaded with `rapport demo` the first time and reused afterwards:
PostgreSQL database `rapport_bench` on RAPPORT_BENCH_POSTGRES (default
postgres://postgres@127.0.0.1:5432), SQLite file var/bench/rapport-<N>.sqlite3.
Requests go through the whole stack (URL routing, token authentication, django-ninja,
serialisation) with django.test.Client; the numbers are wall-clock per request.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
RESULTS_DIR = ROOT / "bench" / "results"
POSTGRES = os.environ.get("RAPPORT_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
PER_KIND = 25  # queries of each kind
TARGETS_MS = {"postgresql": {"search": 50, "other": 50}, "sqlite": {"search": 100, "other": 50}}

KINDS = (
    ("name, 2 letters", "search"),
    ("name, 3-5 letters", "search"),
    ("name, inner fragment", "search"),
    ("full name", "search"),
    ("surname", "search"),
    ("email", "search"),
    ("phone fragment", "search"),
    ("phone, full", "search"),
    ("city", "search"),
    ("organization", "search"),
    ("list, first page", "other"),
    ("list, page 5 (cursor)", "other"),
    ("contact detail", "other"),
)


def database_url(engine: str, contacts: int) -> str:
    if engine == "postgresql":
        return f"{POSTGRES}/rapport_bench"
    return f"sqlite:///{BENCH_DIR / f'rapport-{contacts}.sqlite3'}"


def ensure_postgres_database() -> None:
    import psycopg

    url = POSTGRES.replace("postgres://", "postgresql://", 1) + "/postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'rapport_bench'").fetchone():
            conn.execute("CREATE DATABASE rapport_bench")


# ------------------------------------------------------------------ one engine


def prepare(contacts: int, engine: str) -> dict[str, Any]:
    """Migrate and load the benchmark data unless it is already there."""
    from django.core.management import call_command

    from rapport.access.models import User
    from rapport.contacts.demo import demo_load
    from rapport.contacts.models import Contact

    call_command("migrate", interactive=False, verbosity=0)
    for name in ("bench", "ana", "ben", "chloe"):
        User.objects.get_or_create(username=name, defaults={"role": User.Role.ADMIN})
    present = Contact.objects.count()
    load_file = BENCH_DIR / f"load-{engine}-{contacts}.json"
    if present < contacts:
        started = time.monotonic()
        demo_load(
            contacts=contacts - present,
            organizations=max(10, (contacts - present) // 50),
            seed=present + 7,
        )
        seconds = time.monotonic() - started
        load = {"contacts": contacts - present, "seconds": round(seconds, 1)}
        load_file.write_text(json.dumps(load))
    return json.loads(load_file.read_text()) if load_file.exists() else {}


def queries(seed: int = 42) -> dict[str, list[str]]:
    """A realistic mix, taken from the data itself so every engine gets the same text."""
    from rapport.contacts.models import Contact, Organization
    from rapport.contacts.normalize import phone_display
    from rapport.core.text import fold

    rng = random.Random(seed)
    low, high = (
        Contact.objects.order_by("id").values_list("id", flat=True)[0],
        (Contact.objects.order_by("-id").values_list("id", flat=True)[0]),
    )
    people = []
    while len(people) < PER_KIND:
        found = (
            Contact.objects.filter(id__gte=rng.randint(low, high))
            .order_by("id")
            .prefetch_related("emails", "phones", "addresses")
            .first()
        )
        if found and found.emails.all() and found.phones.all() and found.addresses.all():
            people.append(found)
    mix: dict[str, list[str]] = {kind: [] for kind, _ in KINDS}
    for person in people:
        family = person.family_name
        latin = fold(family).isascii()
        mix["name, 2 letters"].append(person.sort_name[:2])
        mix["name, 3-5 letters"].append(
            (person.given_name if rng.random() < 0.5 else family)[: rng.randint(3, 5)]
        )
        inner = fold(family)[1:5] if latin and len(family) >= 5 else fold(family)
        mix["name, inner fragment"].append(inner)
        mix["full name"].append(person.display_name)
        mix["surname"].append(family)
        mix["email"].append(person.emails.all()[0].address)
        phone = person.phones.all()[0]
        national = phone_display(phone.e164).split(" ", 1)[1].replace("-", " ").split()
        digits = "".join(national)
        mix["phone fragment"].append(f"{digits[-7:-4]} {digits[-4:]}")
        mix["phone, full"].append(phone_display(phone.e164) if rng.random() < 0.5 else phone.number)
        mix["city"].append(person.addresses.all()[0].locality)
    org_ids = list(Organization.objects.values_list("id", flat=True))
    mix["organization"] = list(
        Organization.objects.filter(id__in=rng.sample(org_ids, PER_KIND)).values_list(
            "name", flat=True
        )
    )
    mix["contact detail"] = [str(p.pk) for p in people]
    return mix


def measure(rounds: int) -> dict[str, Any]:
    from django.test import Client

    from rapport.access.models import User
    from rapport.access.services import token_create

    user = User.objects.get(username="bench")
    _, key = token_create(user=user, name="bench")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_HOST="localhost")
    mix = queries()
    # Measure the way `rapport serve` runs the app (see rapport/wsgi.py).
    from rapport.core.runtime import tune_garbage_collector

    tune_garbage_collector()

    def get(path: str, params: dict[str, str] | None = None) -> Any:
        response = client.get(path, params or {})
        if response.status_code != 200:
            raise RuntimeError(
                f"GET {path} {params} -> {response.status_code}: {response.content!r}"
            )
        return response

    cursors = []
    page = get("/api/v1/contacts", {"limit": "25"}).json()
    for _ in range(PER_KIND):
        cursors.append(page["next_cursor"])
        page = get("/api/v1/contacts", {"limit": "25", "cursor": page["next_cursor"]}).json()

    full_collections = [0]

    def count_full_collections(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full_collections[0] += 1

    gc.callbacks.append(count_full_collections)

    def once(kind: str, value: str) -> float:
        started = time.perf_counter()
        if kind == "contact detail":
            get(f"/api/v1/contacts/{value}")
        elif kind == "list, first page":
            get("/api/v1/contacts")
        elif kind == "list, page 5 (cursor)":
            get("/api/v1/contacts", {"cursor": value})
        else:
            get("/api/v1/contacts", {"q": value})
        return (time.perf_counter() - started) * 1000

    work = [(kind, value) for kind, values in mix.items() for value in values]
    work += [("list, first page", "") for _ in range(PER_KIND)]
    work += [("list, page 5 (cursor)", c) for c in cursors]
    for kind, value in work:  # warm the caches and the database's buffers
        once(kind, value)
    timings: dict[str, list[float]] = {kind: [] for kind, _ in KINDS}
    # The same, leaving out requests during which Python ran a full garbage collection
    # (a pause of its own, unrelated to the request; see docs/benchmarks.md).
    no_gc: dict[str, list[float]] = {kind: [] for kind, _ in KINDS}
    slowest: dict[str, tuple[float, str]] = {}
    for _ in range(rounds):
        random.Random(len(timings)).shuffle(work)
        for kind, value in work:
            before = full_collections[0]
            ms = once(kind, value)
            timings[kind].append(ms)
            if full_collections[0] == before:
                no_gc[kind].append(ms)
            if ms > slowest.get(kind, (0.0, ""))[0]:
                slowest[kind] = (ms, value)
    gc.callbacks.remove(count_full_collections)
    return {
        kind: {
            "n": len(ms),
            "p50": round(statistics.median(ms), 1),
            "p95": round(percentile(ms, 95), 1),
            "max": round(max(ms), 1),
            "p95_no_gc": round(percentile(no_gc[kind], 95), 1),
            "gc_hit": len(ms) - len(no_gc[kind]),
            "slowest": slowest[kind][1],
            "examples": mix.get(kind, [])[:3],
        }
        for kind, ms in timings.items()
        if ms
    }


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def run_engine(engine: str, contacts: int, rounds: int, load_only: bool) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    from rapport.contacts.models import Contact

    load = prepare(contacts, engine)
    return {
        "engine": engine,
        "contacts": Contact.objects.count(),
        "load": load,
        "results": {} if load_only else measure(rounds),
    }


# ------------------------------------------------------------------ the front


def report(runs: list[dict[str, Any]]) -> str:
    lines = []
    for run in runs:
        load = run.get("load") or {}
        loaded = f"; loaded {load['contacts']:,} in {load['seconds']:.0f} s" if load else ""
        lines.append(f"\n{run['engine']}: {run['contacts']:,} contacts{loaded}")
        lines.append(
            f"  {'request':<26}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}  target p95"
            f"  {'p95 without GC pauses':>22}"
        )
        for kind, group in KINDS:
            row = run["results"].get(kind)
            if not row:
                continue
            target = TARGETS_MS[run["engine"]][group]
            mark = "ok" if row["p95"] <= target else "MISSED"
            lines.append(
                f"  {kind:<26}{row['p50']:>9.1f}{row['p95']:>9.1f}{row['max']:>9.1f}"
                f"  ≤{target} {mark:<6}  {row['p95_no_gc']:>9.1f} ({row['gc_hit']} hit)"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3, help="Timed passes over the query mix.")
    parser.add_argument(
        "--load-only", action="store_true", help="Load the benchmark database, measure nothing."
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if args.worker:
        print(json.dumps(run_engine(args.engine, args.contacts, args.rounds, args.load_only)))
        return 0
    engines = ["postgresql", "sqlite"] if args.engine == "both" else [args.engine]
    runs = []
    for engine in engines:
        if engine == "postgresql":
            ensure_postgres_database()
        print(f"Benchmarking {engine} with {args.contacts:,} contacts…", file=sys.stderr)
        env = {**os.environ, "DATABASE_URL": database_url(engine, args.contacts)}
        env.setdefault("DATABASE_CONN_MAX_AGE", "600")
        out = subprocess.run(
            [sys.executable, __file__, "--worker", "--engine", engine]
            + ["--contacts", str(args.contacts), "--rounds", str(args.rounds)]
            + (["--load-only"] if args.load_only else []),
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        ).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    print(report(runs))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"{stamp}-{args.contacts}.json").write_text(json.dumps(runs, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
