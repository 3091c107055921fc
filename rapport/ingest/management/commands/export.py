"""`rapport export`: contacts as CSV, XLSX, vCard or JSON, to a file or standard output.

    rapport export --format csv|xlsx|vcf|vcf3|json [--query TEXT] [--tag T]... [--output FILE]

The same filters as `rapport contacts list`, the same exporter as the UI and API, and
the same permission (acting as ``--as USER``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from rapport.access.commands import RecordCommand
from rapport.contacts import selectors
from rapport.ingest.exporters import FORMATS, contacts_export


class Command(RecordCommand):
    help = "Export contacts (all, searched, filtered or chosen by id) to a file or stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as",
            dest="as_user",
            default=os.environ.get("RAPPORT_USER", "admin"),
            help="Act as this user (default: $RAPPORT_USER, else admin).",
        )
        parser.add_argument("--format", choices=list(FORMATS), default="csv")
        parser.add_argument("--query", "-q", default="", help="Search text.")
        parser.add_argument(
            "--tag", action="append", default=[], help="Only with this tag (repeatable)."
        )
        parser.add_argument("--owner", help="Only owned by this username.")
        parser.add_argument(
            "--organization", type=int, help="Only people affiliated with this organization id."
        )
        parser.add_argument("--stage", help="Only this lifecycle stage.")
        parser.add_argument("--country", help="Only with an address in this ISO country.")
        parser.add_argument(
            "--id", dest="ids", type=int, action="append", help="Only this contact (repeatable)."
        )
        parser.add_argument("--output", "-o", help="Write here instead of standard output.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        filters = selectors.ContactFilters(
            tags=options["tag"],
            owner=options["owner"],
            organization=options["organization"],
            lifecycle_stage=options["stage"],
            country=(options["country"] or "").upper() or None,
        )
        if options["format"] == "xlsx" and not options["output"] and sys.stdout.isatty():
            raise CommandError("An XLSX file is binary: give --output FILE or redirect stdout.")
        export = self.call(
            contacts_export,
            actor=actor,
            file_format=options["format"],
            q=options["query"],
            filters=filters,
            ids=options["ids"],
        )
        count_bytes = 0
        if options["output"]:
            target = Path(options["output"])
            partial = target.with_name(target.name + ".part")
            try:
                with partial.open("wb") as handle:
                    for chunk in export.chunks:
                        handle.write(chunk)
                        count_bytes += len(chunk)
                partial.replace(target)
            except OSError as exc:
                partial.unlink(missing_ok=True)
                raise CommandError(f"Cannot write {target}: {exc.strerror}.") from None
            self.stderr.write(f"Wrote {target} ({count_bytes:,} bytes).")
            return
        stream: Any = self.stdout._out
        binary = getattr(stream, "buffer", None)
        for chunk in export.chunks:
            if binary is not None:
                binary.write(chunk)
            else:  # a text stream (tests, call_command): the exports are UTF-8
                stream.write(chunk.decode("utf-8", errors="replace"))
        if binary is not None:
            binary.flush()
