"""`rapport dedupe`: search the contacts for duplicates and propose clusters for review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from rapport.access.commands import RecordCommand
from rapport.core.progress import progress_bar
from rapport.duplicates import selectors, services
from rapport.duplicates.models import DuplicateScan


class Command(RecordCommand):
    help = (
        "Search all contacts (or a segment, or one import batch) for likely duplicates, "
        "learn the match model from the data, and queue the clusters found for review."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_actor_argument(parser)
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--batch", type=int, help="Only contacts this import batch touched.")
        scope.add_argument("--query", help="Only contacts this search finds (as the list).")
        parser.add_argument("--tag", action="append", default=[], help="Only contacts with a tag.")
        parser.add_argument(
            "--pairs-out",
            type=Path,
            help="Also write every scored pair at or above the review threshold to this CSV.",
        )
        parser.add_argument(
            "--rebuild-keys",
            action="store_true",
            help="Recompute every contact's blocking keys first.",
        )
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--explain-model",
            action="store_true",
            help="Show the match model in use (where its m and u come from, and each "
            "level's weight) and exit without scanning.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        if options["explain_model"]:
            self._explain(self.call(selectors.match_model_explain, actor=actor))
            return
        quiet = options["quiet"]
        if options["rebuild_keys"]:
            services.match_keys_rebuild(progress=not quiet)
        if options["batch"] is not None:
            scope, detail = "batch", {"batch": options["batch"]}
        elif options["query"] or options["tag"]:
            scope = "segment"
            detail = {"q": options["query"] or "", "filters": {"tags": options["tag"]}}
        else:
            scope, detail = "all", {}
        out = None
        if options["pairs_out"]:
            try:
                out = Path(options["pairs_out"]).open("w", newline="", encoding="utf-8")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise CommandError(
                    f"Cannot write {options['pairs_out']}: {exc.strerror}."
                ) from None
        bars: dict[str, Any] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if quiet:
                return
            bar = bars.get(phase)
            if bar is None:
                for other in bars.values():
                    other.close()
                bar = bars[phase] = progress_bar(
                    total=total, desc=phase.capitalize(), unit=" ", file=self.stderr._out
                )
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            scan = self.call(
                services.duplicates_scan_create, actor=actor, scope=scope, detail=detail
            )
            done = self.call(
                services.duplicates_scan_run, scan_id=scan.pk, progress=progress, pairs_out=out
            )
        finally:
            for bar in bars.values():
                bar.close()
            if out is not None:
                out.close()
        self.report(done)

    def report(self, scan: DuplicateScan) -> None:
        w = self.stdout.write
        w(f"Scanned {scan.contacts:,} contacts: {scan.pairs_compared:,} pairs compared,")
        w(f"{scan.pairs_found:,} likely duplicate pairs in {scan.clusters_found:,} clusters.")
        if scan.clusters_found:
            w("Review them at /duplicates/ or with GET /api/v1/duplicates/clusters.")

    def _explain(self, model: dict[str, Any]) -> None:
        write = self.stdout.write
        write(model["source"])
        learned_at = model["learned_at"]
        if learned_at is not None:
            write(f"Learned at {learned_at:%Y-%m-%d %H:%M}.")
        write(
            f"Prior: {model['prior']:.3g} that two contacts picked at random are one person "
            f"({model['prior_bits']:+.1f} bits) among {model['population']:,} contacts. "
            f"Review at p ≥ {model['review_threshold']}, auto-merge at p ≥ "
            f"{model['auto_merge_threshold']}."
        )
        write("")
        write(f"{'field':<14} {'level':<30} {'m':>9} {'u':>11} {'weight (bits)':>14}")
        for comparison in model["comparisons"]:
            for row in comparison["levels"]:
                write(
                    f"{comparison['label']:<14} {row['level']:<30} {row['m']:>9.4f}"
                    f" {row['u']:>11.3g} {row['weight']:>+14.2f}"
                )
