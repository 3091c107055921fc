"""Taking the daily snapshot and reading it back as series.

``snapshot`` computes every metric for today, and for yesterday too where the metric
can be computed for a past day (so a day's figures are final after its end); a metric
seen for the first time is filled in for the past year. Each metric's points for those
days are replaced in one transaction; a metric that fails is reported and the others
are still written. ``series`` reads the points back in day, week or month buckets — a
level is its bucket's last value, a flow its bucket's sum, a ratio the ratio of its two
flows' sums — without touching the records themselves.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from rapport.core.errors import InvalidInput
from rapport.insights import metrics as registry
from rapport.insights.metrics.customers import REPORTS
from rapport.insights.models import MetricPoint, ReportSnapshot

logger = logging.getLogger(__name__)
FIRST_FILL_DAYS = 365
MAX_BACKFILL_DAYS = 3 * 366
GRAINS = ("day", "week", "month")


@dataclass
class SnapshotResult:
    day: dt.date
    points: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _write(name: str, days: list[dt.date], points: Iterable[registry.Point]) -> int:
    rows = [
        MetricPoint(metric=name, key=key, date=day, value=value)
        for day, key, value in points
        if day in days
    ]
    with transaction.atomic():
        MetricPoint.objects.filter(metric=name, date__in=days).delete()
        MetricPoint.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def snapshot(
    *, day: dt.date | None = None, since: dt.date | None = None, only: list[str] | None = None,
    full: bool = False,
) -> SnapshotResult:  # fmt: skip
    """Compute the figures of ``day`` (today by default); with ``since``, also every
    day from then for the metrics that can be computed for past days. The day's report
    tables (cohorts, value distribution) are made by its first snapshot, or again with
    ``full``."""
    day = day or registry.today()
    if day > registry.today():
        raise InvalidInput.single("date", "A snapshot cannot be taken for a day to come.")
    if since is not None and not (day - dt.timedelta(days=MAX_BACKFILL_DAYS) <= since <= day):
        raise InvalidInput.single(
            "since", f"Give a day from {MAX_BACKFILL_DAYS} days before the snapshot's day to it."
        )
    found = registry.metrics()
    unknown = [name for name in only or [] if name not in found]
    if unknown:
        raise InvalidInput.single("metric", f"There is no metric {', '.join(unknown)}.")
    result = SnapshotResult(day)
    for metric in found.values():
        if metric.compute is None or (only and metric.name not in only):
            continue
        if not metric.history and day != registry.today():
            continue  # a state seen now is no figure of a day gone by
        days = [day]
        if metric.history:
            first = since or day - dt.timedelta(days=1)
            if since is None and not MetricPoint.objects.filter(metric=metric.name).exists():
                first = day - dt.timedelta(days=FIRST_FILL_DAYS)
            days = _days(first, day)
        started = time.perf_counter()
        try:
            result.points[metric.name] = _write(metric.name, days, metric.compute(days))
        except Exception as exc:  # one metric's failure does not stop the others
            logger.exception("The metric %s could not be computed", metric.name)
            result.failed[metric.name] = f"{type(exc).__name__}: {exc}"[:300]
        result.seconds[metric.name] = round(time.perf_counter() - started, 3)
    if not only:
        for name, build in REPORTS.items():
            if not full and ReportSnapshot.objects.filter(name=name, date=day).exists():
                continue  # a day's tables are made once: its first snapshot (or a full one)
            started = time.perf_counter()
            try:
                ReportSnapshot.objects.update_or_create(
                    name=name, date=day, defaults={"data": build(day)}
                )
            except Exception as exc:
                logger.exception("The report %s could not be computed", name)
                result.failed[name] = f"{type(exc).__name__}: {exc}"[:300]
            result.seconds[name] = round(time.perf_counter() - started, 3)
    return result


# reading ---------------------------------------------------------------------------


def bucket_start(day: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def _next(start: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return start + dt.timedelta(days=7)
    if grain == "month":
        return (start + dt.timedelta(days=32)).replace(day=1)
    return start + dt.timedelta(days=1)


def grain_for(days: int) -> str:
    return "day" if days <= 45 else "week" if days <= 200 else "month"


@dataclass
class Series:
    metric: registry.Metric
    grain: str
    buckets: list[tuple[dt.date, dt.date]]  # first and last day of each bucket
    lines: dict[str, list[float | None]]  # key -> one value per bucket
    names: dict[str, str]

    def label(self, key: str) -> str:
        if not key:
            return self.metric.label
        return self.names.get(key) or key.split(":", 1)[-1]

    def rows(self) -> list[dict[str, Any]]:
        """One row per bucket: its days and each line's value (for tables and CSV)."""
        return [
            {"start": start, "end": end, "values": [self.lines[k][i] for k in self.lines]}
            for i, (start, end) in enumerate(self.buckets)
        ]


def _raw(
    name: str, first: dt.date, last: dt.date, keys: list[str] | None
) -> dict[str, dict[dt.date, float]]:
    rows = MetricPoint.objects.filter(metric=name, date__gte=first, date__lte=last)
    if keys is not None:
        rows = rows.filter(key__in=keys)
    out: dict[str, dict[dt.date, float]] = {}
    for key, day, value in rows.values_list("key", "date", "value").order_by("key", "date"):
        out.setdefault(key, {})[day] = value
    return out


def _fold(kind: str, values: dict[dt.date, float], start: dt.date, end: dt.date) -> float | None:
    inside = [(d, v) for d, v in values.items() if start <= d <= end]
    if not inside:
        return None
    if kind == "level":
        return max(inside)[1]
    return round(sum(v for _d, v in inside), 2)


def series(
    name: str, *, first: dt.date, last: dt.date, grain: str | None = None,
    keys: list[str] | None = None,
) -> Series:  # fmt: skip
    """The metric's values from ``first`` to ``last`` in buckets of ``grain``."""
    metric = registry.get(name)
    if metric is None:
        raise InvalidInput.single("metric", f"There is no metric “{name}”.")
    if first > last:
        raise InvalidInput.single("since", "The period starts after it ends.")
    if (last - first).days > MAX_BACKFILL_DAYS:
        raise InvalidInput.single("since", f"A series covers at most {MAX_BACKFILL_DAYS} days.")
    grain = grain or grain_for((last - first).days + 1)
    if grain not in GRAINS:
        raise InvalidInput.single("grain", "Give day, week or month.")
    buckets = []
    start = bucket_start(first, grain)
    while start <= last:
        end = _next(start, grain) - dt.timedelta(days=1)
        buckets.append((max(start, first), min(end, last)))
        start = _next(start, grain)
    lines: dict[str, list[float | None]] = {}
    if metric.kind == "ratio":
        top = _raw(metric.parts[0], first, last, [""]).get("", {})
        bottom = _raw(metric.parts[1], first, last, [""]).get("", {})
        values: list[float | None] = []
        for s, e in buckets:
            a, b = _fold("flow", top, s, e), _fold("flow", bottom, s, e)
            values.append(round(a / b, 2) if a is not None and b else None)
        lines[""] = values
    else:
        for key, found in _raw(name, first, last, keys).items():
            lines[key] = [_fold(metric.kind, found, s, e) for s, e in buckets]
    if "" in lines:
        lines = {"": lines[""], **{k: v for k, v in lines.items() if k}}
    names = metric.key_names([k for k in lines if k]) if metric.key_names else {}
    return Series(metric, grain, buckets, lines, names)


def value_over(name: str, key: str, end: dt.date, days: int) -> float | None:
    """A metric's figure as of ``end``: a level's last value up to that day, a flow's sum
    over the ``days`` ending then, a ratio over the same window."""
    metric = registry.get(name)
    if metric is None:
        return None
    first = end - dt.timedelta(days=days - 1)
    if metric.kind == "level":
        return (
            MetricPoint.objects.filter(metric=name, key=key, date__lte=end, date__gte=end - dt.timedelta(days=days + 31))
            .order_by("-date").values_list("value", flat=True).first()
        )  # fmt: skip
    if metric.kind == "ratio":
        top = _fold("flow", _raw(metric.parts[0], first, end, [""]).get("", {}), first, end)
        bottom = _fold("flow", _raw(metric.parts[1], first, end, [""]).get("", {}), first, end)
        return round(top / bottom, 2) if top is not None and bottom else None
    return _fold("flow", _raw(name, first, end, [key]).get(key, {}), first, end)


def latest_report(name: str) -> ReportSnapshot | None:
    return ReportSnapshot.objects.filter(name=name).order_by("-date").first()
