"""What a list's match count costs on a large table, on the engine DATABASE_URL names.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lists_bench \\
        RAPPORT_DATA_DIR=/tmp/lists-bench python bench/lists_count_bench.py 1000000

Loads N contacts the first time (names, an email, a phone and a city in the search
text, mixed lifecycle stages; bulk inserts, no related rows), then times
``contact_count`` for no filter, a stage filter and the search fragments people type.
Counting stops at 10,000 (selectors.COUNT_CAP), so the figures stay flat as N grows.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from types import SimpleNamespace

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from rapport.contacts import selectors  # noqa: E402
from rapport.contacts.models import Contact  # noqa: E402
from rapport.core import bulk  # noqa: E402
from rapport.core.text import fold  # noqa: E402

GIVEN = ["john", "mary", "ana", "peter", "sofia", "liam", "noah", "emma", "olga", "yuki", "chen"]
FAMILY = ["smith", "smithson", "van der berg", "van dijk", "o'brien", "müller", "garcia",
          "nguyen", "kowalski", "rossi", "brown", "tanaka", "ferreira", "westermann"]  # fmt: skip
DOMAINS = ["gmail.com", "example.org", "acme-inc.com", "mueller-gmbh.de", "yahoo.com"]
CITIES = ["berlin", "london", "paris", "new york", "madrid", "tokyo", "lagos", ""]
PHONES = ["+44 20 7946 {:04d}", "+1 212 555 {:04d}", "+49 30 {:04d}", "+33 1 {:04d}"]
FRAGMENTS = ["smi", "van d", "o'br", "@gmail", ".org", "inc", "gmbh", "+44 20", "555",
             "berlin", "sm", "zzzq"]  # fmt: skip


def load(count: int) -> None:
    call_command("migrate", verbosity=0)
    rnd = random.Random(7)
    done = Contact.objects.count()
    while done < count:
        rows = []
        for i in range(done, min(count, done + 50_000)):
            given, family = rnd.choice(GIVEN), rnd.choice(FAMILY)
            phone = rnd.choice(PHONES).format(rnd.randrange(10**4))
            email = f"{given}.{family.replace(' ', '')}{i}@{rnd.choice(DOMAINS)}"
            digits = "".join(c for c in phone if c.isdigit())
            rows.append(
                {
                    "given_name": given.title(),
                    "family_name": family.title(),
                    "display_name": f"{given.title()} {family.title()}",
                    "sort_name": fold(f"{given} {family}"),
                    "family_key": fold(family),
                    "search_doc": fold(f"{given} {family} {email} {digits} {rnd.choice(CITIES)}"),
                    "lifecycle_stage": rnd.choice(["lead", "prospect", "customer", "partner"]),
                }
            )
        with transaction.atomic():
            bulk.insert_rows(Contact, rows)
        done += len(rows)
        print(f"loaded {done:,}", file=sys.stderr, flush=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE contacts_contact")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    load(count)
    actor = SimpleNamespace(is_authenticated=True, is_active=True, is_superuser=True, pk=None)
    cases: list[tuple[str, str, dict[str, str]]] = [
        ("no filter", "", {}),
        ("lifecycle_stage=customer", "", {"lifecycle_stage": "customer"}),
    ] + [(f"q={q}", q, {}) for q in FRAGMENTS]
    print(f"{connection.vendor}, {Contact.objects.count():,} contacts")
    for name, q, filters in cases:
        times = []
        for _ in range(7):
            start = time.perf_counter()
            found = selectors.contact_count(
                actor=actor, q=q, filters=selectors.ContactFilters(**filters)
            )
            times.append((time.perf_counter() - start) * 1000)
        print(f"| {name} | {found} | {statistics.median(times):.1f} ms | {max(times):.1f} ms |")


if __name__ == "__main__":
    main()
