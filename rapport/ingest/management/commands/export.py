"""`rapport export`: contacts (CSV, XLSX, vCard, JSON) or organizations (CSV, XLSX,
JSON), to a file or standard output.

    rapport export --format csv|xlsx|vcf|vcf3|json [--query TEXT] [--tag T]... [--output FILE]
    rapport export --organizations --format csv|xlsx|json [--industry I] [--parent ID] ...

The same filters as `rapport contacts list` and `rapport organizations list`, the same
exporters as the UI and API, and the same permissions (acting as ``--as USER``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from rapport.access.commands import RecordCommand
from rapport.contacts import selectors
from rapport.ingest.exporters import (
    FORMATS,
    ORGANIZATION_FORMATS,
    contacts_export,
    organizations_export,
)

# Filters that only apply to one kind of record, by option name.
_CONTACT_ONLY = ("organization", "stage")
_ORGANIZATION_ONLY = ("industry", "parent")


class Command(RecordCommand):
    help = (
        "Export contacts, or organizations with --organizations (all, searched, filtered or "
        "chosen by id), to a file or stdout."
    )
    refused = "Nothing was exported"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as",
            dest="as_user",
            default=os.environ.get("RAPPORT_USER", "admin"),
            help="Act as this user (default: $RAPPORT_USER, else admin).",
        )
        parser.add_argument(
            "--organizations",
            action="store_true",
            help=f"Export organizations ({', '.join(ORGANIZATION_FORMATS)}) instead of contacts.",
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
        parser.add_argument("--industry", help="Only organizations in this industry.")
        parser.add_argument(
            "--parent", type=int, help="Only organizations directly under this organization id."
        )
        parser.add_argument("--country", help="Only with an address in this ISO country.")
        parser.add_argument(
            "--id", dest="ids", type=int, action="append", help="Only this record (repeatable)."
        )
        parser.add_argument(
            "--purpose",
            help="An export for a campaign: leave out whoever may not be contacted for this "
            "purpose now (the contact gate: consent, preferences, hours, caps).",
        )
        parser.add_argument(
            "--channel",
            default="email",
            help="The channel the campaign uses, with --purpose (default email).",
        )
        parser.add_argument("--output", "-o", help="Write here instead of standard output.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        organizations = options["organizations"]
        kind, other = (
            ("organizations", "contacts") if organizations else ("contacts", "organizations")
        )
        for name in _CONTACT_ONLY if organizations else _ORGANIZATION_ONLY:
            if options[name] is not None:
                raise CommandError(f"--{name} filters {other}, not {kind}.")
        if organizations and options["purpose"]:
            raise CommandError("--purpose filters contacts, not organizations.")
        if options["format"] == "xlsx" and not options["output"] and sys.stdout.isatty():
            raise CommandError("An XLSX file is binary: give --output FILE or redirect stdout.")
        country = (options["country"] or "").upper() or None
        filters: Any
        if organizations:
            exporter: Any = organizations_export
            filters = selectors.OrganizationFilters(
                tags=options["tag"],
                owner=options["owner"],
                parent=options["parent"],
                industry=options["industry"],
                country=country,
            )
        else:
            exporter = contacts_export
            filters = selectors.ContactFilters(
                tags=options["tag"],
                owner=options["owner"],
                organization=options["organization"],
                lifecycle_stage=options["stage"],
                country=country,
            )
        export = self.call(
            exporter,
            actor=actor,
            file_format=options["format"],
            q=options["query"],
            filters=filters,
            ids=options["ids"],
            **(
                {"purpose": options["purpose"], "channel": options["channel"]}
                if options["purpose"]
                else {}
            ),
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
