"""What the insights area does: take the daily snapshot of every metric, read it back as
series, keep KPI goals and send their monthly summary."""

from rapport.insights.services.kpis import (
    KpiStatus,
    kpi_create,
    kpi_delete,
    kpi_status,
    kpi_statuses,
    kpi_update,
    send_monthly_summary,
    summary_subscribe,
    summary_text,
)
from rapport.insights.services.snapshots import (
    Series,
    SnapshotResult,
    grain_for,
    latest_report,
    series,
    snapshot,
    value_over,
)

__all__ = [
    "KpiStatus", "Series", "SnapshotResult", "grain_for", "kpi_create", "kpi_delete",
    "kpi_status", "kpi_statuses", "kpi_update", "latest_report", "send_monthly_summary",
    "series", "snapshot", "summary_subscribe", "summary_text", "value_over",
]  # fmt: skip
