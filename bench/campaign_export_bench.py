"""Campaign export speed: the plain CSV export against the same export made for a
campaign (``rapport export --purpose NAME``: whoever the contact gate would not let
through is left out), on the same database and filters.

    DATABASE_URL=… python bench/campaign_export_bench.py [--purpose newsletter]
        [--channel email] [--format csv] [--prepare] [--serial]

Target: the purpose export at no less than half the speed of the plain one, counted in
contacts read per second (the selection both go through), with the rows written per
second of each given alongside (the campaign export writes fewer).

``--prepare`` gives a database without them the purposes and consent states the
filter reads, written directly as ``rapport consent rebuild`` would leave them (one
INSERT … SELECT each, PostgreSQL): "newsletter" (consent, marketing, 730 days) granted
by email for 60 % of contacts, withdrawn for 5 %, pending for 1 %; objections to direct
marketing for 2 %, restrictions for 0.5 % (as bench/consent_bench.py loads them).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")


def prepare() -> None:
    from django.db import connection, transaction

    from rapport.access.models import User
    from rapport.consent import services
    from rapport.consent.models import ConsentContactState, ConsentState, Purpose

    admin = User.objects.filter(is_active=True, role=User.Role.ADMIN).first()
    if admin is None:
        admin = User.objects.create_user(username="bench-export", role=User.Role.ADMIN)
    if not Purpose.objects.filter(key="newsletter").exists():
        services.purpose_create(
            actor=admin,
            data={
                "key": "newsletter",
                "name": "Newsletter",
                "lawful_basis": "consent",
                "is_marketing": True,
                "retention_days": 730,
                "text": "Yes, send me the newsletter.",
            },
        )
    if ConsentState.objects.exists():
        print("consent states present; nothing to prepare")
        return
    newsletter = Purpose.objects.get(key="newsletter")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        # a fixed spread by id (hashed, so it does not follow creation order)
        cursor.execute(
            f"""
            INSERT INTO {ConsentState._meta.db_table}
                (contact_id, purpose_id, channel, status, since, valid_until, event_id)
            SELECT id, %s, 'email', s.status,
                   now() - ((1 + mod(h, 700)) || ' days')::interval, NULL, id
            FROM (SELECT id, abs(hashtext(id::text)) AS h FROM contacts_contact) c
            CROSS JOIN LATERAL (SELECT CASE WHEN mod(h, 100) < 60 THEN 'granted'
                                            WHEN mod(h, 100) < 65 THEN 'withdrawn'
                                            WHEN mod(h, 100) < 66 THEN 'pending' END AS status) s
            WHERE s.status IS NOT NULL
            """,
            [newsletter.pk],
        )
        cursor.execute(
            f"""
            INSERT INTO {ConsentContactState._meta.db_table}
                (contact_id, restricted_since, marketing_objection_since)
            SELECT id,
                   CASE WHEN mod(h, 1000) < 5 THEN now() - interval '30 days' END,
                   CASE WHEN mod(h, 1000) >= 5 AND mod(h, 1000) < 25
                        THEN now() - interval '30 days' END
            FROM (SELECT id, abs(hashtext(id::text || 'w')) AS h FROM contacts_contact) c
            WHERE mod(h, 1000) < 25
            """
        )
        cursor.execute("ANALYZE")
    print(f"consent states written in {time.perf_counter() - started:.0f} s")


def _rows(purpose: str, channel: str, now: object) -> int:
    """How many contacts the export wrote (counted apart, outside the timing)."""
    from rapport.core.audiences import audience_filter
    from rapport.ingest.exporters._source import contacts_matching

    qs = contacts_matching()
    if purpose:
        qs = audience_filter(qs, purpose=purpose, channel=channel, at=now)
    return int(qs.count())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--purpose", default="newsletter")
    parser.add_argument("--channel", default="email")
    parser.add_argument("--format", default="csv")
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--serial", action="store_true")
    parser.add_argument("--explain", action="store_true", help="print the purpose query's plan")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from rapport.access.models import User
    from rapport.contacts.models import Contact
    from rapport.ingest.exporters import contacts_export
    from rapport.ingest.exporters._pipeline import SERIAL_CHUNKS

    if args.prepare:
        prepare()
    actor = User.objects.filter(is_active=True, role=User.Role.ADMIN).first()
    if actor is None:
        actor = User.objects.create_user(username="bench-export", role=User.Role.ADMIN)
    total = Contact.objects.count()
    now = timezone.now()
    if args.explain:
        from rapport.core.audiences import audience_filter
        from rapport.ingest.exporters._source import contacts_matching

        qs = audience_filter(
            contacts_matching(), purpose=args.purpose, channel=args.channel, at=now
        ).order_by("pk")[:2000]
        print(qs.explain(analyze=True) if connection.vendor == "postgresql" else qs.explain())
    print(f"{connection.vendor}, {total:,} contacts, format {args.format}")
    serial_chunks = 10**9 if args.serial else SERIAL_CHUNKS
    seconds: dict[str, float] = {}
    for label, purpose in (("plain", ""), (f"--purpose {args.purpose}", args.purpose)):
        started = time.perf_counter()
        export = contacts_export(
            actor=actor,
            file_format=args.format,
            serial_chunks=serial_chunks,
            purpose=purpose,
            channel=args.channel,
            now=now,
        )
        size = 0
        for chunk in export.chunks:
            size += len(chunk)
        took = seconds[label] = time.perf_counter() - started
        rows = _rows(purpose, args.channel, now)
        print(
            f"{label:22} {rows:>9,} rows  {took:7.1f} s  {rows / took:9,.0f} rows/s written  "
            f"{total / took:9,.0f} contacts/s read  {size / 1e6:7.1f} MB"
        )
    plain, campaign = seconds.values()
    print(
        f"campaign/plain speed (contacts read per second): {plain / campaign:.2f} (target ≥ 0.50)"
    )


if __name__ == "__main__":
    main()
