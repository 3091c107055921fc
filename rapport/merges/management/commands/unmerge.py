"""`rapport unmerge MERGE_ID`: split a merge, giving back the merged records and their ids."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from rapport.access.commands import RecordCommand
from rapport.merges import services
from rapport.merges.api import merge_out


class Command(RecordCommand):
    help = "Undo a merge (see rapport merges for their ids)."

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_actor_argument(parser)
        parser.add_argument("merge_id", type=int)
        parser.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        merge = self.call(services.merge_undo, actor=actor, merge_id=options["merge_id"], via="cli")
        if options["json"]:
            self.stdout.write(json.dumps(merge_out(merge), indent=2, default=str))
            return
        merged = ", ".join(f"#{pk}" for pk in merge.merged_ids)
        self.stderr.write(f"Undid merge {merge.pk}: {merged} split from #{merge.survivor_id}.")
        for note in merge.undo_notes:
            self.stderr.write(f"  {note}")
