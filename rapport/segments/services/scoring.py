"""Computing scores: every contact's value of each score, as of a moment.

A contact's value is the sum of its rules' points (``services.scores`` says what each
kind of rule gives) rounded to a whole number, halves away from zero. ``scores_refresh``
computes the values a range of contact ids at a time (``SCORE_CHUNK``): one grouped query
per rule over the range — the contacts a match rule's query selects; per contact, the
sum of its interactions' decayed weights, computed by the database; the last contact or
order — the totals added up, and only the values that changed written (``bulk_create``
with ``update_conflicts``), so an hourly run over a quiet database writes little. A
contact whose value is 0 has no row: no row reads as 0 wherever values are used
(queries, sorting, the contact's page).

The worker computes a score within a minute of a change to its rules (``stale``) and
every hour (decay changes values with the clock alone): the duty ``scores.refresh``
queues a task per score due, and each task claims its run with one conditional UPDATE.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import (
    DateTimeField,
    Exists,
    F,
    FloatField,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Power
from django.utils import timezone

from rapport.activity.models import Participant
from rapport.contacts.models import Contact
from rapport.segments.models import ContactScore, Order, Score, ScoreRule
from rapport.segments.query import QueryError
from rapport.segments.query.compile import compile_tree
from rapport.segments.query.parse import parse
from rapport.segments.selectors import context_for
from rapport.segments.services.scores import DEFAULT_WINDOW
from rapport.segments.services.segments import segments_mark_stale

logger = logging.getLogger(__name__)
MAX_VALUE = 1_000_000_000  # what one contact's total is held to
# Contact ids per range computed and written together: bounds memory and each write.
SCORE_CHUNK = 50_000
WRITE_BATCH = 2_000
# Every score is computed again at least this often (decay changes values with the clock).
REFRESH_EVERY = dt.timedelta(hours=1)


class _DaysBefore(Func):
    """The days (a fraction) from a moment column until ``now``, computed by the
    database: on PostgreSQL from the epoch seconds of the interval, on SQLite from Julian
    day numbers (Django stores moments there as UTC text, which ``julianday`` reads)."""

    output_field = FloatField()
    template = "(EXTRACT(EPOCH FROM (%(expressions)s))::double precision / 86400.0)"
    arg_joiner = " - "

    def __init__(self, now: dt.datetime, column: str) -> None:
        super().__init__(Value(now, output_field=DateTimeField()), F(column))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="(julianday(%(expressions)s))",
            arg_joiner=") - julianday(", **extra,
        )  # fmt: skip


def _halved(points: float, days: float, half_life: float | None) -> float:
    return points * 0.5 ** (max(days, 0.0) / half_life) if half_life else points


def _days(now: dt.datetime, moment: dt.datetime) -> float:
    return (now - moment).total_seconds() / 86_400


# What one rule gives the contacts with ids in [lo, hi): (contact id, points) pairs.
Plan = Callable[[int, int], Iterator[tuple[int, float]]]


def _match_plan(rule: ScoreRule, q: Q) -> Plan:
    def points(lo: int, hi: int) -> Iterator[tuple[int, float]]:
        ids = Contact.objects.filter(q, pk__gte=lo, pk__lt=hi).values_list("pk", flat=True)
        for contact_id in ids.iterator(chunk_size=WRITE_BATCH):
            yield contact_id, float(rule.points)

    return points


def _activity_plan(rule: ScoreRule, now: dt.datetime) -> Plan:
    p = rule.parameters
    half_life = p.get("half_life_days")
    cap = p.get("cap")

    def points(lo: int, hi: int) -> Iterator[tuple[int, float]]:
        rows = Participant.objects.filter(
            contact_id__gte=lo, contact_id__lt=hi, interaction__cancelled=False,
            occurred_at__gte=now - dt.timedelta(days=p.get("window_days") or DEFAULT_WINDOW),
            occurred_at__lte=now,
        )  # fmt: skip
        if p.get("interaction"):
            rows = rows.filter(interaction__kind=p["interaction"])
        if p.get("direction"):
            rows = rows.filter(interaction__direction=p["direction"])
        # an interaction counts once, whatever the contact's roles in it (From and Cc)
        earlier = Participant.objects.filter(
            contact_id=OuterRef("contact_id"), occurred_at=OuterRef("occurred_at"),
            interaction_id=OuterRef("interaction_id"), pk__lt=OuterRef("pk"),
        )  # fmt: skip
        weight = (
            Power(Value(0.5), _DaysBefore(now, "occurred_at") / Value(float(half_life)))
            if half_life
            else Value(1.0)
        )
        totals = (
            rows.filter(~Exists(earlier))
            .order_by()
            .values("contact_id")
            .annotate(total=Sum(weight, output_field=FloatField()))
            .values_list("contact_id", "total")
        )
        for contact_id, total in totals.iterator(chunk_size=WRITE_BATCH):
            amount = rule.points * float(total or 0)
            if cap:
                amount = max(min(amount, cap), -cap)
            yield contact_id, amount

    return points


def _recency_plan(rule: ScoreRule, now: dt.datetime) -> Plan:
    p = rule.parameters
    within = p.get("within_days")
    since = now - dt.timedelta(days=within) if within else None

    def points(lo: int, hi: int) -> Iterator[tuple[int, float]]:
        rows: Any
        if p.get("of") == "ordered":
            rows = (
                Order.objects.filter(contact_id__gte=lo, contact_id__lt=hi,
                                     status__in=Order.COUNTED, ordered_at__lte=now)
                .order_by()
                .values("contact_id")
                .annotate(last=Max("ordered_at"))
                .values_list("contact_id", "last")
            )  # fmt: skip
        else:
            rows = Contact.objects.filter(
                pk__gte=lo, pk__lt=hi, last_contacted_at__isnull=False
            ).values_list("pk", "last_contacted_at")
        if since is not None:
            rows = rows.filter(**{"last__gte" if p.get("of") == "ordered" else
                                  "last_contacted_at__gte": since})  # fmt: skip
        for contact_id, last in rows.iterator(chunk_size=WRITE_BATCH):
            yield contact_id, _halved(rule.points, _days(now, last), p.get("half_life_days"))

    return points


def _plans(score: Score, now: dt.datetime) -> list[Plan]:
    """How to compute each rule; QueryError (naming the rule) when a match rule's query
    cannot run any more (a tag it names was deleted)."""
    context = replace(context_for(score.created_by), now=now, scores_allowed=False)
    plans = []
    for rule in score.rules.all():
        if rule.kind == ScoreRule.Kind.MATCH:
            try:
                q = compile_tree(parse(rule.parameters.get("query", "")), context)
            except QueryError as exc:
                raise QueryError(f"Rule {rule.position} cannot run: {exc}") from None
            plans.append(_match_plan(rule, q))
        elif rule.kind == ScoreRule.Kind.ACTIVITY:
            plans.append(_activity_plan(rule, now))
        else:
            plans.append(_recency_plan(rule, now))
    return plans


def whole(total: float) -> int:
    """A total rounded to a whole number, halves away from zero (2.5 → 3, -2.5 → -3);
    the last digits of floating-point sums do not tip it (4.4999999999 is 4.5)."""
    rounded = Decimal(repr(round(total, 6))).to_integral_value(rounding=ROUND_HALF_UP)
    return max(min(int(rounded), MAX_VALUE), -MAX_VALUE)


def _write(score: Score, values: dict[int, int], lo: int, hi: int, now: dt.datetime) -> int:
    """Make the stored values of contacts in [lo, hi) these: the changed ones written,
    those now 0 removed. Returns how many rows changed."""
    with transaction.atomic():
        current = dict(
            ContactScore.objects.filter(
                score=score, contact_id__gte=lo, contact_id__lt=hi
            ).values_list("contact_id", "value")
        )
        changed = {c: v for c, v in values.items() if current.get(c) != v}
        if changed:
            # a contact deleted since its points were read has nothing to hold them
            alive = set(Contact.objects.filter(pk__gte=lo, pk__lt=hi).values_list("pk", flat=True))
            ContactScore.objects.bulk_create(
                [
                    ContactScore(contact_id=c, score=score, value=v, computed_at=now)
                    for c, v in changed.items()
                    if c in alive
                ],
                batch_size=WRITE_BATCH,
                update_conflicts=True,
                unique_fields=["contact", "score"],
                update_fields=["value", "computed_at"],
            )
        gone = [c for c in current if c not in values]
        for start in range(0, len(gone), WRITE_BATCH):
            ContactScore.objects.filter(
                score=score, contact_id__in=gone[start : start + WRITE_BATCH]
            ).delete()
    return len(changed) + len(gone)


@dataclass(frozen=True)
class ScoreRefreshed:
    key: str
    scored: int  # contacts with a value other than 0
    changed: int  # values written or removed
    problem: str = ""


def _refresh(score: Score, now: dt.datetime) -> ScoreRefreshed:
    # rules saved from here on mark it again, for the next round
    Score.objects.filter(pk=score.pk).update(stale=False)
    try:
        plans = _plans(score, now)
    except QueryError as exc:
        problem = str(exc)
        # tried: again in an hour, or when the rules change (values are from before)
        Score.objects.filter(pk=score.pk).update(problem=problem, computed_at=now)
        logger.warning("Score %s (%s) was not computed: %s", score.pk, score.key, problem)
        return ScoreRefreshed(score.key, ContactScore.objects.filter(score=score).count(), 0,
                              problem)  # fmt: skip
    bounds = Contact.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    scored = changed = 0
    if bounds["lo"] is None:
        changed = ContactScore.objects.filter(score=score).delete()[0]
    else:
        for lo in range(bounds["lo"], bounds["hi"] + 1, SCORE_CHUNK):
            hi = lo + SCORE_CHUNK
            totals: dict[int, float] = defaultdict(float)
            for plan in plans:
                for contact_id, points in plan(lo, hi):
                    totals[contact_id] += points
            values = {c: v for c, t in totals.items() if (v := whole(t)) != 0}
            changed += _write(score, values, lo, hi, now)
            scored += len(values)
    Score.objects.filter(pk=score.pk).update(computed_at=now, problem="")
    if changed:
        # segments asking for score.KEY record who entered and left at the next round
        segments_mark_stale()
        logger.info("Score %s (%s): %s contacts scored, %s values changed",
                    score.pk, score.key, scored, changed)  # fmt: skip
    return ScoreRefreshed(score.key, scored, changed)


def scores_refresh(
    *, score: Score | None = None, now: dt.datetime | None = None
) -> list[ScoreRefreshed]:
    """Compute every contact's value of ``score`` (or of every score) as of ``now``,
    writing only the values that changed (see the module's docstring). A score whose
    rules cannot run now keeps its values and says why (``Score.problem``)."""
    now = now or timezone.now()
    scores = [score] if score is not None else list(Score.objects.select_related("created_by"))
    return [_refresh(s, now) for s in scores]


def _due(now: dt.datetime) -> Q:
    return Q(stale=True) | Q(computed_at__isnull=True) | Q(computed_at__lt=now - REFRESH_EVERY)


def scores_due() -> list[int]:
    """The scores to compute again: rules changed (stale), never computed, or not for
    REFRESH_EVERY."""
    return list(Score.objects.filter(_due(timezone.now())).values_list("pk", flat=True))


def score_refresh_due(*, score_id: int) -> ScoreRefreshed | None:
    """The background task's run: compute the score if it is still due. The run is
    claimed with one conditional UPDATE, so a second task queued for the same score
    (two duties' rounds before a worker got to it) finds it done and does nothing."""
    now = timezone.now()
    claimed = Score.objects.filter(_due(now), pk=score_id).update(stale=False, computed_at=now)
    score = Score.objects.select_related("created_by").filter(pk=score_id).first()
    if not claimed or score is None:
        return None
    try:
        return scores_refresh(score=score, now=now)[0]
    except Exception:
        Score.objects.filter(pk=score_id).update(stale=True)  # tried again at the next round
        raise
