"""How long the data audit takes on a large database, on PostgreSQL and on SQLite.

    python bench/audit_bench.py [--contacts 1000000] [--engine postgresql|sqlite|both]

Uses the benchmark databases that bench/run.py builds with `rapport demo` (loads them
the same way if they are missing). Measures, per engine:

- the first computation of every contact's stored facts (once per database),
- the audit report of the whole database (checking for changed contacts first),
- the same after 1,000 contacts changed (they are recomputed first),
- the report of one source, and the daily snapshot (every source at once).
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import BENCH_DIR, database_url, ensure_postgres_database  # noqa: E402

TARGET_S = 5.0


def timed(func: Any, rounds: int = 3) -> tuple[float, Any]:
    """Median wall-clock seconds over ``rounds`` runs, and the last result."""
    seconds, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = func()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def run_engine(engine: str, contacts: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import F, Max, Min
    from run import prepare

    from rapport.access.models import ChangeRecord, User
    from rapport.contacts.models import Contact
    from rapport.quality import selectors, services
    from rapport.quality.models import AuditSnapshot, ContactQuality

    prepare(contacts, engine)
    call_command("migrate", "quality", interactive=False, verbosity=0)
    actor = User.objects.filter(username="bench").first()
    result: dict[str, Any] = {"engine": engine, "contacts": Contact.objects.count()}

    missing = result["contacts"] - ContactQuality.objects.count()
    if missing > 0:
        started = time.perf_counter()
        done = services.quality_refresh()
        result["first_refresh"] = {
            "contacts": done,
            "seconds": round(time.perf_counter() - started, 1),
        }

    seconds, report = timed(lambda: selectors.audit_report(actor=actor))
    result["report_s"] = round(seconds, 2)
    result["average_score"] = report.average_score

    # 1,000 contacts changed as the services change them: a new version and a history
    # entry each (the entries are removed afterwards).
    changed_records: list[int] = []
    low, high = Contact.objects.aggregate(low=Min("pk"), high=Max("pk")).values()
    rng = random.Random(7)

    def change_1000() -> None:
        ids = [rng.randint(low, high) for _ in range(1000)]
        Contact.objects.filter(pk__in=ids).update(version=F("version") + 1)
        made = ChangeRecord.objects.bulk_create(
            ChangeRecord(object_type="contact", object_id=pk, object_repr="bench", action="update")
            for pk in ids
        )
        changed_records.extend(r.pk for r in made if r.pk)

    seconds = []
    for _ in range(3):
        change_1000()
        started = time.perf_counter()
        selectors.audit_report(actor=actor)
        seconds.append(time.perf_counter() - started)
    ChangeRecord.objects.filter(pk__in=changed_records).delete()
    if not changed_records:  # SQLite before 3.35 returns no ids; remove by marker
        ChangeRecord.objects.filter(object_repr="bench", changes={}).delete()
    result["report_after_1000_changes_s"] = round(statistics.median(seconds), 2)

    source = report.scope.source or "Import"
    seconds, _ = timed(
        lambda: selectors.audit_report(actor=actor, scope=selectors.Scope(source=source))
    )
    result["report_one_source_s"] = round(seconds, 2)
    seconds, written = timed(lambda: services.audit_snapshot_write(actor=actor), rounds=1)
    AuditSnapshot.objects.all().delete()  # the benchmark's snapshots are not history
    result["snapshot_s"] = round(seconds, 2)
    result["snapshot_scopes"] = len(written)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if args.worker:
        print(json.dumps(run_engine(args.engine, args.contacts)))
        return 0
    engines = ["postgresql", "sqlite"] if args.engine == "both" else [args.engine]
    failed = False
    for engine in engines:
        if engine == "postgresql":
            ensure_postgres_database()
        print(f"Data audit on {engine} with {args.contacts:,} contacts…", file=sys.stderr)
        env = {**os.environ, "DATABASE_URL": database_url(engine, args.contacts)}
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                "--engine",
                engine,
                "--contacts",
                str(args.contacts),
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        ).stdout
        run = json.loads(out.strip().splitlines()[-1])
        first = run.get("first_refresh")
        print(f"\n{engine}: {run['contacts']:,} contacts, average score {run['average_score']}")
        if first:
            print(
                f"  first computation of stored facts  {first['seconds']:>8.1f} s ({first['contacts']:,})"
            )
        for key, label in (
            ("report_s", "audit report, whole database"),
            ("report_after_1000_changes_s", "report after 1,000 changes"),
            ("report_one_source_s", "report, one source"),
            ("snapshot_s", f"snapshot, full check ({run['snapshot_scopes']} scopes)"),
        ):
            mark = "ok" if run[key] <= TARGET_S else "MISSED"
            failed |= key == "report_s" and run[key] > TARGET_S
            print(f"  {label:<34}{run[key]:>8.2f} s  target ≤ {TARGET_S:.0f} s {mark}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
