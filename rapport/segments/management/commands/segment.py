"""`rapport segment …`: count, list, explain and export the contacts a query selects,
and save segments, through the same selectors and services as the pages and the API
(acting as ``--as USER``).

    rapport segment count 'tag:vip AND last_contacted:>90d'
    rapport segment members 'in:"Big customers"' [--limit 50] [--sort=-score.lead]
    rapport segment explain 'tag:vip AND city:Paris' 12
    rapport segment export 'tag:vip' [--format csv|xlsx|vcf|vcf3|json] [-o FILE]
                           [--purpose newsletter [--channel email]]
    rapport segment list
    rapport segment save NAME QUERY [--description TEXT] [--private]
    rapport segment delete NAME
    rapport segment refresh [NAME]      (record who entered and left now)
    rapport segment changes NAME [--days 30]
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from rapport.access.commands import RecordCommand
from rapport.core.text import fold
from rapport.ingest.exporters import FORMATS, contacts_export
from rapport.segments import selectors, services
from rapport.segments.models import Segment
from rapport.segments.query.compile import Explained


class Command(RecordCommand):
    help = "Segments: count, list, explain and export the contacts a query selects."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        common = [self.common()]
        count = sub.add_parser("count", parents=common, help="The exact number of members.")
        count.add_argument("query")
        members = sub.add_parser("members", parents=common, help="The members, by name.")
        members.add_argument("query")
        members.add_argument("--limit", type=int, default=50)
        members.add_argument("--sort", default="", help=f"Sort by {selectors.SORT_HELP}.")
        explain = sub.add_parser("explain", parents=common, help="Why a contact is in, or not.")
        explain.add_argument("query")
        explain.add_argument("contact", type=int)
        export = sub.add_parser("export", parents=common, help="Export the members.")
        export.add_argument("query")
        export.add_argument("--format", choices=list(FORMATS), default="csv")
        export.add_argument("--output", "-o", help="Write here instead of standard output.")
        export.add_argument("--purpose", help="Only those who may be contacted for it now.")
        export.add_argument("--channel", default="email")
        sub.add_parser("list", parents=common, help="The saved segments.")
        save = sub.add_parser("save", parents=common, help="Save (or change) a segment.")
        save.add_argument("name")
        save.add_argument("query")
        save.add_argument("--description", default="")
        save.add_argument("--private", action="store_true", help="Only you see it.")
        delete = sub.add_parser("delete", parents=common, help="Delete a saved segment.")
        delete.add_argument("name")
        refresh = sub.add_parser("refresh", parents=common, help="Record who entered and left.")
        refresh.add_argument("name", nargs="?")
        changes = sub.add_parser("changes", parents=common, help="Who entered and left lately.")
        changes.add_argument("name")
        changes.add_argument("--days", type=int, default=30)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        action = options["action"]
        if action == "count":
            count = self.call(selectors.query_count, actor=actor, text=options["query"])
            self.stdout.write(json.dumps({"count": count}) if options["json"] else f"{count}")
        elif action == "members":
            page = self.call(
                selectors.query_members, actor=actor, text=options["query"],
                limit=options["limit"], sort=options["sort"],
            )  # fmt: skip
            rows = selectors.members_out(page.items)
            if options["json"]:
                self.stdout.write(json.dumps({"items": rows, "next_cursor": page.next_cursor}))
            for row in [] if options["json"] else rows:
                score = "" if row["score"] is None else f"\t{row['score']}"
                self.stdout.write(
                    f"{row['id']}\t{row['name']}\t{row['email'] or '-'}\t{row['stage']}{score}"
                )
        elif action == "explain":
            found = self.call(
                selectors.query_explain, actor=actor, text=options["query"],
                contact_id=options["contact"],
            )  # fmt: skip
            if options["json"]:
                self.stdout.write(json.dumps(found.as_dict()))
            else:
                self._tree(found, 0)
        elif action == "export":
            self._export(actor, options)
        elif action == "list":
            for segment in self.call(selectors.segments_visible, actor=actor):
                shared = "shared" if segment.shared else "private"
                self.stdout.write(f"{segment.pk}\t{segment.name}\t{shared}\t{segment.query}")
        elif action == "save":
            found = Segment.objects.filter(name_key=fold(options["name"])).first()
            data = {
                "name": options["name"], "query": options["query"],
                "description": options["description"], "shared": not options["private"],
            }  # fmt: skip
            if found is None:
                segment = self.call(services.segment_create, actor=actor, data=data, via="cli")
            else:
                segment = self.call(
                    services.segment_update, actor=actor, segment=found, data=data, via="cli"
                )
            self.stderr.write(f"Saved segment {segment.pk} “{segment.name}”: {segment.query}")
        elif action == "refresh":
            ids = (
                [self._named(actor, options["name"]).pk]
                if options["name"]
                else list(Segment.objects.values_list("pk", flat=True))
            )
            for pk in ids:
                done = services.segment_refresh(segment_id=pk)
                if done:
                    self.stdout.write(
                        f"{pk}\t{done.count} members\t{done.entered} entered\t{done.left} left"
                    )
        elif action == "changes":
            segment = self._named(actor, options["name"])
            since = timezone.now() - dt.timedelta(days=max(options["days"], 0))
            for change in selectors.segment_changes(segment, since=since):
                self.stdout.write(
                    f"{change.at:%Y-%m-%d %H:%M}\t{change.what}\t{change.contact_id}\t{change.name}"
                )
        else:
            found = self._named(actor, options["name"])
            self.call(services.segment_delete, actor=actor, segment=found, via="cli")
            self.stderr.write(f"Deleted segment “{found.name}”.")

    def _named(self, actor: Any, name: str) -> Segment:
        found = (
            self.call(selectors.segments_visible, actor=actor).filter(name_key=fold(name)).first()
        )
        if found is None:
            raise CommandError(f"There is no segment “{name}”.")
        return found

    def _tree(self, node: Explained, depth: int) -> None:
        mark = "yes" if node.holds else "no "
        label = node.kind.upper() if node.kind in ("and", "or", "not") else node.text
        self.stdout.write(f"{'  ' * depth}{mark}  {label}")
        for part in node.parts:
            self._tree(part, depth + 1)

    def _export(self, actor: Any, options: dict[str, Any]) -> None:
        if options["format"] == "xlsx" and not options["output"] and sys.stdout.isatty():
            raise CommandError("An XLSX file is binary: give --output FILE or redirect stdout.")
        members = self.call(selectors.query_matching, actor=actor, text=options["query"])
        export = self.call(
            contacts_export,
            actor=actor,
            file_format=options["format"],
            base=members,
            **({"purpose": options["purpose"], "channel": options["channel"]}
               if options["purpose"] else {}),
        )  # fmt: skip
        if options["output"]:
            target = Path(options["output"])
            partial = target.with_name(target.name + ".part")
            with partial.open("wb") as handle:
                for chunk in export.chunks:
                    handle.write(chunk)
            partial.replace(target)
            self.stderr.write(f"Wrote {target}.")
            return
        out = sys.stdout.buffer
        for chunk in export.chunks:
            out.write(chunk)
        out.flush()
