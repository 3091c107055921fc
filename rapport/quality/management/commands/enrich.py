"""`rapport enrich`: find enrichment suggestions, list them, accept them all."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from rapport.access.commands import RecordCommand
from rapport.quality import enrichment, selectors, services


class Command(RecordCommand):
    help = (
        "Look for enrichment suggestions (organization from email domain, country and time "
        "zone from phones and addresses, name capitalisation) for all contacts, a source or "
        "an import batch. Nothing changes unless --apply-all is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_actor_argument(parser)
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        parser.add_argument("--source", help="Only contacts with this source.")
        parser.add_argument("--batch", help="Only contacts an import batch created or updated.")
        parser.add_argument(
            "--provider",
            action="append",
            choices=[cls.name for cls in enrichment.PROVIDERS],
            help="Only this provider (repeatable).",
        )
        parser.add_argument(
            "--apply-all",
            action="store_true",
            help="Accept every pending suggestion (of --provider, if given) after looking.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        scope = self.call(selectors.scope_from, source=options["source"], batch=options["batch"])
        counts = self.call(
            services.enrichment_generate, actor=actor, scope=scope, providers=options["provider"]
        )
        result: dict[str, Any] = {"new": counts}
        if options["apply_all"]:
            ids: list[int] = []
            for provider in options["provider"] or [None]:
                ids += self.call(
                    selectors.suggestion_ids,
                    actor=actor,
                    filters=selectors.SuggestionFilters(provider=provider),
                )
            result["applied"] = self.call(
                services.suggestion_accept_many, actor=actor, suggestion_ids=ids, via="cli"
            )
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        for name, count in counts.items():
            self.stdout.write(f"{name:<14}{count:>8,} new suggestions")
        pending = self.call(selectors.suggestion_counts, actor=actor)
        self.stdout.write(
            "Pending: "
            + (", ".join(f"{n:,} {field}" for field, n in sorted(pending.items())) or "none")
        )
        if "applied" in result:
            applied = result["applied"]
            self.stdout.write(f"Applied {applied['accepted']:,}.")
            for failure in applied["failed"]:
                self.stdout.write(f"  not applied: suggestion {failure['id']}: {failure['reason']}")
        elif any(counts.values()):
            self.stdout.write("Review them at /quality/suggestions/ or run with --apply-all.")
