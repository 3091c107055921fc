"""Charts as the pages draw them: a metric's series turned into the chart's data (for
the vendored Chart.js), the same figures as a table whose every number links to the
records behind it, and as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse

from rapport.ingest.exporters.cells import formula_escape
from rapport.insights import metrics as registry
from rapport.insights import services

MAX_LINES = 8
PERIODS = (30, 90, 365)


@dataclass(frozen=True)
class Chart:
    metric: str
    prefix: str = ""  # the breakdown shown ("source:"…); "" is the total alone
    title: str = ""
    total: bool = False  # with a breakdown, show the total line too


def period(request: Any) -> int:
    value = request.GET.get("days", "")
    return int(value) if value.isdecimal() and int(value) in PERIODS else 90


def visible_segments(actor: Any) -> set[str]:
    from rapport.segments.models import Segment

    rows = Segment.objects.filter(Q(shared=True) | Q(owner_id=getattr(actor, "pk", None)))
    return {f"segment:{pk}" for pk in rows.values_list("pk", flat=True)}


def drill_url(metric: str, key: str, start: dt.date, end: dt.date) -> str:
    query = urlencode({"key": key, "start": start.isoformat(), "end": end.isoformat()})
    return f"{reverse('insights:drill', args=[metric])}?{query}"


def _label(start: dt.date, end: dt.date, grain: str) -> str:
    if grain == "month":
        return start.strftime("%b %Y")
    if grain == "week":
        return f"{start:%d %b}–{end:%d %b}"
    return start.strftime("%d %b")


def build(chart: Chart, *, days: int, actor: Any, today: dt.date | None = None) -> dict[str, Any]:
    """Everything a page needs to show one chart: title, help, the chart's JSON, the
    table's rows with drill-down links, the CSV link."""
    metric = registry.get(chart.metric)
    assert metric is not None, chart.metric
    last = today or registry.today()
    first = last - dt.timedelta(days=days - 1)
    data = services.series(metric.name, first=first, last=last)
    keys = [
        k
        for k in data.lines
        if (k == "" and (chart.total or not chart.prefix))
        or (chart.prefix and k.startswith(chart.prefix))
    ]
    if chart.prefix == "segment:":
        allowed = visible_segments(actor)
        keys = [k for k in keys if k in allowed]
    totals = {
        k: sum(v or 0 for v in data.lines[k])
        if metric.kind != "level"
        else (next((v for v in reversed(data.lines[k]) if v is not None), 0) or 0)
        for k in keys
    }
    breakdown = sorted((k for k in keys if k), key=lambda k: -totals[k])[:MAX_LINES]
    keys = ([""] if "" in keys else []) + breakdown
    labels = [_label(s, e, data.grain) for s, e in data.buckets]
    bars = metric.kind == "flow"
    columns = [{"key": k, "label": data.label(k)} for k in keys]
    rows = []
    for i, (s, e) in enumerate(data.buckets):
        cells = []
        for k in keys:
            value = data.lines[k][i]
            url = drill_url(metric.name, k, s, e) if metric.drill and value else ""
            cells.append({"value": value, "url": url})
        rows.append({"label": labels[i], "start": s, "end": e, "cells": cells})
    filled = [
        i for i in range(len(data.buckets)) if any(data.lines[k][i] is not None for k in keys)
    ]
    if metric.kind == "level" and breakdown and len(filled) == 1:
        # a breakdown recorded on one day so far: its parts side by side, not dots
        snapshot = {
            "type": "bar", "unit": metric.unit, "stacked": False,
            "labels": [c["label"] for c in columns if c["key"]],
            "datasets": [{"label": labels[filled[0]], "data": [data.lines[c["key"]][filled[0]] for c in columns if c["key"]]}],
        }  # fmt: skip
    else:
        snapshot = None
    single = None
    if not breakdown and len(filled) == 1 and len(data.buckets) > 1:
        # one day recorded so far (a metric without history): its figure, not a dot
        cell = rows[filled[0]]["cells"][0]
        single = {"value": cell["value"], "url": cell["url"], "day": data.buckets[filled[0]][1]}
    slug = f"{metric.name}{'-' + chart.prefix.rstrip(':') if chart.prefix else ''}"
    return {
        "id": slug,
        "title": chart.title or metric.label,
        "help": metric.help,
        "unit": metric.unit,
        "grain": data.grain,
        "columns": columns,
        "rows": rows,
        "single": single,
        "empty": not keys or all(c["value"] is None for r in rows for c in r["cells"]),
        "data": snapshot
        or {
            "type": "bar" if bars else "line",
            "unit": metric.unit,
            "labels": labels,
            # a flow by parts is drawn as stacks of its parts (their height is the total)
            "stacked": bars and bool(breakdown),
            "datasets": [
                {"label": c["label"], "data": data.lines[c["key"]]}
                for c in columns
                if not (bars and breakdown and c["key"] == "")
            ],
        },
        "csv": f"?{urlencode({'days': days, 'csv': slug})}",
    }


def as_csv(chart: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["from", "to", *[formula_escape(c["label"]) for c in chart["columns"]]])
    for row in chart["rows"]:
        writer.writerow(
            [
                row["start"],
                row["end"],
                *["" if c["value"] is None else c["value"] for c in row["cells"]],
            ]
        )
    return out.getvalue()
