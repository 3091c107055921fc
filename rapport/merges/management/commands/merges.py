"""`rapport merges`: the merges made, newest first, with what undoing each needs."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from rapport.access.commands import RecordCommand
from rapport.merges import selectors
from rapport.merges.api import merge_out


class Command(RecordCommand):
    help = "List merges of contacts and organizations, newest first."

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_actor_argument(parser)
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        parser.add_argument("--kind", choices=["contact", "organization"])
        parser.add_argument("--limit", type=int, default=25)
        parser.add_argument("--cursor", help="Continue after a previous page.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        page = self.call(
            selectors.merge_list,
            actor=actor,
            cursor=options["cursor"],
            kind=options["kind"],
            limit=options["limit"],
        )
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {"items": [merge_out(m) for m in page.items], "next_cursor": page.next_cursor},
                    indent=2,
                    default=str,
                )
            )
            return
        for merge in page.items:
            names = merge.names
            merged = ", ".join(f"{names.get(str(pk), '')} (#{pk})" for pk in merge.merged_ids)
            state = f"undone {merge.undone_at:%Y-%m-%d %H:%M}" if merge.undone_at else "in effect"
            who = merge.actor.username if merge.actor else "system"
            self.stdout.write(
                f"{merge.pk}\t{merge.at:%Y-%m-%d %H:%M}\t{merge.kind}\t"
                f"{merged} → {names.get(str(merge.survivor_id), '')} (#{merge.survivor_id})\t"
                f"{who}\t{state}"
            )
        if page.next_cursor:
            self.stderr.write(f"More: --cursor {page.next_cursor}")
