"""`rapport calendar import FILE…`: store the events of iCalendar files as meetings.

    rapport calendar import FILE... [--user USERNAME] [--json]

Prints what each file did (created, updated, unchanged, cancelled, skipped, failed) and
every problem with its event's UID; exits with status 1 when an event or a file failed.
Running it again is safe: what did not change stays as it is.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from rapport.access.commands import RecordCommand
from rapport.activity.calendar.importing import calendar_import, read_limited
from rapport.activity.calendar.store import ImportReport
from rapport.core.errors import InvalidInput, NotPermitted


class Command(RecordCommand):
    help = "Import iCalendar (.ics) files as meetings: rapport calendar import FILE..."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="import")
        importing = sub.add_parser("import", help="Import .ics files.")
        importing.add_argument("files", nargs="+", metavar="FILE")
        importing.add_argument(
            "--user",
            "--as",
            dest="as_user",
            default=os.environ.get("RAPPORT_USER", "admin"),
            help="Import as this user, the meetings' author (default: $RAPPORT_USER, else admin).",
        )
        importing.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        total = ImportReport()
        results: list[dict[str, Any]] = []
        broken = 0
        for name in options["files"]:
            path = Path(name)
            try:
                with path.open("rb") as stream:
                    data = read_limited(stream, size=path.stat().st_size)
                report = calendar_import(actor=actor, data=data, file_name=path.name)
            except OSError as exc:
                broken += 1
                results.append({"file_name": name, "error": f"cannot read: {exc.strerror}"})
                self.stderr.write(f"{name}: cannot read it: {exc.strerror}.")
                continue
            except InvalidInput as exc:
                broken += 1
                message = "; ".join(e.message for e in exc.errors)
                results.append({"file_name": name, "error": message})
                self.stderr.write(f"{name}: {message}")
                continue
            except NotPermitted as exc:
                raise CommandError(str(exc)) from None
            total.add(report)
            results.append(report.as_dict())
            if not options["json"]:
                self.stdout.write(f"{name}: {report.events} events: {report.summary}.")
                for problem in report.problems:
                    self.stdout.write(f"  {problem}")
        if options["json"]:
            self.stdout.write(json.dumps({"files": results, "counts": total.counts()}, indent=2))
        elif len(options["files"]) > 1:
            self.stdout.write(f"In all: {total.summary}.")
        if broken or total.failed:
            raise CommandError(
                f"{total.failed} events failed"
                + (f", {broken} files could not be read" if broken else "")
                + "; the rest were stored."
            )
