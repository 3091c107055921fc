"""Predicted customer value with a million customers, on PostgreSQL and on SQLite.

    python bench/clv_bench.py [--customers 1000000] [--engine postgresql|sqlite|both]

Each engine runs in its own process, on a database of its own (PostgreSQL
``rapport_clv_bench_<N>`` at postgres://postgres@127.0.0.1:5432, SQLite file
var/bench/clv-<N>.sqlite3), loaded the first time: N contacts, each with customer value
as ``rfm_refresh`` leaves it, their histories drawn from BG/NBD and Gamma-Gamma at the
CDNOW estimates over 78 weeks. Then times ``value_model_fit`` as the hourly task runs
it — reading every customer, both fits, the predictions, writing them back — and a
segment query on the result (``predicted_value:>100``). Needs the ``clv`` extra.
Prints a table and writes var/bench/clv-<N>.json. Target: the whole fit within 5
minutes on either engine (it runs hourly, in the background).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / "var" / "bench"
POSTGRES = "postgres://postgres@127.0.0.1:5432"
TARGET_SECONDS = 300
LOAD_BATCH = 10_000


def database_url(engine: str, customers: int) -> str:
    if engine == "postgresql":
        return f"{POSTGRES}/rapport_clv_bench_{customers}"
    return f"sqlite:///{BENCH_DIR / f'clv-{customers}.sqlite3'}"


def ensure_postgres_database(customers: int) -> None:
    import psycopg

    name = f"rapport_clv_bench_{customers}"
    url = POSTGRES.replace("postgres://", "postgresql://", 1) + "/postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not found.fetchone():
            conn.execute(f"CREATE DATABASE {name}")


def load(customers: int, now: dt.datetime) -> float:
    """Contacts and their customer value, unless already there; seconds it took."""
    from django.core.management import call_command
    from django.db import transaction

    from rapport.contacts.models import Contact
    from rapport.segments.models import CustomerValue
    from rapport.segments.tests import clv_data

    call_command("migrate", interactive=False, verbosity=0)
    if CustomerValue.objects.exists():  # a database per size: loaded once
        return 0.0
    started = time.monotonic()
    drawn = clv_data.simulate(
        customers=customers, weeks=78, seed=11, r=0.243, alpha=4.414, a=0.793, b=2.426,
        p=6.25, q=3.74, gamma=15.44,
    )  # fmt: skip
    for start in range(0, customers, LOAD_BATCH):
        end = min(start + LOAD_BATCH, customers)
        with transaction.atomic():
            made = Contact.objects.bulk_create(
                Contact(display_name=f"Buyer {i}", sort_name=f"buyer {i:07d}")
                for i in range(start, end)
            )
            rows = []
            for i, contact in zip(range(start, end), made, strict=True):
                x = int(drawn.x[i])
                first = now - dt.timedelta(weeks=float(drawn.T[i]))
                revenue = Decimal(f"{drawn.first_value[i] + drawn.mean[i] * x:.2f}")
                rows.append(CustomerValue(
                    contact_id=contact.pk, orders=x + 1, revenue=revenue,
                    first_order_at=first,
                    last_order_at=first + dt.timedelta(weeks=float(drawn.t_x[i])),
                    recency=3, frequency=3, monetary=3, group="need_attention",
                    computed_at=now,
                ))  # fmt: skip
            CustomerValue.objects.bulk_create(rows)
    return time.monotonic() - started


def run_engine(engine: str, customers: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    from django.utils import timezone

    from rapport.access.models import User
    from rapport.segments.selectors import query_count
    from rapport.segments.services import value_model

    now = timezone.now()
    load_seconds = load(customers, now)
    actor, _ = User.objects.get_or_create(username="bench", defaults={"role": User.Role.ADMIN})
    started = time.monotonic()
    history = value_model.customer_history(now=now)
    read_seconds = time.monotonic() - started
    model = value_model.value_model_fit(now=now)
    started = time.monotonic()
    matched = query_count(actor, "predicted_value:>100")
    query_seconds = time.monotonic() - started
    return {
        "engine": engine,
        "customers": len(history.x),
        "load_seconds": round(load_seconds, 1),
        "read_seconds": round(read_seconds, 1),
        "fit_seconds": model.seconds,
        "status": model.status,
        "params": model.params,
        "summary": model.summary,
        "query_seconds": round(query_seconds, 2),
        "query_matched": matched,
    }


def report(runs: list[dict[str, Any]]) -> str:
    head = f"{'engine':<12}{'customers':>11}{'read s':>9}{'fit+write s':>13}{'query s':>9}  status"
    lines = [head, "-" * len(head)]
    for r in runs:
        ok = "ok" if r["fit_seconds"] <= TARGET_SECONDS else f"over {TARGET_SECONDS} s"
        lines.append(
            f"{r['engine']:<12}{r['customers']:>11,}{r['read_seconds']:>9}{r['fit_seconds']:>13}"
            f"{r['query_seconds']:>9}  {r['status']}, {ok}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if args.worker:
        print(json.dumps(run_engine(args.engine, args.customers), default=str))
        return 0
    engines = ["postgresql", "sqlite"] if args.engine == "both" else [args.engine]
    runs = []
    for engine in engines:
        if engine == "postgresql":
            ensure_postgres_database(args.customers)
        print(f"Predicted value on {engine} with {args.customers:,} customers…", file=sys.stderr)
        env = {**os.environ, "DATABASE_URL": database_url(engine, args.customers)}
        out = subprocess.run(
            [sys.executable, __file__, "--worker", "--engine", engine,
             "--customers", str(args.customers)],
            env=env, stdout=subprocess.PIPE, text=True, check=True,
        ).stdout  # fmt: skip
        runs.append(json.loads(out.strip().splitlines()[-1]))
    print(report(runs))
    (BENCH_DIR / f"clv-{args.customers}.json").write_text(json.dumps(runs, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
