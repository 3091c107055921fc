"""KPI goals: a metric, its baseline (recorded on a day, or given), a target and a review
cadence; where each stands now; and the monthly summary sent by email.

A KPI's figure follows its metric's kind over the cadence's window (7, 30 or 91 days):
a level is its value on the day (contacts, a share reachable), a flow its total over the
window ending that day (new contacts in the last 30 days), a ratio the ratio over it.
The baseline taken from a day is that figure on that day, read from the snapshots.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from rapport.access.services import change_record
from rapport.core import policy
from rapport.core.errors import Conflict, FieldError, InvalidInput
from rapport.core.text import fold
from rapport.insights import metrics as registry
from rapport.insights.models import Kpi, SummarySent, SummarySubscription
from rapport.insights.services.snapshots import value_over

logger = logging.getLogger(__name__)
WINDOW_DAYS = {"weekly": 7, "monthly": 30, "quarterly": 91}
TREND_POINTS = 12
FIELDS = (
    "name", "description", "metric", "key", "baseline_date", "baseline_value", "target_value",
    "target_date", "direction", "cadence",
)  # fmt: skip


def _date(errors: list[FieldError], name: str, value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors.append(FieldError(name, f"“{str(value)[:40]}” is not a date (YYYY-MM-DD)."))
        return None


def _number(errors: list[FieldError], name: str, value: Any, *, required: bool) -> float | None:
    if value in (None, ""):
        if required:
            errors.append(FieldError(name, "Give a number."))
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors.append(FieldError(name, f"“{str(value)[:40]}” is not a number."))
        return None
    if not math.isfinite(number) or abs(number) > 1e15:
        errors.append(FieldError(name, "This number is out of range."))
        return None
    return number


def _clean(data: Mapping[str, Any], current: Kpi | None) -> dict[str, Any]:
    merged = {f: getattr(current, f) for f in FIELDS} if current else {}
    merged.update({k: v for k, v in data.items() if k in FIELDS})
    errors: list[FieldError] = []
    name = str(merged.get("name") or "").strip()
    if not name:
        errors.append(FieldError("name", "Give the KPI a name."))
    elif len(name) > 120:
        errors.append(FieldError("name", "At most 120 characters."))
    elif Kpi.objects.filter(name_key=fold(name)).exclude(pk=current.pk if current else 0).exists():
        errors.append(FieldError("name", f"There is already a KPI named “{name}”."))
    metric = registry.get(str(merged.get("metric") or ""))
    if metric is None:
        errors.append(FieldError(
            "metric", f"Choose one of the metrics: {', '.join(sorted(registry.metrics()))}."
        ))  # fmt: skip
    key = str(merged.get("key") or "").strip()
    if len(key) > 120:
        errors.append(FieldError("key", "At most 120 characters."))
    cadence = str(merged.get("cadence") or "monthly")
    if cadence not in WINDOW_DAYS:
        errors.append(FieldError("cadence", "Choose weekly, monthly or quarterly."))
    direction = str(merged.get("direction") or "up")
    if direction not in Kpi.Direction.values:
        errors.append(FieldError("direction", "Choose up (higher is better) or down."))
    baseline_date = _date(errors, "baseline_date", merged.get("baseline_date"))
    target_date = _date(errors, "target_date", merged.get("target_date"))
    baseline = _number(errors, "baseline_value", merged.get("baseline_value"), required=False)
    target = _number(errors, "target_value", merged.get("target_value"), required=True)
    if baseline_date and baseline_date > registry.today():
        errors.append(FieldError("baseline_date", "The baseline is a day that has passed."))
    if baseline_date and target_date and target_date <= baseline_date:
        errors.append(FieldError("target_date", "The target's date comes after the baseline's."))
    if baseline is None and baseline_date is None and not errors:
        errors.append(FieldError("baseline_date", "Give the baseline: a day or a value."))
    if metric is not None and baseline is None and baseline_date is not None and not errors:
        baseline = value_over(metric.name, key, baseline_date, WINDOW_DAYS[cadence])
        if baseline is None:
            errors.append(FieldError(
                "baseline_date",
                f"No figure of {metric.label.lower()} was recorded on {baseline_date}; give the "
                "baseline value, or fill the history with `rapport metrics snapshot --since`.",
            ))  # fmt: skip
    if baseline is not None and target is not None and baseline == target:
        errors.append(FieldError("target_value", "The target is the baseline: set one to reach."))
    if errors:
        raise InvalidInput(errors)
    return {
        "name": name, "name_key": fold(name), "description": str(merged.get("description") or "")[:2000],
        "metric": metric.name if metric else "", "key": key, "baseline_date": baseline_date,
        "baseline_value": baseline, "target_value": target, "target_date": target_date,
        "direction": direction, "cadence": cadence,
    }  # fmt: skip


def _record(actor: Any, kpi: Kpi, action: str, via: str) -> None:
    change_record(
        actor=actor, object_type="kpi", object_id=kpi.pk, object_repr=kpi.name, action=action,
        changes={
            "metric": [None, kpi.metric], "baseline_value": [None, kpi.baseline_value],
            "target_value": [None, kpi.target_value],
        },
        via=via,
    )  # fmt: skip


def kpi_create(*, actor: Any, data: Mapping[str, Any], via: str = "ui") -> Kpi:
    policy.require(actor, "kpis.manage")
    values = _clean(data, None)
    with transaction.atomic():
        kpi = Kpi.objects.create(created_by=actor, **values)
        _record(actor, kpi, "create", via)
    return kpi


def kpi_update(
    *, actor: Any, kpi: Kpi, data: Mapping[str, Any], expected_version: int | None = None,
    via: str = "ui",
) -> Kpi:  # fmt: skip
    policy.require(actor, "kpis.manage")
    if "baseline_date" in data and "baseline_value" not in data:
        data = {**data, "baseline_value": None}  # a new day means a baseline read again
    values = _clean(data, kpi)
    with transaction.atomic():
        rows = Kpi.objects.filter(pk=kpi.pk)
        if expected_version is not None:
            rows = rows.filter(version=expected_version)
        if not rows.update(version=F("version") + 1, **values):
            raise Conflict("The KPI was changed by someone else; reload it and try again.")
        kpi.refresh_from_db()
        _record(actor, kpi, "update", via)
    return kpi


def kpi_delete(*, actor: Any, kpi: Kpi, via: str = "ui") -> None:
    policy.require(actor, "kpis.manage")
    with transaction.atomic():
        _record(actor, kpi, "delete", via)
        kpi.delete()


# where a KPI stands ----------------------------------------------------------------


@dataclass
class KpiStatus:
    kpi: Kpi
    actual: float | None
    as_of: dt.date
    progress: float | None  # share of the way from baseline to target, in percent
    state: str  # met | on_track | behind | improving | worsening | no_data
    trend: list[tuple[dt.date, float | None]]
    next_review: dt.date

    @property
    def state_label(self) -> str:
        return {
            "met": "Target met", "on_track": "On track", "behind": "Behind",
            "improving": "Improving", "worsening": "Worse than baseline", "no_data": "No figures yet",
        }[self.state]  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        k = self.kpi
        return {
            "id": k.pk, "name": k.name, "description": k.description, "metric": k.metric,
            "key": k.key, "cadence": k.cadence, "direction": k.direction,
            "baseline_date": k.baseline_date, "baseline_value": k.baseline_value,
            "target_value": k.target_value, "target_date": k.target_date,
            "actual": self.actual, "as_of": self.as_of, "progress": self.progress,
            "state": self.state, "next_review": self.next_review, "version": k.version,
            "trend": [{"date": d, "value": v} for d, v in self.trend],
        }  # fmt: skip


def _step(day: dt.date, cadence: str, n: int) -> dt.date:
    if cadence == "weekly":
        return day + dt.timedelta(weeks=n)
    months = 3 * n if cadence == "quarterly" else n
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
            31, 31, 30, 31, 30, 31][month]  # fmt: skip
    return dt.date(year, month + 1, min(day.day, last))


def kpi_status(kpi: Kpi, *, today: dt.date | None = None) -> KpiStatus:
    today = today or registry.today()
    window = WINDOW_DAYS.get(kpi.cadence, 30)
    actual = value_over(kpi.metric, kpi.key, today, window)
    start = kpi.baseline_date or kpi.created_at.date()
    n = 1
    while _step(start, kpi.cadence, n) <= today:
        n += 1
    next_review = _step(start, kpi.cadence, n)
    trend = [
        (day, value_over(kpi.metric, kpi.key, day, window))
        for day in (_step(today, kpi.cadence, -i) for i in range(TREND_POINTS - 1, -1, -1))
    ]
    progress = None
    state = "no_data"
    if actual is not None:
        span = kpi.target_value - kpi.baseline_value
        progress = round(100.0 * (actual - kpi.baseline_value) / span, 1) if span else None
        better = (
            actual >= kpi.baseline_value if kpi.direction == "up" else actual <= kpi.baseline_value
        )
        met = actual >= kpi.target_value if kpi.direction == "up" else actual <= kpi.target_value
        if met:
            state = "met"
        elif kpi.target_date and progress is not None:
            total = (kpi.target_date - start).days or 1
            elapsed = min(max((today - start).days, 0), total)
            state = "on_track" if progress >= 100.0 * elapsed / total else "behind"
        else:
            state = "improving" if better else "worsening"
    return KpiStatus(kpi, actual, today, progress, state, trend, next_review)


def kpi_statuses() -> list[KpiStatus]:
    return [kpi_status(k) for k in Kpi.objects.all()]


# the monthly summary ---------------------------------------------------------------


def summary_subscribe(*, actor: Any, on: bool) -> bool:
    policy.require(actor, "insights.view")
    if on:
        SummarySubscription.objects.get_or_create(user=actor)
    else:
        SummarySubscription.objects.filter(user=actor).delete()
    return on


HEADLINES = ("new_contacts", "interactions", "orders", "revenue")


def summary_text(month: dt.date) -> tuple[str, str]:
    """The subject and body of the summary of ``month`` (its first day)."""
    from rapport.activity.services.reminders.mailing import link

    end = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    lines = [f"Rapport: KPIs and figures for {month:%B %Y}", ""]
    statuses = [kpi_status(k, today=end) for k in Kpi.objects.all()]
    if statuses:
        lines.append("KPIs")
        for s in statuses:
            actual = "no figure" if s.actual is None else _fmt(s.actual)
            lines.append(
                f"- {s.kpi.name}: {actual} (baseline {_fmt(s.kpi.baseline_value)}, target "
                f"{_fmt(s.kpi.target_value)}) — {s.state_label}"
            )
        lines.append("")
    lines.append("The month in figures")
    days = (end - month).days + 1
    for name in HEADLINES:
        metric = registry.get(name)
        value = value_over(name, "", end, days)
        if metric is not None:
            lines.append(f"- {metric.label}: {'no figure' if value is None else _fmt(value)}")
    lines += ["", f"Dashboard: {link('/insights/') or '/insights/'}"]
    return f"Rapport summary for {month:%B %Y}", "\n".join(lines) + "\n"


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def send_monthly_summary(*, today: dt.date | None = None) -> int:
    """Send last month's summary to the subscribers, once: the month is claimed first,
    so a second worker (or a second run) sends nothing. Returns how many were sent."""
    from rapport.activity.services.reminders.mailing import Mailer

    today = today or registry.today()
    month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    users = [
        s.user for s in SummarySubscription.objects.select_related("user")
        if s.user.is_active and s.user.email
    ]  # fmt: skip
    if not users:
        return 0
    try:
        with transaction.atomic():
            claim = SummarySent.objects.create(month=month)
    except IntegrityError:
        return 0
    subject, body = summary_text(month)
    mailer = Mailer()
    sent, failures = 0, []
    try:
        for user in users:
            try:
                mailer.send(subject, body, user.email)
                sent += 1
            except Exception as exc:  # one refused address does not stop the others
                logger.warning("The monthly summary to %s failed: %s", user.email, exc)
                failures.append(user.email)
    finally:
        mailer.close()
    SummarySent.objects.filter(pk=claim.pk).update(recipients=sent, failures=failures)
    return sent
