"""`rapport scores …`: the scores admins defined, one score's rules, top contacts and
spread, and computing them now (acting as ``--as USER``).

    rapport scores list
    rapport scores show lead [--top 10]
    rapport scores refresh [lead]      (compute now, instead of waiting for the worker)
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from rapport.access.commands import RecordCommand
from rapport.segments import selectors, services
from rapport.segments.models import Score


class Command(RecordCommand):
    help = "Scores: list them, show one's rules, top contacts and spread, compute them now."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        common = [self.common()]
        sub.add_parser("list", parents=common, help="Every score.")
        show = sub.add_parser("show", parents=common, help="A score's rules, top and spread.")
        show.add_argument("key")
        show.add_argument("--top", type=int, default=10, help="How many top contacts (10).")
        refresh = sub.add_parser("refresh", parents=common, help="Compute now (all, or one).")
        refresh.add_argument("key", nargs="?")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        action = options["action"]
        if action == "list":
            scores = self.call(selectors.scores_visible, actor=actor)
            rows = [_summary(s) for s in scores.prefetch_related("rules")]
            if options["json"]:
                self.stdout.write(json.dumps(rows))
            for row in [] if options["json"] else rows:
                self.stdout.write(
                    f"{row['key']}\t{row['name']}\t{len(row['rules'])} rules\t"
                    f"{row['computed_at'] or 'not computed yet'}"
                )
        elif action == "show":
            self._show(self._named(actor, options["key"]), options)
        else:
            score = self._named(actor, options["key"]) if options["key"] else None
            results = services.scores_refresh(score=score)
            for done in results:
                if done.problem:
                    self.stderr.write(f"{done.key}: not computed: {done.problem}")
                else:
                    self.stdout.write(
                        f"{done.key}\t{done.scored} contacts with points\t{done.changed} changed"
                    )
            if any(done.problem for done in results):
                raise CommandError("A score could not be computed: its values were kept.")

    def _named(self, actor: Any, key: str) -> Score:
        found = self.call(selectors.score_named, actor=actor, key=key)
        if found is None:
            raise CommandError(f"There is no score “{key}” (rapport scores list).")
        return found

    def _show(self, score: Score, options: dict[str, Any]) -> None:
        top = selectors.score_top(score, limit=max(1, min(options["top"], selectors.MAX_PAGE)))
        spread = selectors.score_distribution(score)
        if options["json"]:
            self.stdout.write(json.dumps({
                **_summary(score),
                "top": [{"contact": t.contact_id, "name": t.name, "value": t.value} for t in top],
                "spread": [{"low": b.low, "high": b.high, "contacts": b.count}
                           for b in spread.bands],
                "zero": spread.zero,
            }))  # fmt: skip
            return
        out = self.stdout.write
        out(f"{score.name} (score.{score.key})")
        if score.description:
            out(score.description)
        out(f"Computed: {score.computed_at:%Y-%m-%d %H:%M}" if score.computed_at else
            "Computed: not yet")  # fmt: skip
        if score.problem:
            out(f"Problem: {score.problem}")
        out("Rules:")
        for rule in score.rules.all():
            out(f"  {rule.position}. {rule.label + ': ' if rule.label else ''}{rule.summary}")
        out("Top:")
        for t in top:
            out(f"  {t.value}\t{t.contact_id}\t{t.name}")
        out("Spread:")
        for band in spread.bands:
            span = f"{band.low}" if band.low == band.high else f"{band.low} to {band.high}"
            out(f"  {span}\t{band.count}")
        out(f"  0 (no points)\t{spread.zero}")


def _summary(score: Score) -> dict[str, Any]:
    return {
        "key": score.key,
        "name": score.name,
        "description": score.description,
        "rules": [
            {
                "position": r.position,
                "kind": r.kind,
                "label": r.label,
                "points": r.points,
                "summary": r.summary,
                **r.parameters,
            }
            for r in score.rules.all()
        ],  # fmt: skip
        "computed_at": score.computed_at.isoformat() if score.computed_at else None,
        "problem": score.problem,
    }
