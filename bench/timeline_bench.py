"""Timeline latency with 1,000,000 contacts and 5,000,000 interactions, on PostgreSQL and
on SQLite.

    python bench/timeline_bench.py [--contacts 1000000] [--interactions 5000000]
                                   [--engine postgresql|sqlite|both] [--samples 200]

Uses the benchmark databases of bench/run.py (loaded there with `rapport demo` the
first time) and adds the interactions once: one contact with 10,000 of them, an
organization whose 200 current people have 50 each, and the rest spread over every
contact (one to three contacts each, a third with an address nobody has yet). Then it
times the first page of that contact's and that organization's timeline through the
whole stack (the htmx fragment the page loads, and the API), plus "load more" from
the middle. Target: p95 ≤ 30 ms on both engines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import run as base  # noqa: E402  (bench/run.py: the databases and their loading)

HEAVY = 10_000
PEOPLE = 200
PER_PERSON = 50
KINDS = ["email"] * 5 + ["call"] * 2 + ["meeting", "note", "message"]
BATCH = 20_000


def _rows(contact_ids: list[int], heavy: int, people: list[int], total: int, first_id: int):
    """(interaction row, participant rows) for ``total`` interactions, deterministic."""
    rng = random.Random(11)
    start = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    span = 3 * 365 * 86400
    plan = [heavy] * HEAVY + [p for p in people for _ in range(PER_PERSON)]
    for n in range(total):
        pk = first_id + n
        kind = rng.choice(KINDS)
        when = start + dt.timedelta(seconds=rng.randrange(span))
        direction = "internal" if kind == "note" else rng.choice(("inbound", "outbound"))
        two_way = kind in ("email", "message", "meeting") or (kind == "call" and rng.random() < 0.6)
        interaction = (
            pk, kind, direction, when, kind == "call" and two_way, two_way,
            f"{kind.title()} {pk}", f"Body of {kind} {pk}",
        )  # fmt: skip
        who = [plan[n]] if n < len(plan) else []
        who += rng.sample(contact_ids, rng.randint(1, 3) - len(who) or 1)
        participants = [(pk, "to" if i else "from", c, "", "", when) for i, c in enumerate(who)]
        if rng.random() < 0.33:
            address = f"stranger{rng.randrange(200_000)}@unknown.example.org"
            participants.append((pk, "cc", None, address, address, when))
        yield interaction, participants


def load(interactions: int, engine: str, contacts: int) -> dict[str, Any]:
    from django.db import connection, transaction
    from django.utils import timezone

    from rapport.activity.models import Interaction
    from rapport.contacts.models import Affiliation, Contact, Organization

    present = Interaction.objects.count()
    state_file = base.BENCH_DIR / f"timeline-{engine}-{contacts}.json"
    if present >= interactions and state_file.exists():
        return json.loads(state_file.read_text())
    contact_ids = list(Contact.objects.order_by("id").values_list("id", flat=True))
    heavy = contact_ids[len(contact_ids) // 2]
    org = Organization.objects.order_by("id")[len(contact_ids) // 1000]
    have = list(
        Affiliation.objects.filter(organization=org, is_current=True).values_list(
            "contact_id", flat=True
        )
    )
    rng = random.Random(5)
    extra = [c for c in rng.sample(contact_ids, PEOPLE * 2) if c not in have and c != heavy]
    now = timezone.now()
    Affiliation.objects.bulk_create(
        Affiliation(contact_id=c, organization=org, is_current=True, created_at=now, updated_at=now)
        for c in extra[: max(0, PEOPLE - len(have))]
    )
    people = list(
        Affiliation.objects.filter(organization=org, is_current=True).values_list(
            "contact_id", flat=True
        )
    )[:PEOPLE]
    started = time.monotonic()
    first_id = (Interaction.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    todo = interactions - present
    columns = (
        "id, kind, direction, occurred_at, outcome, two_way, subject, body, ends_at, all_day, "
        "duration_seconds, channel, location, cancelled, body_html, quoted, signature, "
        "source, private, external_key, message_id, metadata, created_at, updated_at, version"
    )
    part_columns = (
        "interaction_id, role, contact_id, address, address_key, occurred_at, name, phone, e164"
    )
    batch_i: list[tuple[Any, ...]] = []
    batch_p: list[tuple[Any, ...]] = []

    def flush() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            if engine == "postgresql":
                raw = cursor.cursor
                with raw.copy(f"COPY activity_interaction ({columns}) FROM STDIN") as copy:
                    for row in batch_i:
                        copy.write_row(row)
                with raw.copy(f"COPY activity_participant ({part_columns}) FROM STDIN") as copy:
                    for row in batch_p:
                        copy.write_row(row)
            else:
                adapt = connection.ops.adapt_datetimefield_value
                for rows in (batch_i, batch_p):
                    rows[:] = [
                        tuple(adapt(v) if isinstance(v, dt.datetime) else v for v in r)
                        for r in rows
                    ]
                cursor.executemany(
                    f"INSERT INTO activity_interaction ({columns}) VALUES ({', '.join(['%s'] * 25)})",
                    batch_i,
                )
                cursor.executemany(
                    f"INSERT INTO activity_participant ({part_columns}) VALUES ({', '.join(['%s'] * 9)})",
                    batch_p,
                )
        batch_i.clear()
        batch_p.clear()

    for done, (row, parts) in enumerate(_rows(contact_ids, heavy, people, todo, first_id), start=1):
        pk, kind, direction, when, connected, two_way, subject, body = row
        batch_i.append(
            (pk, kind, direction, when, "connected" if connected else "", two_way, subject, body)
            + (None, False, None, "", "", False, "", "", "", "upload", False, "", "", "{}")
            + (now, now, 1)
        )
        batch_p.extend(parts_row + ("", "", "") for parts_row in parts)
        if len(batch_i) >= BATCH:
            flush()
            if done % 500_000 == 0:
                print(f"  {done:,} interactions", file=sys.stderr, flush=True)
    if batch_i:
        flush()
    with connection.cursor() as cursor:
        if engine == "postgresql":
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('activity_interaction', 'id'), "
                "(SELECT max(id) FROM activity_interaction))"
            )
            cursor.execute("VACUUM ANALYZE activity_interaction")
            cursor.execute("VACUUM ANALYZE activity_participant")
        else:
            cursor.execute("ANALYZE")
    state = {
        "heavy": heavy,
        "organization": org.pk,
        "people": len(people),
        "seconds": round(time.monotonic() - started, 1),
        "interactions": interactions,
    }
    state_file.write_text(json.dumps(state))
    return state


def measure(state: dict[str, Any], samples: int) -> dict[str, Any]:
    from django.test import Client

    from rapport.access.models import User
    from rapport.access.services import token_create
    from rapport.activity.selectors import timeline

    user = User.objects.get(username="bench")
    _, key = token_create(user=user, name="timeline-bench")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_HOST="localhost")
    page = Client(HTTP_HOST="localhost")
    page.force_login(user)
    heavy, org = state["heavy"], state["organization"]
    middle = timeline.contact_timeline(actor=user, contact_id=heavy, limit=100)
    for _ in range(20):  # the middle of the history, for "load more"
        middle = timeline.contact_timeline(
            actor=user, contact_id=heavy, cursor=middle.next_cursor, limit=100
        )
    cursor = middle.next_cursor
    cases = {
        "contact, first page (htmx fragment)": lambda: page.get(
            f"/contacts/{heavy}/timeline/", HTTP_HX_REQUEST="true"
        ),
        "contact, first page (API)": lambda: api.get(f"/api/v1/contacts/{heavy}/timeline"),
        "contact, load more from entry 2,100": lambda: page.get(
            f"/contacts/{heavy}/timeline/", {"cursor": cursor}, HTTP_HX_REQUEST="true"
        ),
        "contact, calls only": lambda: page.get(
            f"/contacts/{heavy}/timeline/", {"kind": "call"}, HTTP_HX_REQUEST="true"
        ),
        "organization (200 people), first page (htmx fragment)": lambda: page.get(
            f"/organizations/{org}/timeline/", HTTP_HX_REQUEST="true"
        ),
        "organization, first page (API)": lambda: api.get(f"/api/v1/organizations/{org}/timeline"),
        "contact page, whole": lambda: page.get(f"/contacts/{heavy}/"),
    }
    results = {}
    for name, call in cases.items():
        for _ in range(5):
            assert call().status_code == 200, name
        times = []
        for _ in range(samples):
            t0 = time.perf_counter()
            call()
            times.append((time.perf_counter() - t0) * 1000)
        results[name] = {
            "p50": round(base.percentile(times, 50), 1),
            "p95": round(base.percentile(times, 95), 1),
        }
    return results


def run_engine(engine: str, contacts: int, interactions: int, samples: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    from django.conf import settings

    # pages render without `collectstatic` having run
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    base.prepare(contacts, engine)
    state = load(interactions, engine, contacts)
    from rapport.activity.models import Interaction, Participant

    counts = {
        "interactions": Interaction.objects.count(),
        "participants": Participant.objects.count(),
    }
    return {"engine": engine, "load": state, "counts": counts, "results": measure(state, samples)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=int, default=5_000_000)
    parser.add_argument("--engine", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    base.BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if args.worker:
        result = run_engine(args.engine, args.contacts, args.interactions, args.samples)
        print(json.dumps(result, default=str))
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
            + ["--samples", str(args.samples)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        ).stdout
        run = json.loads(out.strip().splitlines()[-1])
        print(f"\n{engine}: {run['counts']}, load {run['load'].get('seconds')} s")
        print(f"{'case':<58} {'p50 ms':>8} {'p95 ms':>8}")
        for name, figures in run["results"].items():
            flag = "" if figures["p95"] <= 30 or "whole" in name else "  over 30 ms"
            failed = failed or bool(flag)
            print(f"{name:<58} {figures['p50']:>8} {figures['p95']:>8}{flag}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
