"""`rapport mail import FILE…`, `rapport mail receive`, `rapport mail sync [MAILBOX]`."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from rapport.access.commands import RecordCommand
from rapport.activity.mail import imports
from rapport.activity.models import MailImport


class Command(RecordCommand):
    help = "Log mail: import .eml/.mbox files, run the drop-box receiver, sync mailboxes."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        common = self.common()
        do_import = sub.add_parser(
            "import", parents=[common], help="Log the messages of .eml and .mbox files."
        )
        do_import.add_argument("files", nargs="*", help="The files to import.")
        do_import.add_argument(
            "--resume", type=int, metavar="IMPORT", help="Resume an interrupted import."
        )
        do_import.add_argument("--no-progress", action="store_true")
        receive = sub.add_parser(
            "receive", parents=[common], help="Run the drop-box SMTP/LMTP receiver."
        )
        receive.add_argument("--host", default="127.0.0.1")
        receive.add_argument("--port", type=int, default=8025)
        receive.add_argument("--lmtp", action="store_true", help="Speak LMTP instead of SMTP.")
        sync = sub.add_parser("sync", parents=[common], help="Sync IMAP mailboxes now.")
        sync.add_argument("mailbox", nargs="?", help="One mailbox's name (default: all).")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "import":
            self.do_import(options)
        elif action == "receive":
            self.receive(options)
        else:
            self.sync(options)

    # -- import ------------------------------------------------------------------------

    def do_import(self, options: dict[str, Any]) -> None:
        actor = self.actor(options)
        jobs: list[MailImport] = []
        if options["resume"]:
            job = self.fetch(MailImport, options["resume"])
            if job.status == MailImport.Status.DONE:
                raise CommandError(f"Import {job.pk} is done; nothing to resume.")
            jobs.append(job)
        elif not options["files"]:
            raise CommandError("Name one or more .eml or .mbox files (or --resume IMPORT).")
        for name in options["files"]:
            jobs.append(self.call(imports.mail_import_from_path, actor=actor, path=Path(name)))
        failed = 0
        for job in jobs:
            failed += self.run_one(job, options)
        if failed:
            raise CommandError(f"{failed} message{'s' if failed != 1 else ''} could not be logged.")

    def run_one(self, job: MailImport, options: dict[str, Any]) -> int:
        started = time.monotonic()
        show = not options["no_progress"] and not options.get("json")

        def progress(current: MailImport) -> None:
            if show:
                rate = current.processed / max(time.monotonic() - started, 1e-6)
                self.stderr.write(
                    f"\r{current.file_name}: {current.processed:,} messages ({rate:,.0f}/s)",
                    ending="",
                )

        job = self.call(imports.mail_import_run, job_id=job.pk, progress=progress)
        if show:
            self.stderr.write("")
        self.summary(job, time.monotonic() - started)
        return job.failed_count

    def summary(self, job: MailImport, seconds: float) -> None:
        if job.status == MailImport.Status.FAILED:
            raise CommandError(f"{job.file_name}: {job.error}")
        self.stdout.write(
            f"Import {job.pk} ({job.file_name}): {job.processed:,} messages in {seconds:.1f} s — "
            f"{job.stored_count:,} stored, {job.joined_count:,} already known, "
            f"{job.skipped_count:,} skipped, {job.failed_count:,} failed."
        )
        for reason, count in sorted(job.skipped.items(), key=lambda item: -item[1]):
            self.stdout.write(f"  skipped {count:,}: {reason}")
        for problem in job.problems:
            where = f"message {problem['number']}"
            if problem.get("message_id"):
                where += f" <{problem['message_id']}>"
            self.stdout.write(f"  {problem['file']}, {where}: {problem['reason']}")
        if job.failed_count > len(job.problems):
            self.stdout.write(f"  … {job.failed_count:,} failed in all; the first are listed.")

    # -- the drop-box ------------------------------------------------------------------

    def receive(self, options: dict[str, Any]) -> None:
        from rapport.activity.mail.receiver import dropbox_controller

        controller = dropbox_controller(
            host=options["host"], port=options["port"], lmtp=options["lmtp"]
        )
        try:
            controller.start()
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {options['host']}:{options['port']}: {exc}"
            ) from None
        protocol = "LMTP" if options["lmtp"] else "SMTP"
        self.stdout.write(
            f"Drop-box receiving {protocol} on {options['host']}:{options['port']}; Ctrl-C stops."
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()

    # -- IMAP --------------------------------------------------------------------------

    def sync(self, options: dict[str, Any]) -> None:
        if importlib.util.find_spec("rapport.activity.mail.imap") is None or (
            importlib.util.find_spec("rapport.activity.mail.imap.commands") is None
        ):
            self.stdout.write("IMAP sync is not available")
            return
        from rapport.activity.mail.imap import commands  # type: ignore[import-not-found,unused-ignore]

        code = int(commands.mailboxes_sync_cli(options["mailbox"], self.stdout))
        if code:
            sys.exit(code)
