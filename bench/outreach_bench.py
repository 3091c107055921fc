"""The contact gate's speed: one decision in process, and the bulk decision over a whole
database.

    python bench/outreach_bench.py --single                 # SQLite, a fresh temporary database
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rapport_bench \\
        python bench/outreach_bench.py --single --bulk      # PostgreSQL, an existing database

--single: p50/p95/p99 of ``contact_gate`` for one contact with everything set (own hours,
channels, caps and holiday choice; two organizations' defaults, one firm; the French
legal rule with its holidays, attempt limit and silence; a few attempts in the log), at
2,000 moments spread over a year (about half allowed, half needing the search for the
next allowed time). Targets: p95 <= 1 ms.

--bulk: "who may we email for the newsletter now" (and call for sales) over every contact,
as ``contacts_reachable(...).count()``. The database must hold the contacts already (fill
it with `rapport demo --contacts 1000000 --organizations 20000`); the first run adds
varied preferences to 5% of them, organization defaults to 50 organizations, caps and
200,000 attempts, and computes every contact's reach profile (timed separately).
Target on PostgreSQL: <= 30 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
if "DATABASE_URL" not in os.environ:
    os.environ.setdefault("RAPPORT_DATA_DIR", tempfile.mkdtemp(prefix="rapport-outreach-bench-"))

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def admin():
    from rapport.access.models import User

    user, _ = User.objects.get_or_create(
        username="bench-outreach", defaults={"role": User.Role.ADMIN}
    )
    return user


def single(rounds: int) -> None:
    from django.db import connection

    from rapport.consent.models import Purpose
    from rapport.consent.services.ledger import consent_record
    from rapport.consent.services.purposes import purpose_create
    from rapport.contacts.models import Contact
    from rapport.contacts.services import affiliation_create, contact_create, organization_create
    from rapport.outreach.gate import contact_gate
    from rapport.outreach.services.attempts import attempt_log
    from rapport.outreach.services.preferences import (
        contact_preferences_set,
        organization_preferences_set,
    )

    actor = admin()
    if not Purpose.objects.filter(key="sales").exists():
        purpose_create(
            actor=actor,
            data={
                "key": "sales",
                "name": "Sales outreach",
                "lawful_basis": "consent",
                "description": "Calls from the sales team.",
                "is_marketing": True,
                "data_categories": ["name", "phone number"],
            },
            via="cli",
        )
    contact = Contact.objects.filter(display_name="Outreach Bench Person").first()
    if contact is None:
        contact = contact_create(
            actor=actor,
            data={
                "full_name": "Outreach Bench Person",
                "phones": [{"number": "+33 6 12 34 56 78"}],
                "addresses": [{"country": "FR", "region": "Île-de-France", "locality": "Paris"}],
            },
            via="cli",
        )
        for name, firm in (("Bench Firm Org", True), ("Bench Soft Org", False)):
            org = organization_create(actor=actor, data={"name": name}, via="cli")
            organization_preferences_set(
                actor=actor,
                organization=org,
                data={
                    "channels": {"sms": "refused", "post": "preferred"},
                    "hours": [{"day": d, "start": "08:00", "end": "19:00"} for d in WEEKDAYS],
                    "hours_overridable": not firm,
                    "avoid_holidays": True,
                    "note": "bench",
                },
            )
            affiliation_create(
                actor=actor, data={"contact": contact.pk, "organization": org.pk}, via="cli"
            )
        contact_preferences_set(
            actor=actor,
            contact=contact,
            data={
                "channels": {"call": "allowed", "email": "preferred"},
                "hours": [{"day": d, "start": "09:00", "end": "12:30"} for d in WEEKDAYS]
                + [{"day": d, "start": "14:00", "end": "18:00"} for d in WEEKDAYS],
                "avoid_holidays": True,
                "language": "fr",
                "caps": [
                    {"channel": "call", "purpose": "", "max_count": 10, "period_days": 30},
                    {"channel": "", "purpose": "sales", "max_count": 20, "period_days": 90},
                ],
            },
        )
        consent_record(
            actor=actor,
            contact_id=contact.pk,
            data={
                "action": "grant",
                "purpose": "sales",
                "channel": "call",
                "method": "verbal",
                "given_at": "2025-12-01T10:00:00+00:00",
            },
            via="cli",
        )
        start = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
        for i in range(6):
            attempt_log(
                actor=actor,
                contact=contact,
                channel="call",
                purpose="sales",
                outcome="attempted",
                at=start + dt.timedelta(days=17 * i),
            )
    rng = random.Random(7)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    moments = [base + dt.timedelta(minutes=rng.randrange(365 * 24 * 60)) for _ in range(rounds)]
    for at in moments[:50]:  # warm caches (holiday calendars, parsed hours, zones)
        contact_gate(contact=contact.pk, channel="call", purpose="sales", at=at)
    timings: list[float] = []
    cpu: list[float] = []
    allowed = 0
    for at in moments:
        started, started_cpu = time.perf_counter(), time.thread_time()
        decision = contact_gate(contact=contact.pk, channel="call", purpose="sales", at=at)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        allowed += decision.allowed
    load = os.getloadavg()[0]
    print(
        f"{connection.vendor}: one decision, everything set, {rounds:,} moments "
        f"({allowed:,} allowed), load average {load:.1f}:\n"
        f"  wall p50 {percentile(timings, 50):.3f} ms, p95 {percentile(timings, 95):.3f} ms, "
        f"p99 {percentile(timings, 99):.3f} ms, mean {statistics.mean(timings):.3f} ms\n"
        f"  CPU  p50 {percentile(cpu, 50):.3f} ms, p95 {percentile(cpu, 95):.3f} ms, "
        f"p99 {percentile(cpu, 99):.3f} ms (this thread only: a busy machine's waits left out)"
    )


def prepare_bulk() -> None:
    from django.db import connection

    from rapport.contacts.models import Contact, Organization
    from rapport.outreach.models import (
        ContactAttempt,
        ContactPreferences,
        FrequencyCap,
        OrganizationPreferences,
    )
    from rapport.outreach.services.reach import reach_refresh, reach_refresh_stale

    total = Contact.objects.count()
    # the purposes the questions name: "newsletter" on consent, granted (or withdrawn…)
    # to a spread of contacts, as the campaign export benchmark prepares it; "sales" on
    # legitimate interest (allowed unless they objected)
    from campaign_export_bench import prepare as prepare_consent

    from rapport.consent.models import Purpose
    from rapport.consent.services.purposes import purpose_create

    prepare_consent()
    if not Purpose.objects.filter(key="sales").exists():
        purpose_create(
            actor=admin(),
            data={
                "key": "sales",
                "name": "Sales outreach",
                "lawful_basis": "legitimate_interest",
                "description": "Calls and mail from the sales team.",
                "is_marketing": True,
            },
            via="cli",
        )
    started = time.perf_counter()
    refreshed = reach_refresh_stale()
    if refreshed:
        print(f"reach profiles: {refreshed:,} contacts in {time.perf_counter() - started:.1f} s")
    if ContactPreferences.objects.count() >= total // 25:
        return
    rng = random.Random(11)
    ids = list(Contact.objects.values_list("id", flat=True))
    chosen = rng.sample(ids, total // 20)
    statuses = ["", "", "", "allowed", "preferred", "refused"]
    rows = []
    for pk in chosen:
        hours = None
        if rng.random() < 0.6:
            start, end = rng.choice([("08:00", "18:00"), ("09:00", "17:00"), ("10:00", "20:00")])
            hours = {d: [f"{start}-{end}"] for d in WEEKDAYS[: rng.randint(3, 5)]}
        rows.append(
            ContactPreferences(
                contact_id=pk,
                email=rng.choice(statuses),
                call=rng.choice(statuses),
                sms=rng.choice(statuses),
                hours=hours,
                avoid_holidays=rng.choice([None, None, True]),
                do_not_contact=True if rng.random() < 0.05 else None,
            )
        )
    started = time.perf_counter()
    ContactPreferences.objects.bulk_create(rows, batch_size=5_000)
    reach_refresh(chosen)
    FrequencyCap.objects.bulk_create(
        [
            FrequencyCap(
                contact_id=pk, channel="email", purpose="newsletter", max_count=2, period_days=30
            )
            for pk in chosen[: len(chosen) // 5]
        ],
        batch_size=5_000,
    )
    orgs = list(Organization.objects.order_by("?").values_list("id", flat=True)[:50])
    OrganizationPreferences.objects.bulk_create(
        [
            OrganizationPreferences(
                organization_id=org,
                call="refused" if i % 3 == 0 else "",
                do_not_contact=True if i % 10 == 0 else None,
                hours={d: ["09:00-17:00"] for d in WEEKDAYS} if i % 2 == 0 else None,
                hours_overridable=i % 4 != 0,
            )
            for i, org in enumerate(orgs)
        ]
    )
    now = dt.datetime.now(dt.UTC)
    attempts = [
        ContactAttempt(
            contact_id=rng.choice(ids),
            channel=rng.choice(["email", "email", "call", "sms"]),
            purpose=rng.choice(["newsletter", "sales"]),
            outcome=rng.choice(["sent", "sent", "attempted", "refused"]),
            at=now - dt.timedelta(minutes=rng.randrange(90 * 24 * 60)),
        )
        for _ in range(200_000)
    ]
    ContactAttempt.objects.bulk_create(attempts, batch_size=10_000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"variety added in {time.perf_counter() - started:.1f} s")


def bulk(rounds: int) -> None:
    from django.db import connection

    from rapport.contacts.models import Contact
    from rapport.outreach.selectors.reachable import contacts_reachable

    prepare_bulk()
    total = Contact.objects.count()
    at = dt.datetime.now(dt.UTC)
    for channel, purpose in (("email", "newsletter"), ("call", "sales")):
        for _ in range(rounds):
            started = time.perf_counter()
            count = contacts_reachable(
                Contact.objects.all(), channel=channel, purpose=purpose, at=at
            ).count()
            seconds = time.perf_counter() - started
            print(
                f"{connection.vendor}: who may we {channel} for {purpose} now, over "
                f"{total:,} contacts: {count:,} in {seconds:.2f} s"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--single", action="store_true")
    parser.add_argument("--bulk", action="store_true")
    parser.add_argument("--rounds", type=int, default=2_000)
    parser.add_argument("--bulk-rounds", type=int, default=3)
    args = parser.parse_args()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    if args.single or not args.bulk:
        single(args.rounds)
    if args.bulk:
        bulk(args.bulk_rounds)


if __name__ == "__main__":
    main()
