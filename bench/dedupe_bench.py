"""Duplicate detection at scale: the check at entry and the full scan on 1,000,000 contacts.

Runs against the benchmark database `bench/run.py` loads (DATABASE_URL picks it; the
demo loader also writes the blocking keys). Reports:

- the entry check's latency, p50/p95/max in ms, over four kinds of new contact: a
  variant of a saved person (nickname or typo, same email), a saved person's exact name
  with a new email, a new person, and a saved person with no email and no phone (name,
  maybe a typo, birthday and address: a postal list's record); each timed as the API
  runs it (validation included), after a warm-up, with how many found a candidate;
- the full scan (`rapport dedupe`) in a separate process: wall time and peak memory
  (`--scan`), which learns the model and rewrites the review queue of that database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rapport_bench \\
        .venv/bin/python bench/dedupe_bench.py [--checks 600] [--scan]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def drafts(count: int, seed: int) -> list[tuple[str, dict]]:
    """(kind, contact data) for the checks, from contacts picked at random by id."""
    from faker import Faker

    from rapport.contacts.models import Contact

    rng = random.Random(seed)
    fake = Faker(["en_US", "de_DE", "fr_FR", "es_ES"])
    fake.seed_instance(seed)
    top = Contact.objects.order_by("-id").values_list("id", flat=True).first() or 0
    out: list[tuple[str, dict]] = []
    while len(out) < count:
        contact = (
            Contact.objects.filter(id__gte=rng.randrange(1, top + 1))
            .order_by("id")
            .prefetch_related("emails", "phones", "addresses")
            .first()
        )
        if contact is None:
            continue
        email = next(iter(contact.emails.all()), None)
        kind = len(out) % 4
        if kind == 0:
            given = _typo(contact.given_name, rng) if rng.random() < 0.5 else contact.given_name
            data = {"given_name": given, "family_name": contact.family_name}
            if email is not None:
                data["emails"] = [{"address": email.address.upper()}]
            out.append(("variant of a saved person", data))
        elif kind == 1:
            data = {
                "given_name": contact.given_name,
                "family_name": contact.family_name,
                "emails": [{"address": f"bench{len(out)}@example.net"}],
            }
            out.append(("saved name, new email", data))
        elif kind == 3:
            # As a postal list or a shop's order form has it: name, birthday, address.
            address = next(iter(contact.addresses.all()), None)
            if contact.birthday is None and address is None:
                continue
            given = _typo(contact.given_name, rng) if rng.random() < 0.5 else contact.given_name
            data = {"given_name": given, "family_name": contact.family_name}
            if contact.birthday is not None:
                data["birthday"] = contact.birthday.isoformat()
            if address is not None:
                data["addresses"] = [
                    {"street": address.street, "locality": address.locality,
                     "postcode": address.postcode, "country": address.country}
                ]  # fmt: skip
            out.append(("saved person, no email or phone", data))
        else:
            data = {
                "given_name": fake.first_name(),
                "family_name": fake.last_name(),
                "emails": [{"address": fake.unique.email()}],
            }
            out.append(("new person", data))
    return out


def entry_checks(count: int, seed: int) -> dict:
    from rapport.access.models import User
    from rapport.duplicates.services import contact_duplicate_check

    actor, _ = User.objects.get_or_create(username="bench", defaults={"role": User.Role.ADMIN})
    work = drafts(count, seed)
    for _kind, data in work[:30]:  # warm-up: connections, caches, the model
        contact_duplicate_check(actor=actor, data=data)
    timings: dict[str, list[float]] = {}
    found: dict[str, int] = {}
    for kind, data in work:
        start = time.perf_counter()
        result = contact_duplicate_check(actor=actor, data=data)
        timings.setdefault(kind, []).append((time.perf_counter() - start) * 1000)
        found[kind] = found.get(kind, 0) + bool(result)
    every = [t for ts in timings.values() for t in ts]
    report = {
        kind: {
            "checks": len(ts),
            "p50_ms": round(statistics.median(ts), 1),
            "p95_ms": round(percentile(ts, 0.95), 1),
            "max_ms": round(max(ts), 1),
            "with_candidates": found[kind],
        }
        for kind, ts in timings.items()
    }
    report["all"] = {
        "checks": len(every),
        "p50_ms": round(statistics.median(every), 1),
        "p95_ms": round(percentile(every, 0.95), 1),
        "max_ms": round(max(every), 1),
    }
    return report


def full_scan() -> dict:
    """`rapport dedupe` in its own process: wall time and peak memory."""
    start = time.perf_counter()
    done = subprocess.run(
        # as the admin the entry checks made: a benchmark database has no "admin" user
        [str(ROOT / ".venv/bin/rapport"), "dedupe", "--quiet", "--as", "bench"],
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
    )
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if done.returncode != 0:
        raise SystemExit(done.stderr or done.stdout)
    return {"seconds": round(wall, 1), "peak_mb": round(peak), "output": done.stdout.strip()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checks", type=int, default=600)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--scan", action="store_true", help="Also time the full scan.")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    django.setup()
    from django.db import connection

    from rapport.contacts.models import Contact

    population = Contact.objects.count()
    print(f"{connection.vendor}: {population:,} contacts", file=sys.stderr)
    result = {"engine": connection.vendor, "contacts": population}
    result["entry_check"] = entry_checks(args.checks, args.seed)
    for kind, figures in result["entry_check"].items():
        found = (
            f"  {figures['with_candidates']}/{figures['checks']} found a candidate"
            if ("with_candidates" in figures)
            else ""
        )
        print(f"  entry check, {kind:<32} p50 {figures['p50_ms']:>6} ms  p95 {figures['p95_ms']:>6} ms"
              f"  max {figures['max_ms']:>7} ms{found}")  # fmt: skip
    if args.scan:
        result["scan"] = full_scan()
        scan = result["scan"]
        print(f"  full scan: {scan['seconds']} s, peak {scan['peak_mb']} MB\n  {scan['output']}")
    out = ROOT / "var" / "bench" / f"dedupe-{connection.vendor}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
