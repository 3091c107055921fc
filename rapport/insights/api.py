"""/api/v1/metrics: the metrics and their series from the daily snapshots, the day's
reports (cohorts, value distribution), KPI goals (CRUD, with where each stands), and a
snapshot taken now."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from rapport.contacts.api._http import (
    READ_ERRORS,
    VIA,
    WRITE_ERRORS,
    ObjectId,
    actor,
    expected_version,
)
from rapport.contacts.schemas import InputSchema
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.insights import metrics as registry
from rapport.insights import services
from rapport.insights.models import Kpi
from rapport.insights.services.snapshots import MAX_BACKFILL_DAYS

router = Router(tags=["metrics"])


class MetricOut(BaseModel):
    name: str
    label: str
    report: str
    kind: str
    unit: str
    help: str
    breakdown: str
    history: bool
    latest: float | None
    latest_date: dt.date | None


class SeriesParams(Schema):
    since: dt.date | None = Field(None, description="First day (default: 90 days ago).")
    until: dt.date | None = Field(None, description="Last day (default: today).")
    grain: str | None = Field(
        None, description="day, week or month (default: by the period's length)."
    )
    key: list[str] = Field(
        default_factory=list, description="Only these breakdown keys (repeatable)."
    )


class PointOut(BaseModel):
    start: dt.date
    end: dt.date
    value: float | None


class LineOut(BaseModel):
    key: str
    label: str
    points: list[PointOut]


class SeriesOut(BaseModel):
    metric: str
    kind: str
    unit: str
    grain: str
    lines: list[LineOut]


class ReportOut(BaseModel):
    name: str
    date: dt.date
    data: dict[str, Any]


class KpiIn(InputSchema):
    name: Any = None
    description: Any = None
    metric: Any = None
    key: Any = None
    baseline_date: Any = Field(None, description="The day whose figure is the baseline.")
    baseline_value: Any = Field(None, description="Or the baseline's value.")
    target_value: Any = None
    target_date: Any = None
    direction: Any = Field(None, description="up (higher is better) or down.")
    cadence: Any = Field(None, description="weekly, monthly or quarterly.")


class TrendOut(BaseModel):
    date: dt.date
    value: float | None


class KpiOut(BaseModel):
    id: int
    name: str
    description: str
    metric: str
    key: str
    cadence: str
    direction: str
    baseline_date: dt.date | None
    baseline_value: float
    target_value: float
    target_date: dt.date | None
    actual: float | None
    as_of: dt.date
    progress: float | None
    state: str
    next_review: dt.date
    version: int
    trend: list[TrendOut]


class SnapshotIn(InputSchema):
    date: dt.date | None = None
    since: dt.date | None = Field(
        None, description="Also recompute every day from then (metrics with history)."
    )


class SnapshotOut(BaseModel):
    date: dt.date
    points: dict[str, int]
    seconds: dict[str, float]
    failed: dict[str, str]


def _can_view(request: HttpRequest) -> None:
    policy.require(actor(request), "insights.view")


@router.get("", response={200: list[MetricOut], **READ_ERRORS}, summary="The metrics")
def metric_list(request: HttpRequest) -> list[dict[str, Any]]:
    _can_view(request)
    today = registry.today()
    out = []
    for m in registry.metrics().values():
        latest = services.value_over(m.name, "", today, 30 if m.kind != "level" else 1)
        out.append({
            "name": m.name, "label": m.label, "report": m.report, "kind": m.kind, "unit": m.unit,
            "help": m.help, "breakdown": m.keys_label, "history": m.history, "latest": latest,
            "latest_date": today if latest is not None else None,
        })  # fmt: skip
    return out


@router.get(
    "/kpis", response={200: list[KpiOut], **READ_ERRORS}, summary="KPI goals and where each stands"
)
def kpi_list(request: HttpRequest) -> list[dict[str, Any]]:
    _can_view(request)
    return [s.as_dict() for s in services.kpi_statuses()]


def _etag(kpi: Kpi) -> str:
    return f'"{kpi.pk}-{kpi.version}"'


@router.post("/kpis", response={201: KpiOut, **WRITE_ERRORS}, summary="Set a KPI goal")
def kpi_create(request: HttpRequest, response: HttpResponse, payload: KpiIn) -> Status:
    kpi = services.kpi_create(
        actor=actor(request), data=payload.model_dump(exclude_unset=True), via=VIA
    )
    response["ETag"] = _etag(kpi)
    return Status(201, services.kpi_status(kpi).as_dict())


@router.get("/kpis/{kpi_id}", response={200: KpiOut, **READ_ERRORS})
def kpi_get(request: HttpRequest, response: HttpResponse, kpi_id: ObjectId) -> dict[str, Any]:
    _can_view(request)
    kpi = get_object_or_404(Kpi, pk=kpi_id)
    response["ETag"] = _etag(kpi)
    return services.kpi_status(kpi).as_dict()


@router.patch("/kpis/{kpi_id}", response={200: KpiOut, **WRITE_ERRORS})
def kpi_update(
    request: HttpRequest, response: HttpResponse, kpi_id: ObjectId, payload: KpiIn
) -> dict[str, Any]:
    kpi = get_object_or_404(Kpi, pk=kpi_id)
    updated = services.kpi_update(
        actor=actor(request), kpi=kpi, data=payload.model_dump(exclude_unset=True),
        expected_version=expected_version(request, kpi), via=VIA,
    )  # fmt: skip
    response["ETag"] = _etag(updated)
    return services.kpi_status(updated).as_dict()


@router.delete("/kpis/{kpi_id}", response={204: None, **WRITE_ERRORS})
def kpi_delete(request: HttpRequest, kpi_id: ObjectId) -> Status:
    kpi = get_object_or_404(Kpi, pk=kpi_id)
    expected = expected_version(request, kpi)
    if expected is not None and expected != kpi.version:
        from rapport.core.errors import Conflict

        raise Conflict("The KPI was changed by someone else; reload it and try again.")
    services.kpi_delete(actor=actor(request), kpi=kpi, via=VIA)
    return Status(204, None)


@router.post(
    "/snapshot", response={200: SnapshotOut, **WRITE_ERRORS}, summary="Take the snapshot now"
)
def snapshot(request: HttpRequest, payload: SnapshotIn) -> dict[str, Any]:
    """Compute every metric for the day (today by default) now; with ``since``, the days
    from then as well, for the metrics that can be computed for past days."""
    policy.require(actor(request), "metrics.snapshot")
    result = services.snapshot(day=payload.date, since=payload.since, full=True)
    return {
        "date": result.day,
        "points": result.points,
        "seconds": result.seconds,
        "failed": result.failed,
    }


@router.get(
    "/reports/{name}", response={200: ReportOut, **READ_ERRORS}, summary="A report's latest table"
)
def report(request: HttpRequest, name: str) -> dict[str, Any]:
    """``cohorts`` (retention and churn by monthly cohort) or ``value_distribution``."""
    _can_view(request)
    if name not in ("cohorts", "value_distribution"):
        raise InvalidInput.single("name", "Give cohorts or value_distribution.")
    found = services.latest_report(name)
    if found is None:
        from django.http import Http404

        raise Http404("No snapshot has been taken yet.")
    return {"name": name, "date": found.date, "data": found.data}


@router.get("/{name}", response={200: SeriesOut, **READ_ERRORS}, summary="A metric's series")
def metric_series(request: HttpRequest, name: str, params: Query[SeriesParams]) -> dict[str, Any]:
    """The metric from ``since`` to ``until`` in buckets: a level is its bucket's last
    value, a flow its sum, a ratio the ratio of the sums. Read from the daily snapshots."""
    _can_view(request)
    until = params.until or registry.today()
    since = params.since or until - dt.timedelta(days=89)
    if (until - since).days > MAX_BACKFILL_DAYS:
        raise InvalidInput.single("since", f"A series covers at most {MAX_BACKFILL_DAYS} days.")
    data = services.series(
        name, first=since, last=until, grain=params.grain, keys=params.key or None
    )
    lines = data.lines
    if registry.get(name) and name == "segment_size":
        from rapport.insights.views.charts import visible_segments

        allowed = visible_segments(actor(request))
        lines = {k: v for k, v in lines.items() if k in allowed}
    return {
        "metric": name, "kind": data.metric.kind, "unit": data.metric.unit, "grain": data.grain,
        "lines": [
            {"key": k, "label": data.label(k), "points": [
                {"start": s, "end": e, "value": v} for (s, e), v in zip(data.buckets, values, strict=True)
            ]}
            for k, values in lines.items()
        ],
    }  # fmt: skip
