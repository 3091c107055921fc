"""How fast `rapport mail import` logs a large mbox, and in how much memory.

    python bench/mail_ingest_bench.py [--messages 100000] [--contacts 3000] [--engine sqlite|postgresql]

Builds a fresh database (SQLite in a temporary folder, or the PostgreSQL database named
by DATABASE_URL, emptied first), a user and ``--contacts`` contacts, then writes an mbox
of ``--messages`` messages with realistic headers: mail from and to known contacts,
from people who are no contact yet, replies with References and In-Reply-To, some
HTML, Cc lines, signatures, a few mailing-list messages. The file is imported with the
code `rapport mail import` runs; the figure is messages per second over the whole
import, with the process's resident memory at 10 % and at the end (constant memory
means those two stay close).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 500.0
FIRST = ["Anna", "Ben", "Chloé", "David", "Elena", "Farid", "Greta", "Hiro", "Ivan", "Julia", "Kofi", "Lena", "Marta", "Nils", "Olga", "Pierre", "Quinn", "Rosa", "Sven", "Tariq"]  # fmt: skip
LAST = ["Müller", "Smith", "Dubois", "García", "Rossi", "Nowak", "Jensen", "Tanaka", "Petrov", "Okafor", "Silva", "Novak", "Berg", "Kowalski", "Moreau", "Fischer"]  # fmt: skip
DOMAINS = ["northwind-traders.com", "bergmann-technik.de", "atelier-lumiere.fr", "sol-y-mar.es", "polderdata.nl", "huaxin-tech.cn", "sakura-shoji.co.jp", "acme-tools.co.uk"]  # fmt: skip
SUBJECTS = ["Q2 budget", "Site visit on Thursday", "Angebot Wartung", "Devis éclairage", "Invoice 2026-{n}", "Contract renewal", "Follow-up from the call", "Samples shipped", "Meeting notes", "Pricing question"]  # fmt: skip


def rss_mb() -> float:
    with open("/proc/self/status") as handle:  # noqa: PTH123
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def person(i: int) -> tuple[str, str]:
    first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
    domain = DOMAINS[i % len(DOMAINS)]
    return f"{first} {last}", f"{first.lower()}.{last.lower()}{i}@{domain}".replace(
        "é", "e"
    ).replace("ü", "ue").replace("í", "i")


def write_mbox(path: Path, messages: int, contacts: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    me = "Alice Archer <alice@rapport.test>"
    recent: list[tuple[str, str, str]] = []  # (message id, subject, other party)
    with path.open("wb") as out:
        for n in range(messages):
            kind = rng.random()
            if kind < 0.05:
                sender, to = "Northwind News <news@northwind-traders.com>", me
                extra = "List-Id: <news.northwind-traders.com>\nList-Unsubscribe: <mailto:u@northwind-traders.com>\n"
            else:
                extra = ""
                if kind < 0.30:  # someone who is no contact
                    name, address = person(contacts + rng.randrange(20000))
                else:
                    name, address = person(rng.randrange(contacts))
                other = f"{name} <{address}>"
                sender, to = (other, me) if rng.random() < 0.6 else (me, other)
            subject = rng.choice(SUBJECTS).format(n=n % 500)
            references = ""
            if recent and rng.random() < 0.35:
                parent, subject0, _ = recent[rng.randrange(len(recent))]
                subject = "Re: " + subject0.removeprefix("Re: ")
                references = f"In-Reply-To: <{parent}>\nReferences: <{parent}>\n"
            message_id = f"{n}.{rng.randrange(10**9)}@bench.rapport.test"
            day = 1 + n * 365 // messages
            date = f"{['Mon', 'Tue', 'Wed', 'Thu', 'Fri'][n % 5]}, {1 + day % 28:02d} {['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][day // 31 % 12]} 2025 {n % 24:02d}:{n % 60:02d}:00 +0100"
            cc = (
                f"Cc: {' , '.join(person(rng.randrange(contacts))[1] for _ in range(rng.randrange(3)))}\n"
                if rng.random() < 0.3
                else ""
            )
            body = (
                f"Hello,\n\nthank you for your message about {subject.lower()}. "
                "We looked at the numbers again and the figures hold; the next step is on us.\n"
                "From now on we will send the report every Friday.\n\n"
                "Best regards,\nRosa Berg\nHead of Sales, Berg AG\nTel. +49 30 1234567\n\n"
                "On Mon, 3 Mar 2025 at 10:00, Alice Archer <alice@rapport.test> wrote:\n"
                "> Could you check the figures?\n> Thanks, Alice\n"
            )
            head = (
                f"From {sender.split('<')[-1].rstrip('>')} Mon Jan  6 10:00:00 2025\n"
                f"Return-Path: <{sender.split('<')[-1].rstrip('>')}>\n"
                "Received: from mx.example.net by mail.rapport.test with ESMTPS; Mon, 6 Jan 2025 10:00:01 +0100\n"
                f"From: {sender}\nTo: {to}\n{cc}Subject: {subject}\nDate: {date}\n"
                f"Message-ID: <{message_id}>\n{references}{extra}MIME-Version: 1.0\n"
            )
            if rng.random() < 0.3:
                html = "<html><body><p>" + body.replace("\n", "<br>") + "</p></body></html>"
                mime = (
                    'Content-Type: multipart/alternative; boundary="b1"\n\n--b1\n'
                    f"Content-Type: text/plain; charset=utf-8\n\n{body}\n--b1\n"
                    f"Content-Type: text/html; charset=utf-8\n\n{html}\n--b1--\n"
                )
            else:
                mime = f"Content-Type: text/plain; charset=utf-8\n\n{body}"
            text = (head + mime).replace("\nFrom now", "\n>From now")
            out.write(text.encode() + b"\n")
            if not extra:
                recent.append((message_id, subject, sender))
                if len(recent) > 2000:
                    recent = recent[-1000:]


def setup_database(engine: str, data_dir: Path) -> None:
    os.environ["RAPPORT_DATA_DIR"] = str(data_dir)
    if engine == "sqlite":
        os.environ["DATABASE_URL"] = f"sqlite:///{data_dir}/mail-bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if engine == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)


def make_people(contacts: int) -> object:
    from rapport.access.models import User
    from rapport.contacts import normalize
    from rapport.contacts.models import Contact, Email

    user = User.objects.create_user(
        username="alice", password="x", role=User.Role.ADMIN, email="alice@rapport.test"
    )
    rows = []
    for i in range(contacts):
        name, _ = person(i)
        rows.append(
            Contact(
                given_name=name.split()[0],
                family_name=name.split()[1],
                display_name=name,
                sort_name=name.lower(),
            )
        )
    created = Contact.objects.bulk_create(rows, batch_size=1000)
    Email.objects.bulk_create(
        [
            Email(
                contact=c,
                address=person(i)[1],
                address_key=normalize.email_key(person(i)[1]),
                primary=True,
            )
            for i, c in enumerate(created)
        ],
        batch_size=1000,
    )
    return user


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=3_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mail-bench-") as folder:
        data_dir = Path(folder)
        mbox = data_dir / "bench.mbox"
        started = time.perf_counter()
        write_mbox(mbox, args.messages, args.contacts)
        print(
            f"mbox: {args.messages:,} messages, {mbox.stat().st_size / 1e6:,.0f} MB, written in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        setup_database(args.engine, data_dir)
        user = make_people(args.contacts)
        from rapport.activity.mail import imports

        samples: dict[str, float] = {}

        def progress(job: object) -> None:
            done = job.processed  # type: ignore[attr-defined]
            if "rss_10pct_mb" not in samples and done >= args.messages // 10:
                samples["rss_10pct_mb"] = rss_mb()
            if done % 10_000 < imports.CHUNK:
                print(
                    f"  {done:,} messages, {done / (time.perf_counter() - started):,.0f}/s, RSS {rss_mb():.0f} MB",
                    file=sys.stderr,
                )

        job = imports.mail_import_from_path(actor=user, path=mbox)
        started = time.perf_counter()
        cpu_started = time.process_time()
        job = imports.mail_import_run(job_id=job.pk, progress=progress)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        import resource

        result = {
            "engine": args.engine,
            "messages": job.processed,
            "stored": job.stored_count,
            "skipped": job.skipped_count,
            "failed": job.failed_count,
            "seconds": round(seconds, 1),
            "messages_per_s": round(job.processed / seconds),
            # on a machine busy with other work the wall clock says little: this is the
            # rate per second of CPU the import itself used
            "messages_per_cpu_s": round(job.processed / cpu_seconds),
            "load_average": os.getloadavg()[0],
            "rss_10pct_mb": round(samples.get("rss_10pct_mb", 0)),
            "rss_end_mb": round(rss_mb()),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "target_messages_per_s": TARGET,
        }
        print(json.dumps(result, indent=2))
        if result["messages_per_s"] < TARGET:
            sys.exit(f"Below the target of {TARGET:.0f} messages/s")


if __name__ == "__main__":
    main()
