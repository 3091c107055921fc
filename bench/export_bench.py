"""Export speed: rows per second for CSV and vCard from an existing database.

    DATABASE_URL=… python bench/export_bench.py [--formats csv,vcf,vcf3,xlsx,json]

Fill a database first with `rapport demo --contacts N` (or reuse bench/run.py's
rapport_bench database / var/bench/rapport-<N>.sqlite3). The whole export pipeline runs
(policy check, column sizing, keyset chunks, per-chunk related rows, formatting,
encoding); the bytes are counted and dropped, as a streaming response would send them.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--formats", default="csv,vcf")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from rapport.access.models import User
    from rapport.contacts.models import Contact
    from rapport.ingest.exporters import contacts_export

    actor = User.objects.filter(is_active=True, role=User.Role.ADMIN).first()
    if actor is None:
        actor = User.objects.create_user(username="bench-export", role=User.Role.ADMIN)
    total = Contact.objects.count()
    print(f"{connection.vendor}, {total:,} contacts")
    for file_format in args.formats.split(","):
        started = time.perf_counter()
        export = contacts_export(actor=actor, file_format=file_format)
        size = 0
        for chunk in export.chunks:
            size += len(chunk)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{file_format:5} {total / seconds:10,.0f} rows/s  {seconds:7.1f} s  "
            f"{size / 1e6:8.1f} MB  peak RSS {peak:,.0f} MB"
        )


if __name__ == "__main__":
    main()
