"""The dashboards at 1,000,000 contacts, on PostgreSQL and on SQLite: the daily snapshot
(the first one, which fills a year, and the hourly one after it) and the pages read
from it.

    python bench/insights_bench.py [--contacts 1000000] [--interactions 5000000]
                                   [--engine postgresql|sqlite|both] [--rounds 10]

Uses the benchmark databases bench/segments_bench.py loads (contacts, interactions and
orders; run it first). Times:

- ``snapshot(since=a year ago)``: every metric, each day of the last year for those
  with history, and the day's cohort and value tables — the worker's first run;
- ``snapshot()``: today and yesterday, the tables made already — every later hourly run;
- the dashboard and each report page, through Django's full request handling (session,
  policy, template), median and worst of ``--rounds``.

Target: a dashboard page ≤ 300 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import run as base  # noqa: E402

PAGES = (
    ("dashboard, 90 days", "/insights/?days=90"),
    ("dashboard, 365 days", "/insights/?days=365"),
    ("growth, 365 days", "/insights/growth/?days=365"),
    ("activity, 90 days", "/insights/activity/?days=90"),
    ("customers, 365 days", "/insights/customers/?days=365"),
    ("relationships", "/insights/relationships/"),
    ("KPIs", "/insights/kpis/"),
)
TARGET_MS = 300


def run_engine(engine: str, contacts: int, interactions: int, rounds: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.ALLOWED_HOSTS = ["localhost"]
    from django.core.management import call_command
    from django.test import Client

    from rapport.access.models import User
    from rapport.contacts.models import Contact
    from rapport.insights import services
    from rapport.insights.metrics import today
    from rapport.insights.models import Kpi, MetricPoint, ReportSnapshot
    from rapport.segments.models import Order

    call_command("migrate", interactive=False, verbosity=0)
    found = Contact.objects.count()
    if found < contacts:
        raise SystemExit(
            f"{engine}: {found:,} contacts, not {contacts:,}: run bench/segments_bench.py first "
            "(it loads the contacts, interactions and orders)."
        )
    actor, _ = User.objects.get_or_create(username="bench", defaults={"role": User.Role.ADMIN})
    MetricPoint.objects.all().delete()
    ReportSnapshot.objects.all().delete()
    started = time.perf_counter()
    first = services.snapshot(since=today() - dt.timedelta(days=365))
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    hourly = services.snapshot()
    hourly_s = time.perf_counter() - started
    if not Kpi.objects.exists():
        services.kpi_create(actor=actor, data={
            "name": "New contacts per month", "metric": "new_contacts",
            "baseline_date": (today() - dt.timedelta(days=120)).isoformat(), "target_value": 10**6,
        })  # fmt: skip
    client = Client(HTTP_HOST="localhost")
    client.force_login(actor)
    pages: dict[str, list[int]] = {}
    for name, url in PAGES:
        client.get(url)  # warm: templates compiled, caches filled
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        pages[name] = [round(statistics.median(times)), round(max(times))]
    slowest = sorted(first.seconds.items(), key=lambda item: -item[1])[:6]
    return {
        "contacts": Contact.objects.count(),
        "orders": Order.objects.count(),
        "points": MetricPoint.objects.count(),
        "first_snapshot_s": round(first_s, 1),
        "hourly_snapshot_s": round(hourly_s, 1),
        "slowest_metrics_s": slowest,
        "failed": {**first.failed, **hourly.failed},
        "pages_ms": pages,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=int, default=5_000_000)
    parser.add_argument("--engine", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    base.BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if args.worker:
        print(json.dumps(run_engine(args.engine, args.contacts, args.interactions, args.rounds)))
        return 0
    engines = ["postgresql", "sqlite"] if args.engine == "both" else [args.engine]
    failed = False
    for engine in engines:
        if engine == "postgresql":
            base.ensure_postgres_database()
        env = {**os.environ, "DATABASE_URL": base.database_url(engine, args.contacts)}
        out = subprocess.run(
            [sys.executable, __file__, "--worker", "--engine", engine]
            + ["--contacts", str(args.contacts), "--interactions", str(args.interactions)]
            + ["--rounds", str(args.rounds)],
            env=env, stdout=subprocess.PIPE, text=True, check=True,
        ).stdout  # fmt: skip
        result = json.loads(out.strip().splitlines()[-1])
        print(f"\n{engine}: {result['contacts']:,} contacts, {result['orders']:,} orders, "
              f"{result['points']:,} figures")  # fmt: skip
        print(f"first snapshot (a year of history): {result['first_snapshot_s']} s; "
              f"hourly snapshot: {result['hourly_snapshot_s']} s")  # fmt: skip
        print("slowest metrics in the first snapshot: "
              + ", ".join(f"{n} {s} s" for n, s in result["slowest_metrics_s"]))  # fmt: skip
        if result["failed"]:
            print(f"FAILED metrics: {result['failed']}")
            failed = True
        print(f"{'page':<24} {'ms (median / max)':>20}")
        for name, (median, worst) in result["pages_ms"].items():
            flag = ""
            if name.startswith("dashboard") and median > TARGET_MS:
                flag, failed = "  over target", True
            print(f"{name:<24} {median:>9} / {worst:<9}{flag}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
