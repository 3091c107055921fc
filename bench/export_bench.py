"""Export speed: rows per second for CSV and vCard from an existing database.

    DATABASE_URL=… python bench/export_bench.py [--formats csv,vcf,vcf3,xlsx,json] [--serial]

Fill a database first with `rapport demo --contacts N` (or reuse bench/run.py's
rapport_bench database / var/bench/rapport-<N>.sqlite3). The whole export pipeline runs
(policy check, column sizing, keyset chunks, per-chunk related rows, formatting,
encoding, the writer process past the first chunks unless --serial); the bytes are
counted and dropped, as a streaming response would send them. CPU per row is given for
this process (reading, and writing too with --serial) and the writer process, not for
the PostgreSQL server: on a busy machine it moves less than rows/s.
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
    parser.add_argument(
        "--serial", action="store_true", help="write every chunk in this process (no worker)"
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from rapport.access.models import User
    from rapport.contacts.models import Contact
    from rapport.ingest.exporters import contacts_export
    from rapport.ingest.exporters._pipeline import SERIAL_CHUNKS

    actor = User.objects.filter(is_active=True, role=User.Role.ADMIN).first()
    if actor is None:
        actor = User.objects.create_user(username="bench-export", role=User.Role.ADMIN)
    total = Contact.objects.count()
    print(f"{connection.vendor}, {total:,} contacts")
    serial_chunks = 10**9 if args.serial else SERIAL_CHUNKS
    for file_format in args.formats.split(","):
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        export = contacts_export(actor=actor, file_format=file_format, serial_chunks=serial_chunks)
        size = 0
        for chunk in export.chunks:
            size += len(chunk)
        seconds = time.perf_counter() - started
        reader, writer = (
            after - before for after, before in zip(_cpu_seconds(), cpu_before, strict=True)
        )
        peak = max(
            resource.getrusage(who).ru_maxrss / 1024
            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        )
        print(
            f"{file_format:5} {total / seconds:10,.0f} rows/s  {seconds:7.1f} s  "
            f"{size / 1e6:8.1f} MB  peak RSS {peak:,.0f} MB  "
            f"CPU µs/row: reader {reader / total * 1e6:4.1f} writer {writer / total * 1e6:4.1f}"
        )


def _cpu_seconds() -> tuple[float, float]:
    """User and system time of this process and of its finished children (the writer)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


if __name__ == "__main__":
    main()
