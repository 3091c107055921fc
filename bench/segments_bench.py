"""Segment counts and first pages, and the RFM recompute, with 1,000,000 contacts,
5,000,000 interactions and 3,000,000 orders, on PostgreSQL and on SQLite.

    python bench/segments_bench.py [--contacts 1000000] [--interactions 5000000]
                                   [--orders 3000000] [--engine postgresql|sqlite|both]
                                   [--rounds 5]

Uses the benchmark databases of bench/run.py (contacts from `rapport demo`) with the
interactions of bench/timeline_bench.py, and adds the orders once (see ``load_orders``:
about 60% of contacts never bought, a long tail of repeat buyers, amounts spread
lognormally, four currencies converted with RAPPORT_EXCHANGE_RATES, some cancelled or
refunded). Times, through the selectors the page, the API and the CLI use:

- the exact count of a four-clause segment mixing a field, a tag, an interaction window
  and an order count (``stage:customer AND tag:VIP AND calls(last:365d)>=1 AND
  orders(last:365d)>=2``), of the same without orders (``country:DE`` instead), of an
  RFM group with a tag, and of lighter and heavier ones;
- the first page (50 members, by name) of the same segments;
- ``rfm_refresh`` over every contact's orders: the first time (an empty table), and
  again (every row replaced), as the worker runs it every hour.

Targets: count ≤ 1.5 s and first page ≤ 300 ms on PostgreSQL, within 3× on SQLite; the
RFM recompute ≤ 60 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import run as base  # noqa: E402
import timeline_bench  # noqa: E402

QUERIES = {
    "4 clauses: field, tag, interaction window, orders": (
        "stage:customer AND tag:VIP AND calls(last:365d)>=1 AND orders(last:365d)>=2"
    ),
    "4 clauses: field, tag, field, interaction window": (
        "stage:customer AND tag:VIP AND country:DE AND calls(last:365d)>=1"
    ),
    "RFM group, tag, never contacted": "rfm:champions AND tag:VIP AND last_contacted:never",
    "1 clause: a tag": "tag:VIP",
    "2 clauses: NOT, OR": "NOT tag:Newsletter AND (country:DE OR country:FR)",
    "interaction count ≥ 3 in a year": "interactions(last:365d)>=3",
    "order count ≥ 2 in a year": "orders(last:365d)>=2",
    "revenue ≥ 500 in a year": "revenue(last:365d)>=500",
    "never contacted, created this year": "last_contacted:never AND created:this_year",
}
TARGETS = {"postgresql": (1500, 300), "sqlite": (4500, 900)}
RFM_TARGET_SECONDS = 60

# -- the orders ---------------------------------------------------------------------------

ORDERS_SEED = 17
# one unit in EUR, the default base currency; the worker sets it unless the environment does
EXCHANGE_RATES = "USD=0.92,GBP=1.17,CHF=1.05"
CURRENCIES = ("EUR",) * 82 + ("USD",) * 10 + ("GBP",) * 6 + ("CHF",) * 2
STATUSES = (
    ("fulfilled",) * 78 + ("paid",) * 8 + ("pending",) * 3 + ("cancelled",) * 7 + ("refunded",) * 4
)
# how likely a contact at each stage is to have bought anything (others: 0.2): about 40%
BUYING = {"customer": 0.9, "former_customer": 0.8, "partner": 0.3, "prospect": 0.25,
          "lead": 0.15}  # fmt: skip
CATEGORIES = ("Books", "Electronics", "Garden", "Kitchen", "Toys", "Clothing", "Sports", "Beauty")
PRODUCTS_PER_CATEGORY = 40
MOST_ORDERS = 1_000  # one contact's orders, at most (a reseller)
ORDER_YEARS = 3
ORDER_BATCH = 50_000


def _order_counts(rng: random.Random, buyers: int, total: int) -> list[int]:
    """Orders per buyer, summing to ``total``: a long tail (Pareto, shape 1.2), so about
    40% buy once, the median buyer twice, one in a hundred 80 times or more."""
    spread = [rng.paretovariate(1.2) - 1 for _ in range(buyers)]

    def counts(scale: float) -> list[int]:
        return [1 + min(int(scale * x), MOST_ORDERS - 1) for x in spread]

    low, high = 0.0, 1000.0
    for _ in range(40):  # the largest scale that stays within the total
        middle = (low + high) / 2
        low, high = (middle, high) if sum(counts(middle)) <= total else (low, middle)
    found = counts(low)
    short = total - sum(found)
    while short > 0:
        i = rng.randrange(buyers)
        if found[i] < MOST_ORDERS:
            found[i] += 1
            short -= 1
    return found


def _order_rows(contacts: list[tuple[int, str]], total: int, end: dt.datetime):
    """(contact id, ordered at, amount, currency, status, products, categories) for
    ``total`` orders over the ``ORDER_YEARS`` before ``end``, oldest first;
    deterministic. Each buyer is active over part of the time, pays in one currency and
    spends around a level of their own."""
    rng = random.Random(ORDERS_SEED)
    buyers = [pk for pk, stage in contacts if rng.random() < BUYING.get(stage, 0.2)]
    buyers = buyers[:total]
    span = ORDER_YEARS * 365 * 86400
    start = end - dt.timedelta(seconds=span)
    keys: list[int] = []
    levels: list[float] = []
    currencies: list[str] = []
    for i, count in enumerate(_order_counts(rng, len(buyers), total)):
        first = rng.randrange(span)
        last = first + int((span - first) * math.sqrt(rng.random()))
        keys.extend((rng.randint(first, last) * len(buyers) + i) for _ in range(count))
        levels.append(math.log(45) + rng.gauss(0, 0.5))
        currencies.append(rng.choice(CURRENCIES))
    keys.sort()
    catalog = {
        c: [f"{c} item {n}" for n in range(1, PRODUCTS_PER_CATEGORY + 1)] for c in CATEGORIES
    }
    for key in keys:
        second, i = divmod(key, len(buyers))
        amount = min(max(rng.lognormvariate(levels[i], 0.7), 1.0), 20_000.0)
        categories = rng.sample(CATEGORIES, 1 if rng.random() < 0.8 else 2)
        products = [rng.choice(catalog[c]) for c in categories for _ in range(rng.randint(1, 2))]
        yield (
            buyers[i],
            start + dt.timedelta(seconds=second),
            Decimal(f"{amount:.2f}"),
            currencies[i],
            rng.choice(STATUSES),
            sorted(set(products)),
            categories,
        )


def load_orders(orders: int, engine: str, contacts: int) -> dict[str, Any]:
    """Add the benchmark's orders once (COPY on PostgreSQL, executemany in transactions
    of 50,000 on SQLite); the same orders whatever the engine, dated up to the day of
    the load."""
    from django.db import connection, transaction

    from rapport.contacts.models import Contact
    from rapport.core import bulk
    from rapport.core.text import fold
    from rapport.segments.models import Order

    present = Order.objects.count()
    state_file = base.BENCH_DIR / f"orders-{engine}-{contacts}.json"
    if present >= orders and state_file.exists():
        return json.loads(state_file.read_text())
    started = time.monotonic()
    end = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if state_file.exists():  # a load that stopped part way: the same orders, the rest of them
        end = dt.datetime.fromisoformat(json.loads(state_file.read_text())["end"])
    state_file.write_text(json.dumps({"end": end.isoformat()}))
    people = list(Contact.objects.order_by("id").values_list("id", "lifecycle_stage"))
    first_id = (Order.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    columns = (
        "id", "created_at", "updated_at", "version", "contact_id", "organization_id",
        "external_id", "ordered_at", "amount", "currency", "status", "products", "categories",
        "labels",
    )  # fmt: skip
    postgres = engine == "postgresql"
    adapt = connection.ops.adapt_datetimefield_value
    batch: list[tuple[Any, ...]] = []

    def flush() -> None:
        with transaction.atomic():
            bulk.write_rows(Order._meta.db_table, columns, batch)
        batch.clear()

    buyers: set[int] = set()
    for n, (contact, when, amount, currency, status, products, categories) in enumerate(
        _order_rows(people, orders, end)
    ):
        buyers.add(contact)
        if n < present:
            continue
        labels = [f"p:{fold(p)}" for p in products] + [f"c:{fold(c)}" for c in categories]
        stamp = when if postgres else adapt(when)
        batch.append(
            (first_id + n - present, stamp, stamp, 1, contact, None, f"SO-{n + 1:08d}", stamp)
            + (str(amount), currency, status, json.dumps(products), json.dumps(categories))
            + ("|" + "|".join(labels) + "|",)
        )
        if len(batch) >= ORDER_BATCH:
            flush()
            if (n + 1) % 500_000 == 0:
                print(f"  {n + 1:,} orders", file=sys.stderr, flush=True)
    if batch:
        flush()
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('segments_order', 'id'), "
                "(SELECT max(id) FROM segments_order))"
            )
            cursor.execute("VACUUM ANALYZE segments_order")
        else:
            cursor.execute("ANALYZE")
    state = {
        "orders": orders,
        "buyers": len(buyers),
        "end": end.isoformat(),
        "seconds": round(time.monotonic() - started, 1),
    }
    state_file.write_text(json.dumps(state))
    return state


# -- one engine ---------------------------------------------------------------------------


def server_settings() -> str:
    """What the figures depend on besides the code: PostgreSQL's cache size and
    just-in-time compilation (Rapport's connections turn it off)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
        cursor.execute("SHOW jit")
        jit = cursor.fetchone()[0]
    note = f"shared_buffers {buffers}, jit {jit}"
    if buffers.endswith("kB") or buffers in ("128MB", "256MB"):
        note += (
            " (PostgreSQL's stock cache: the contacts table alone is larger, so pages"
            " read it from the operating system; see README, Deployment with PostgreSQL)"
        )
    return note


def run_engine(
    engine: str, contacts: int, interactions: int, orders: int, rounds: int
) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    base.prepare(contacts, engine)
    timeline_bench.load(interactions, engine, contacts)
    load = load_orders(orders, engine, contacts)
    from rapport.access.models import User
    from rapport.activity.models import Participant
    from rapport.contacts.models import Contact
    from rapport.segments.models import CustomerValue, Order
    from rapport.segments.selectors import query_count, query_members
    from rapport.segments.services.orders import rfm_refresh

    actor = User.objects.get(username="bench")
    results: dict[str, Any] = {
        "server": server_settings(),
        "contacts": Contact.objects.count(),
        "participants": Participant.objects.count(),
        "orders": Order.objects.count(),
        "load": load,
        "rfm": {"seconds": []},
        "queries": {},
    }
    CustomerValue.objects.all().delete()  # the first recompute, then the hourly one
    for _ in range(2):
        started = time.perf_counter()
        refreshed = rfm_refresh()
        results["rfm"]["seconds"].append(round(time.perf_counter() - started, 1))
    results["rfm"]["customers"] = refreshed.customers
    results["rfm"]["groups"] = refreshed.groups
    results["rfm"]["left_out"] = refreshed.left_out_currencies
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
    parser.add_argument("--orders", type=int, default=3_000_000)
    parser.add_argument("--engine", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    base.BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if args.worker:
        result = run_engine(args.engine, args.contacts, args.interactions, args.orders, args.rounds)
        print(json.dumps(result))
        return 0
    engines = ["postgresql", "sqlite"] if args.engine == "both" else [args.engine]
    failed = False
    for engine in engines:
        if engine == "postgresql":
            base.ensure_postgres_database()
        env = {
            **os.environ,
            "DATABASE_URL": base.database_url(engine, args.contacts),
            "RAPPORT_EXCHANGE_RATES": os.environ.get("RAPPORT_EXCHANGE_RATES", EXCHANGE_RATES),
        }
        out = subprocess.run(
            [sys.executable, __file__, "--worker", "--engine", engine]
            + ["--contacts", str(args.contacts), "--interactions", str(args.interactions)]
            + ["--orders", str(args.orders), "--rounds", str(args.rounds)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        count_target, page_target = TARGETS[engine]
        load, rfm = result["load"], result["rfm"]
        print(
            f"\n{engine}: {result['contacts']:,} contacts, {result['participants']:,} "
            f"participants, {result['orders']:,} orders ({load['buyers']:,} buyers; loaded in "
            f"{load['seconds']} s)"
        )
        if result["server"]:
            print(f"server: {result['server']}")
        flag = ""
        if max(rfm["seconds"]) > RFM_TARGET_SECONDS:
            flag, failed = "  over target", True
        print(
            f"RFM recompute, {rfm['customers']:,} customers: {rfm['seconds'][0]} s, "
            f"again {rfm['seconds'][1]} s{flag}"
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
