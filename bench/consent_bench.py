"""The consent step of the contact gate: one decision in process, and a decision for
every contact of a large database in SQL.

    python bench/consent_bench.py [--contacts 1000000] [--engine postgresql|sqlite|both]
                                  [--calls 5000] [--appends 2000]

Each engine runs in its own process, on a database of its own (PostgreSQL
`rapport_consent_bench` on RAPPORT_BENCH_POSTGRES, SQLite var/bench/consent-<N>.sqlite3),
loaded the first time: N bare contacts; a "newsletter" purpose (consent, marketing,
730 days' retention) with a granted email state for 60 % of them, withdrawn for 5 %,
pending for 1 %; an "updates" purpose (legitimate interest) withdrawn by 3 %;
objections to direct marketing for 2 % and restrictions for 0.5 %. The derived state is
written directly (as `rapport consent rebuild` would leave it) so the load takes
minutes, not hours; the append path is measured on its own.

Measured:
- `consent_verdict` for random contacts, warm (after one pass): p50 / p95 / mean per call;
- `contacts_consenting(Contact.objects.all(), purpose="newsletter", channel="email")`:
  counting and reading every id that may be emailed;
- `consent_record` appends one by one (ledger row, hash chain, derived state) and
  `rapport consent verify` over the chain they make.
Targets: verdict ≤ 0.3 ms p95; the bulk decision well inside the gate's 30 s. The
round trip of a bare `SELECT 1` is measured alongside, as the floor of any query.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
DB_NAME = "rapport_consent_bench"
BATCH = 20_000


def database_url(engine: str, contacts: int) -> str:
    if engine == "postgresql":
        return f"{POSTGRES}/{DB_NAME}"
    return f"sqlite:///{BENCH_DIR / f'consent-{contacts}.sqlite3'}"


def ensure_postgres_database() -> None:
    import psycopg

    url = POSTGRES.replace("postgres://", "postgresql://", 1) + "/postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not found:
            conn.execute(f"CREATE DATABASE {DB_NAME}")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def load(contacts: int) -> None:
    from django.db import connection, transaction

    from rapport.access.models import User
    from rapport.consent import services
    from rapport.consent.models import ConsentContactState, ConsentState, Purpose
    from rapport.contacts.models import Contact

    present = Contact.objects.count()
    admin, _ = User.objects.get_or_create(username="bench", defaults={"role": "admin"})
    if not Purpose.objects.filter(key="newsletter").exists():
        services.purpose_create(
            actor=admin,
            data={
                "key": "newsletter",
                "name": "Newsletter",
                "lawful_basis": "consent",
                "is_marketing": True,
                "retention_days": 730,
                "text": "Yes, send me the newsletter.",
            },
        )
        services.purpose_create(
            actor=admin,
            data={"key": "updates", "name": "Updates", "lawful_basis": "legitimate_interest"},
        )
    if present >= contacts:
        return
    newsletter = Purpose.objects.get(key="newsletter")
    updates = Purpose.objects.get(key="updates")
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    for start in range(present, contacts, BATCH):
        size = min(BATCH, contacts - start)
        with transaction.atomic():
            made = Contact.objects.bulk_create(
                [
                    Contact(
                        given_name=f"Person{n}",
                        family_name="Bench",
                        display_name=f"Person{n} Bench",
                        sort_name=f"bench person{n}",
                    )
                    for n in range(start, start + size)
                ],
                batch_size=2000,
            )
            if made[0].pk is None:  # SQLite before RETURNING: read the ids back
                ids = list(Contact.objects.order_by("-id").values_list("id", flat=True)[:size])
            else:
                ids = [c.pk for c in made]
            states = []
            wide = []
            for pk in ids:
                roll = rng.random()
                since = now - dt.timedelta(days=rng.randrange(1, 700))
                status = (
                    "granted"
                    if roll < 0.60
                    else "withdrawn"
                    if roll < 0.65
                    else "pending"
                    if roll < 0.66
                    else None
                )
                if status:
                    states.append(
                        ConsentState(
                            contact_id=pk,
                            purpose=newsletter,
                            channel="email",
                            status=status,
                            since=since,
                            event_id=pk,
                        )
                    )
                if rng.random() < 0.03:
                    states.append(
                        ConsentState(
                            contact_id=pk,
                            purpose=updates,
                            channel="email",
                            status="withdrawn",
                            since=since,
                            event_id=pk,
                        )
                    )
                objects, restricted = rng.random() < 0.02, rng.random() < 0.005
                if objects or restricted:
                    wide.append(
                        ConsentContactState(
                            contact_id=pk,
                            restricted_since=since if restricted else None,
                            marketing_objection_since=since if objects else None,
                        )
                    )
            ConsentState.objects.bulk_create(states, batch_size=5000)
            ConsentContactState.objects.bulk_create(wide, batch_size=5000)
        print(
            f"  loaded {start + size:,} contacts ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def measure(calls: int, appends: int) -> dict[str, Any]:
    from django.db import connection

    from rapport.access.models import User
    from rapport.consent import services
    from rapport.consent.selectors import consent_verdict, contacts_consenting
    from rapport.contacts.models import Contact

    now = dt.datetime.now(dt.UTC)
    low, high = (
        Contact.objects.order_by("id").values_list("id", flat=True)[:1][0],
        Contact.objects.order_by("-id").values_list("id", flat=True)[:1][0],
    )
    rng = random.Random(3)
    asks = [
        (
            rng.randint(low, high),
            rng.choice(["newsletter", "newsletter", "updates"]),
            rng.choice(["email", "email", "sms"]),
        )
        for _ in range(calls)
    ]
    for contact_id, purpose, channel in asks:  # warm: connection, plans, pages
        consent_verdict(contact_id=contact_id, purpose=purpose, channel=channel, at=now)
    timings = []
    allowed = 0
    for contact_id, purpose, channel in asks:
        t = time.perf_counter()
        verdict = consent_verdict(contact_id=contact_id, purpose=purpose, channel=channel, at=now)
        timings.append((time.perf_counter() - t) * 1000)
        allowed += verdict.allowed
    floor = []
    with connection.cursor() as cursor:
        for _ in range(calls):
            t = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            floor.append((time.perf_counter() - t) * 1000)
    result: dict[str, Any] = {
        "engine": connection.vendor,
        # the round trip alone, for comparison: what any query costs on this machine now
        "select_1_ms": {
            "p50": round(percentile(floor, 50), 4),
            "p95": round(percentile(floor, 95), 4),
        },
        "contacts": Contact.objects.count(),
        "verdict_ms": {
            "p50": round(percentile(timings, 50), 4),
            "p95": round(percentile(timings, 95), 4),
            "mean": round(statistics.mean(timings), 4),
        },
        "verdict_allowed_share": round(allowed / calls, 3),
    }
    t = time.perf_counter()
    count = contacts_consenting(
        Contact.objects.all(), purpose="newsletter", channel="email", at=now
    ).count()
    result["bulk_count_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    ids = 0
    rows = contacts_consenting(Contact.objects.all(), purpose="newsletter", channel="email", at=now)
    for _ in rows.values_list("id", flat=True).iterator(chunk_size=10_000):
        ids += 1
    result["bulk_ids_s"] = round(time.perf_counter() - t, 2)
    result["bulk_allowed"] = count
    assert ids == count

    actor = User.objects.get(username="bench")
    sample = [rng.randint(low, high) for _ in range(appends)]
    timings = []
    for n, contact_id in enumerate(sample):
        t = time.perf_counter()
        services.consent_record(
            actor=actor,
            contact_id=contact_id,
            data={
                "action": "grant" if n % 3 else "withdraw",
                "purpose": "newsletter",
                "channel": "email",
                "method": "checkbox" if n % 3 else "email",
                "ip_address": "203.0.113.7",
                "user_agent": "bench",
            },
        )
        timings.append((time.perf_counter() - t) * 1000)
    result["append_ms"] = {
        "p50": round(percentile(timings, 50), 2),
        "p95": round(percentile(timings, 95), 2),
    }
    t = time.perf_counter()
    verification = services.consent_chain_verify()
    elapsed = time.perf_counter() - t
    assert verification.ok, verification
    result["verify"] = {
        "rows": verification.checked,
        "s": round(elapsed, 2),
        "rows_per_s": round(verification.checked / elapsed) if elapsed else None,
    }
    return result


def run_engine(engine: str, contacts: int, calls: int, appends: int) -> dict[str, Any]:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if engine == "postgresql":
        ensure_postgres_database()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(engine, contacts),
        "RAPPORT_DATA_DIR": str(BENCH_DIR),
    }
    subprocess.run(
        [sys.executable, "-m", "rapport.cli", "migrate", "--noinput", "-v", "0"],
        env=env,
        check=True,
        cwd=ROOT,
    )
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--inner",
            engine,
            "--contacts",
            str(contacts),
            "--calls",
            str(calls),
            "--appends",
            str(appends),
        ],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    sys.stdout.write(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
        django.setup()
        sys.stdout, real = sys.stderr, sys.stdout
        load(args.contacts)
        result = measure(args.calls, args.appends)
        real.write(json.dumps(result) + "\n")
        return 0
    engines = ["postgresql", "sqlite"] if args.engine == "both" else [args.engine]
    results = []
    for engine in engines:
        print(f"== {engine}, {args.contacts:,} contacts", flush=True)
        result = run_engine(engine, args.contacts, args.calls, args.appends)
        print(json.dumps(result, indent=2), flush=True)
        results.append(result)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"consent-{stamp}.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
