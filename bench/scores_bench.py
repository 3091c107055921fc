"""A score's recompute and the members sorted by it, with 1,000,000 contacts, on
PostgreSQL and on SQLite.

    python bench/scores_bench.py [--contacts 1000000] [--engine postgresql|sqlite|both]
                                 [--rounds 5]

Uses the benchmark databases bench/segments_bench.py loads (contacts, interactions and
orders; run it first). Defines a four-rule score (a tag, another tag taking points away,
inbound calls in 90 days with a 30-day half-life, recency of the last contact) and times:

- ``scores_refresh`` over every contact: the first time (every value written), then
  again with nothing changed (as the worker runs it every hour);
- the first page (50 members) of ``tag:VIP`` sorted by the score, highest first and
  lowest first. Every VIP has points, so lowest first must find that no member is
  without a value before it reaches them: timed as Rapport does it (those members found
  first, then sorted) and as it did before (every contact walked by name).
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

RULES = [
    {"kind": "match", "label": "VIP", "points": 20, "query": "tag:VIP"},
    {"kind": "match", "label": "Newsletter", "points": -5, "query": "tag:Newsletter"},
    {"kind": "activity", "points": 10, "interaction": "call", "direction": "in",
     "window_days": 90, "half_life_days": 30, "cap": 25},
    {"kind": "recency", "points": 8, "of": "contacted", "half_life_days": 10,
     "within_days": 365},
]  # fmt: skip


def _median_ms(call: Any, rounds: int) -> list[int]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return [round(statistics.median(times)), round(max(times))]


def run_engine(engine: str, contacts: int, rounds: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from rapport.access.models import User
    from rapport.contacts.models import Contact
    from rapport.segments import selectors
    from rapport.segments.models import ContactScore, Score
    from rapport.segments.services import score_create, scores_refresh

    call_command("migrate", interactive=False, verbosity=0)
    found = Contact.objects.count()
    if found < contacts:
        raise SystemExit(
            f"{engine}: {found:,} contacts, not {contacts:,}: run bench/segments_bench.py first."
        )
    actor = User.objects.get(username="bench")
    Score.objects.filter(key="bench_lead").delete()
    score = score_create(actor=actor, data={"name": "Bench lead", "rules": RULES})
    started = time.perf_counter()
    [first] = scores_refresh(score=score)
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    [again] = scores_refresh(score=score)
    again_s = time.perf_counter() - started

    def page(sort: str) -> None:
        selectors.query_members(actor, "tag:VIP", sort=sort, limit=50)

    pages = {
        "highest first": _median_ms(lambda: page("-score.bench_lead"), rounds),
        "lowest first": _median_ms(lambda: page("score.bench_lead"), rounds),
    }
    few = selectors.FEW_UNSCORED
    selectors.FEW_UNSCORED = 0  # as before: the members without a value walked by name
    pages["lowest first, walking every contact by name (before)"] = _median_ms(
        lambda: page("score.bench_lead"), min(rounds, 3)
    )
    selectors.FEW_UNSCORED = few
    return {
        "contacts": found,
        "scored": first.scored,
        "values": ContactScore.objects.filter(score=score).count(),
        "first_s": round(first_s, 1),
        "again_s": round(again_s, 1),
        "changed_again": again.changed,
        "pages_ms": pages,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_engine(args.engine, args.contacts, args.rounds)))
        return 0
    engines = ["postgresql", "sqlite"] if args.engine == "both" else [args.engine]
    for engine in engines:
        env = {**os.environ, "DATABASE_URL": base.database_url(engine, args.contacts)}
        out = subprocess.run(
            [sys.executable, __file__, "--worker", "--engine", engine,
             "--contacts", str(args.contacts), "--rounds", str(args.rounds)],
            env=env, stdout=subprocess.PIPE, text=True, check=True,
        ).stdout  # fmt: skip
        result = json.loads(out.strip().splitlines()[-1])
        print(
            f"\n{engine}: {result['contacts']:,} contacts, {result['scored']:,} with points "
            f"({result['values']:,} values stored)"
        )
        print(
            f"recompute: {result['first_s']} s the first time, {result['again_s']} s again "
            f"({result['changed_again']} values changed)"
        )
        print(f"{'first page of tag:VIP by the score':<56} {'ms (median / max)':>18}")
        for name, (median, worst) in result["pages_ms"].items():
            print(f"{name:<56} {median:>8} / {worst:<8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
