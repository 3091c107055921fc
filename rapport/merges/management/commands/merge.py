"""`rapport merge contacts|organizations SURVIVOR ID [ID…] [--field NAME=ID …]`.

Runs the same service as the UI and API, acting as ``--as USER``.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from rapport.access.commands import RecordCommand
from rapport.merges import services
from rapport.merges.api import merge_out


def parse_choices(pairs: list[str]) -> dict[str, int]:
    """``["job_title=12", …]`` as ``{"job_title": 12}``; CommandError for a malformed one."""
    choices: dict[str, int] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip().isdecimal():
            raise CommandError(f"--field {pair}: write it as NAME=ID, e.g. job_title=12.")
        choices[name.strip()] = int(value)
    return choices


class Command(RecordCommand):
    help = "Merge contacts or organizations into the first one given (undo: rapport unmerge)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="kind", required=True)
        for name in ("contacts", "organizations"):
            kind = sub.add_parser(
                name,
                parents=[self.common()],  # type: ignore[list-item]
                help=f"Merge {name} into the first id.",
            )
            kind.add_argument("survivor", type=int, help="The id of the record kept.")
            kind.add_argument("merged", type=int, nargs="+", help="The ids merged into it.")
            kind.add_argument(
                "--field",
                action="append",
                default=[],
                metavar="NAME=ID",
                help="Keep this field's value from record ID (repeatable).",
            )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        service = (
            services.contacts_merge
            if options["kind"] == "contacts"
            else services.organizations_merge
        )
        merge = self.call(
            service,
            actor=actor,
            survivor_id=options["survivor"],
            merged_ids=options["merged"],
            choices=parse_choices(options["field"]),
            via="cli",
        )
        if options["json"]:
            self.stdout.write(json.dumps(merge_out(merge), indent=2, default=str))
            return
        self.stdout.write(str(merge.pk))
        merged = ", ".join(f"#{pk}" for pk in merge.merged_ids)
        self.stderr.write(
            f"Merged {merged} into #{merge.survivor_id} (merge {merge.pk}; "
            f"undo with: rapport unmerge {merge.pk})."
        )
