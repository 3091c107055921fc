"""Segment counts and first pages with 1,000,000 contacts and 5,000,000 interactions, on
PostgreSQL and on SQLite.

    python bench/segments_bench.py [--contacts 1000000] [--interactions 5000000]
                                   [--engine postgresql|sqlite|both] [--rounds 5]

Uses the benchmark databases of bench/run.py (contacts from `rapport demo`) with the
interactions of bench/timeline_bench.py, loaded the first time. Times, through the
selectors the page, the API and the CLI use:

- the exact count of a four-clause segment mixing a field, a tag and an interaction
  window (``stage:customer AND tag:VIP AND country:DE AND calls(last:365d)>=1``), and
  of lighter and heavier ones;
- the first page (50 members, by name) of the same segments.

Targets: count ≤ 1.5 s and first page ≤ 300 ms on PostgreSQL, within 3× on SQLite.
Orders do not exist yet, so no clause counts them.
"""

from __future__ import annotations

import argparse
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
import timeline_bench  # noqa: E402

QUERIES = {
    "4 clauses: field, tag, field, interaction window": (
        "stage:customer AND tag:VIP AND country:DE AND calls(last:365d)>=1"
    ),
    "1 clause: a tag": "tag:VIP",
    "2 clauses: NOT, OR": "NOT tag:Newsletter AND (country:DE OR country:FR)",
    "interaction count ≥ 3 in a year": "interactions(last:365d)>=3",
    "never contacted, created this year": "last_contacted:never AND created:this_year",
}
TARGETS = {"postgresql": (1500, 300), "sqlite": (4500, 900)}


def run_engine(engine: str, contacts: int, interactions: int, rounds: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    base.prepare(contacts, engine)
    timeline_bench.load(interactions, engine, contacts)
    from rapport.access.models import User
    from rapport.activity.models import Participant
    from rapport.contacts.models import Contact
    from rapport.segments.selectors import query_count, query_members

    actor = User.objects.get(username="bench")
    results: dict[str, Any] = {
        "contacts": Contact.objects.count(),
        "participants": Participant.objects.count(),
        "queries": {},
    }
    for name, text in QUERIES.items():
        counts, pages, found = [], [], 0
        for _ in range(rounds):
            started = time.perf_counter()
            found = query_count(actor, text)
            counts.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            query_members(actor, text, limit=50)
            pages.append((time.perf_counter() - started) * 1000)
        results["queries"][name] = {
            "query": text,
            "members": found,
            "count_ms": [round(statistics.median(counts)), round(max(counts))],
            "page_ms": [round(statistics.median(pages)), round(max(pages))],
        }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=int, default=5_000_000)
    parser.add_argument("--engine", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=5)
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
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        count_target, page_target = TARGETS[engine]
        print(
            f"\n{engine}: {result['contacts']:,} contacts, {result['participants']:,} participants"
        )
        print(f"{'segment':<52} {'members':>9} {'count ms (median/max)':>22} {'page ms':>12}")
        for name, figures in result["queries"].items():
            count_ms, page_ms = figures["count_ms"], figures["page_ms"]
            flag = ""
            if name.startswith("4 clauses") and (
                count_ms[0] > count_target or page_ms[0] > page_target
            ):
                flag, failed = "  over target", True
            print(
                f"{name:<52} {figures['members']:>9,} {count_ms[0]:>10} / {count_ms[1]:<9} "
                f"{page_ms[0]:>5} / {page_ms[1]:<5}{flag}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
