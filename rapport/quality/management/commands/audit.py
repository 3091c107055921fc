"""`rapport audit`: the data audit in the terminal, the same figures as /quality/."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from rapport.access.commands import RecordCommand
from rapport.quality import selectors, services


def bar(percent: float, width: int = 20) -> str:
    filled = round(width * percent / 100)
    return "█" * filled + "·" * (width - filled)


class Command(RecordCommand):
    help = "Print the data quality audit of all contacts, one source or one import batch."

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_actor_argument(parser)
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        parser.add_argument("--source", help="Only contacts with this source.")
        parser.add_argument("--batch", help="Only contacts an import batch created or updated.")
        parser.add_argument(
            "--snapshot",
            action="store_true",
            help="Also store today's figures (all contacts and each source) for the trend.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        scope = self.call(selectors.scope_from, source=options["source"], batch=options["batch"])
        report = self.call(selectors.audit_report, actor=actor, scope=scope)
        if options["snapshot"]:
            written = self.call(services.audit_snapshot_write, actor=actor)
            if not options["json"]:
                self.stderr.write(f"Stored today's snapshot for {len(written)} scopes.")
        if options["json"]:
            self.stdout.write(json.dumps(report.metrics(), indent=2, ensure_ascii=False))
            return
        self.print_report(report)

    def print_report(self, report: selectors.Report) -> None:
        w = self.stdout.write
        w(f"Data quality: {report.scope.label}")
        w(f"  Contacts        {report.total:>10,}")
        w(f"  Average score   {report.average_score:>10}")
        w(f"  Stale           {report.stale:>10,}  (untouched for {report.stale_months} months)")
        w("")
        w("Completeness")
        for row in report.completeness:
            w(
                f"  {row['label']:<20}{row['count']:>10,}  {bar(row['percent'])} {row['percent']:>5} %"
            )
        w("")
        w("Validity")
        for row in report.validity:
            w(
                f"  {row['label']:<20}{row['valid']:>10,} of {row['checked']:,} valid  {row['percent']} %"
            )
        w("")
        w("Score distribution")
        biggest = max([b["count"] for b in report.distribution] + [1])
        for row in report.distribution:
            share = 100 * row["count"] / biggest
            w(f"  {row['bucket']:<8}{row['count']:>10,}  {bar(share)}")
        w("")
        w("Top problems")
        for row in report.problems:
            if row["count"]:
                w(
                    f"  {row['label']:<24}{row['count']:>10,}  {row['percent']:>5} %  "
                    f"(−{row['points']})  /quality/problems/{row['code']}/"
                )
