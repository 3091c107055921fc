"""IMAP sync speed: a 10,000-message folder from a local Dovecot, first and again.

    python bench/imap_bench.py [--messages 10000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rapport_imap_bench python bench/imap_bench.py

Starts a private Dovecot (Debian's dovecot-imapd, as the mailbox tests do), files the
messages into its INBOX by IMAP APPEND (realistic headers: two thirds from or to known
contacts, the rest from strangers and mailing lists), then, in a new database (a SQLite
file under var/bench/, or the database DATABASE_URL names, emptied first), times:

- the initial sync of the folder: fetch in batches, capture, record each UID, reconcile;
- an incremental sync with nothing new (one STATUS round trip with CONDSTORE);
- an incremental sync with 100 new messages.

Targets: initial ≤ 60 s, nothing new ≤ 1 s. ``--without-intake`` replaces the mail
intake by one that only parses the Message-ID, to time the sync machinery alone (IMAP
fetch, per-UID records, reconcile) apart from what capturing each message costs.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / "var" / "bench"
BENCH_DIR.mkdir(parents=True, exist_ok=True)
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{BENCH_DIR / 'imap-bench.sqlite3'}"
    (BENCH_DIR / "imap-bench.sqlite3").unlink(missing_ok=True)
if os.environ["DATABASE_URL"].startswith("postgres"):  # create the database when missing
    import psycopg

    url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    base, name = url.rsplit("/", 1)
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
os.environ.setdefault("RAPPORT_DATA_DIR", tempfile.mkdtemp(prefix="rapport-imap-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

GIVEN = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Tim", "Barbara", "Dennis", "Frances", "Ken"]
FAMILY = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Liskov", "Ritchie", "Allen"]


def message(i: int, rng: random.Random, known: list[str]) -> bytes:
    from email.message import EmailMessage
    from email.utils import format_datetime

    m = EmailMessage()
    kind = rng.random()
    if kind < 0.66:
        m["From"] = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)} <{rng.choice(known)}>"
    elif kind < 0.85:
        m["From"] = f"Someone <stranger{i}@elsewhere.example.org>"
    else:
        m["From"] = "Weekly news <news@lists.example.net>"
        m["List-Id"] = "<news.lists.example.net>"
        m["List-Unsubscribe"] = "<mailto:leave@lists.example.net>"
    m["To"] = "Me <me@ours.example.com>" + (", " + rng.choice(known) if rng.random() < 0.2 else "")
    m["Subject"] = f"Re: Proposal {i % 700} — next steps"
    m["Date"] = format_datetime(datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=37 * i))
    m["Message-ID"] = f"<bench-{i}@mail.example.com>"
    if i > 10 and rng.random() < 0.5:
        m["In-Reply-To"] = f"<bench-{i - rng.randint(1, 10)}@mail.example.com>"
    body = "\n".join(
        f"Paragraph {p}: we discussed the figures for quarter {p % 4 + 1} and the timeline."
        for p in range(rng.randint(3, 25))
    )
    m.set_content(body + "\n\n-- \nAda Lovelace\nAnalytical Engines Ltd\n+44 20 7946 0000\n")
    return bytes(m)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--without-intake", action="store_true")
    args = parser.parse_args()
    if args.without_intake:
        import email

        from rapport.activity.mail.imap import sync
        from rapport.activity.mail.intake import MailOutcome

        def parse_only(raw: bytes, **_: object) -> MailOutcome:
            message_id = email.message_from_bytes(raw).get("Message-ID", "")
            return MailOutcome("skipped", "intake left out", message_id=message_id)

        sync.mail_capture = parse_only  # type: ignore[assignment]

    from rapport.activity.tests.imap_server import dovecot_binary, dovecot_start

    if dovecot_binary() is None:
        print("Dovecot is not installed: apt-get install dovecot-imapd")
        return 2
    engine = connection.vendor
    if engine == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)

    from rapport.access.models import User
    from rapport.activity.mail.imap.services import mailbox_create
    from rapport.activity.mail.imap.sync import mailbox_sync
    from rapport.activity.models import Interaction, MailboxMessage
    from rapport.contacts.services import contact_create

    owner = User.objects.create_user(username="bench", password="x", role="member")
    known = [f"person{n}@clients.example.com" for n in range(500)]
    for n, address in enumerate(known):
        contact_create(
            actor=owner, data={"given_name": f"Person {n}", "emails": [{"address": address}]}
        )

    root = Path(tempfile.mkdtemp(prefix="rapport-imap-bench-dovecot-"))
    server = dovecot_start(root)
    try:
        account = server.account()
        rng = random.Random(12)
        started = time.perf_counter()
        account.append("INBOX", *(message(i, rng, known) for i in range(args.messages)))
        print(f"Filed {args.messages} messages by APPEND in {time.perf_counter() - started:.1f} s")
        mailbox = mailbox_create(
            actor=owner,
            data={
                "name": "Bench",
                "host": "127.0.0.1",
                "port": server.port,
                "security": "none",
                "username": account.username,
                "password": account.password,
                "folders": ["INBOX"],
            },
        )

        started = time.perf_counter()
        result = mailbox_sync(mailbox_id=mailbox.pk)
        initial = time.perf_counter() - started
        assert result.status == "ok", result.message
        inbox = result.folders[0]
        print(f"[{engine}] initial sync: {initial:.1f} s for {inbox.seen} messages "
              f"({inbox.seen / initial:.0f}/s): {inbox.summary()}")  # fmt: skip
        assert MailboxMessage.objects.count() == args.messages
        assert inbox.failed == 0

        times = []
        for _ in range(5):
            started = time.perf_counter()
            quiet = mailbox_sync(mailbox_id=mailbox.pk)
            times.append(time.perf_counter() - started)
            assert quiet.folders[0].unchanged
        print(f"[{engine}] incremental sync, nothing new: best {min(times) * 1000:.0f} ms, "
              f"worst {max(times) * 1000:.0f} ms (5 runs)")  # fmt: skip

        account.append("INBOX", *(message(args.messages + i, rng, known) for i in range(100)))
        started = time.perf_counter()
        later = mailbox_sync(mailbox_id=mailbox.pk)
        print(f"[{engine}] incremental sync, 100 new: {time.perf_counter() - started:.2f} s: "
              f"{later.folders[0].summary()}")  # fmt: skip
        print(f"Interactions stored: {Interaction.objects.count()}")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
