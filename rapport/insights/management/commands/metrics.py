"""`rapport metrics …`: take the daily snapshot, list the metrics, print a series,
the KPIs, or the monthly summary (acting as ``--as USER``).

    rapport metrics snapshot [--date 2026-12-01] [--since 2026-01-01] [--metric NAME …]
    rapport metrics list
    rapport metrics show new_contacts [--days 90] [--grain week] [--key source:Referral] [--csv]
    rapport metrics kpis
    rapport metrics summary [--month 2026-11] [--send]
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from rapport.access.commands import RecordCommand
from rapport.core import policy
from rapport.insights import metrics as registry
from rapport.insights import services


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value}: not a day (YYYY-MM-DD).") from None


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


class Command(RecordCommand):
    help = "Metrics: take the snapshot, list metrics, show a series, the KPIs, the monthly summary."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        common = [self.common()]
        snap = sub.add_parser("snapshot", parents=common, help="Compute the day's figures now.")
        snap.add_argument("--date", help="The day (default: today).")
        snap.add_argument("--since", help="Also every day from this one (metrics with history).")
        snap.add_argument(
            "--metric", action="append", default=[], help="Only this metric (repeatable)."
        )
        sub.add_parser("list", parents=common, help="The metrics and their latest figures.")
        show = sub.add_parser("show", parents=common, help="A metric's series.")
        show.add_argument("metric")
        show.add_argument("--days", type=int, default=90)
        show.add_argument("--grain", choices=["day", "week", "month"])
        show.add_argument("--key", action="append", default=[], help="Only this breakdown key.")
        show.add_argument("--csv", action="store_true", help="Print CSV.")
        sub.add_parser("kpis", parents=common, help="The KPI goals and where each stands.")
        summary = sub.add_parser("summary", parents=common, help="The monthly summary.")
        summary.add_argument("--month", help="YYYY-MM (default: last month).")
        summary.add_argument(
            "--send", action="store_true", help="Email it to the subscribers now (once a month)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        action = options["action"]
        if action == "snapshot":
            self.call(policy.require, actor=actor, action="metrics.snapshot")
            day = _day(options["date"]) if options["date"] else None
            since = _day(options["since"]) if options["since"] else None
            result = self.call(
                services.snapshot, day=day, since=since, only=options["metric"] or None, full=True
            )
            if options["json"]:
                out = {"date": result.day.isoformat(), "points": result.points, "seconds": result.seconds,
                       "failed": result.failed}  # fmt: skip
                self.stdout.write(json.dumps(out, indent=2))
            else:
                total = sum(result.seconds.values())
                self.stdout.write(
                    f"Snapshot of {result.day}: {sum(result.points.values()):,} figures of "
                    f"{len(result.points)} metrics in {total:.1f} s."
                )
                for name, error in result.failed.items():
                    self.stderr.write(f"  {name} failed: {error}")
            if result.failed:
                raise CommandError(f"{len(result.failed)} metric(s) could not be computed.")
            return
        self.call(policy.require, actor=actor, action="insights.view")
        if action == "list":
            today = registry.today()
            rows = []
            for m in registry.metrics().values():
                value = services.value_over(m.name, "", today, 30 if m.kind != "level" else 1)
                rows.append(
                    {
                        "name": m.name,
                        "label": m.label,
                        "kind": m.kind,
                        "unit": m.unit,
                        "latest": value,
                    }
                )
            if options["json"]:
                self.stdout.write(json.dumps(rows, indent=2))
                return
            for r in rows:
                window = " (30 days)" if r["kind"] != "level" else ""
                self.stdout.write(
                    f"{r['name']:<26} {r['label']:<36} {_fmt(r['latest']):>12}{window}"
                )
            return
        if action == "show":
            if not 1 <= options["days"] <= 3 * 366:
                raise CommandError("--days: from 1 to 1098.")
            last = registry.today()
            first = last - dt.timedelta(days=options["days"] - 1)
            data = self.call(
                services.series, name=options["metric"], first=first, last=last,
                grain=options["grain"], keys=options["key"] or None,
            )  # fmt: skip
            keys = list(data.lines)
            if options["json"]:
                out = {
                    k: [
                        {"start": s.isoformat(), "value": v}
                        for (s, _e), v in zip(data.buckets, data.lines[k], strict=True)
                    ]
                    for k in keys
                }
                self.stdout.write(json.dumps(out, indent=2))
                return
            if options["csv"]:
                writer = csv.writer(self.stdout, lineterminator="\n")
                writer.writerow(["from", "to", *[data.label(k) for k in keys]])
                for i, (s, e) in enumerate(data.buckets):
                    writer.writerow(
                        [
                            s,
                            e,
                            *["" if data.lines[k][i] is None else data.lines[k][i] for k in keys],
                        ]
                    )
                return
            self.stdout.write(f"{data.metric.label} by {data.grain}, {first} to {last}")
            header = "".join(f"{data.label(k)[:14]:>16}" for k in keys)
            self.stdout.write(f"{'from':<12}{header}")
            for i, (s, _e) in enumerate(data.buckets):
                self.stdout.write(
                    f"{s.isoformat():<12}" + "".join(f"{_fmt(data.lines[k][i]):>16}" for k in keys)
                )
            return
        if action == "kpis":
            statuses = services.kpi_statuses()
            if options["json"]:
                self.stdout.write(
                    json.dumps([s.as_dict() for s in statuses], indent=2, default=str)
                )
                return
            if not statuses:
                self.stdout.write("No KPIs yet.")
            for s in statuses:
                self.stdout.write(
                    f"{s.kpi.name}: {_fmt(s.actual)} (baseline {_fmt(s.kpi.baseline_value)}, target "
                    f"{_fmt(s.kpi.target_value)}) — {s.state_label}"
                    + (f", {s.progress} % of the way" if s.progress is not None else "")
                )
            return
        if action == "summary":
            if options["send"]:
                self.call(policy.require, actor=actor, action="kpis.manage")
                sent = services.send_monthly_summary()
                self.stdout.write(f"Sent the monthly summary to {sent} subscriber(s)." if sent else
                                  "Nothing sent: no subscriber with an email address, or this month's summary went out already.")  # fmt: skip
                return
            if options["month"]:
                try:
                    month = dt.datetime.strptime(options["month"], "%Y-%m").date()
                except ValueError:
                    raise CommandError(f"--month {options['month']}: give YYYY-MM.") from None
            else:
                month = (registry.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
            subject, body = services.summary_text(month)
            self.stdout.write(f"Subject: {subject}\n\n{body}")
