"""The metrics the dashboards, KPIs, API and CLI share: what each one counts, how it is
computed for a run of days, and where its contacts are (the drill-down).

A metric is a *level* (a state at the end of a day: contacts, overdue tasks, the share
reachable), a *flow* (what happened during a day: new contacts, interactions, revenue)
or a *ratio* of two flows (average order value = revenue / orders). Levels are read as
the bucket's last day, flows are summed over the bucket. ``history`` metrics can be
computed for past days from the records' own dates (so the first snapshot fills the
last year); the others are what the snapshot saw when it ran.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

Point = tuple[dt.date, str, float]


@dataclass(frozen=True)
class Drill:
    """Where the records behind a figure are: contacts selected by a segment query, or a
    page of the app (organizations, the review queue…)."""

    query: str = ""
    url: str = ""
    organizations: Callable[[], QuerySet] | None = None


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    report: str
    kind: str  # level | flow | ratio
    unit: str  # count | percent | money | score
    help: str
    compute: Callable[[list[dt.date]], Iterable[Point]] | None = None
    history: bool = False
    drill: Callable[[str, dt.date, dt.date], Drill | None] | None = None
    parts: tuple[str, str] = ("", "")  # a ratio's numerator and denominator metrics
    key_names: Callable[[list[str]], dict[str, str]] | None = None
    keys_label: str = ""  # what the breakdown keys are ("source", "kind"…)
    tags: tuple[str, ...] = field(default_factory=tuple)


REGISTRY: dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    REGISTRY[metric.name] = metric
    return metric


def metrics() -> dict[str, Metric]:
    from rapport.insights.metrics import catalogue, customers  # noqa: F401  (registers them)

    return REGISTRY


def get(name: str) -> Metric | None:
    return metrics().get(name)


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def today() -> dt.date:
    return timezone.now().astimezone(zone()).date()


def day_start(day: dt.date) -> dt.datetime:
    """The first moment of ``day`` in the workspace's time zone."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone())


def day_end(day: dt.date) -> dt.datetime:
    """The first moment after ``day`` (exclusive end)."""
    return day_start(day + dt.timedelta(days=1))


def per_day(rows: QuerySet, column: str, days: list[dt.date], *, by: str = "") -> dict:
    """How many of ``rows`` fall on each of ``days`` (by ``column``, in the workspace's
    time zone), optionally per value of ``by``: {(day, value): n}."""
    first, last = min(days), max(days)
    rows = rows.filter(**{f"{column}__gte": day_start(first), f"{column}__lt": day_end(last)})
    names = ["day", by] if by else ["day"]
    grouped = rows.annotate(day=TruncDate(column, tzinfo=zone())).values(*names)
    counted = grouped.annotate(n=Count("pk")).order_by()
    out: dict = {}
    for row in counted:
        out[(row["day"], row[by] if by else "")] = row["n"]
    return out


def cumulative(base: int, daily: dict, days: list[dt.date]) -> list[Point]:
    """A level from its starting value and each day's additions."""
    total = base
    points: list[Point] = []
    for day in sorted(days):
        total += daily.get((day, ""), 0)
        points.append((day, "", float(total)))
    return points


def running_total(rows: QuerySet, column: str, days: list[dt.date]) -> list[Point]:
    """A level that only grows by rows dated by ``column``: those before the first day,
    then each day's."""
    base = rows.filter(**{f"{column}__lt": day_start(min(days))}).count()
    return cumulative(base, per_day(rows, column, days), days)


def share(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0
