"""What the dashboards read: each metric's figure per day (``MetricPoint``), the day's
wider tables (``ReportSnapshot``: cohorts, value distributions), the KPI goals set
against them, and who receives the monthly summary."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class MetricPoint(models.Model):
    """One metric's figure on one day, for one breakdown ``key`` ("" is the whole;
    "source:import", "kind:call", "user:3", "purpose:newsletter", "segment:7"…).

    A *level* (contacts, overdue tasks, a share reachable) is its value at the end of the
    day, or when the snapshot ran for today; a *flow* (new contacts, interactions) counts
    what happened that day. Writing the same metric, key and day again replaces it."""

    metric = models.CharField(max_length=60)
    key = models.CharField(max_length=120, blank=True, default="")
    date = models.DateField()
    value = models.FloatField()
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["metric", "key", "date"]
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "key", "date"], name="metric_point_one_per_day"
            )
        ]
        indexes = [models.Index(fields=["metric", "date"], name="metric_point_day")]

    def __str__(self) -> str:
        return f"{self.metric}[{self.key}] {self.date}: {self.value}"


class ReportSnapshot(models.Model):
    """A table computed once a day for a report (cohort retention, value distribution):
    too wide to be points, too costly to compute on every view."""

    name = models.CharField(max_length=60)
    date = models.DateField()
    data = models.JSONField(default=dict)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["name", "date"], name="report_snapshot_one_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.date}"


class Kpi(models.Model):
    """A goal on one metric: where it stood before the strategy started (the baseline, a
    value recorded on a day or given), where it should get to (the target, by a date or
    open-ended) and how often it is reviewed."""

    class Direction(models.TextChoices):
        UP = "up", "Higher is better"
        DOWN = "down", "Lower is better"

    class Cadence(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"

    name = models.CharField(max_length=120)
    name_key = models.CharField(max_length=120, unique=True, editable=False)
    description = models.TextField(blank=True)
    metric = models.CharField(max_length=60)
    key = models.CharField(max_length=120, blank=True, default="")
    baseline_date = models.DateField(null=True, blank=True)
    baseline_value = models.FloatField()
    target_value = models.FloatField()
    target_date = models.DateField(null=True, blank=True)
    direction = models.CharField(max_length=4, choices=Direction.choices, default=Direction.UP)
    cadence = models.CharField(max_length=10, choices=Cadence.choices, default=Cadence.MONTHLY)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name_key"]

    def __str__(self) -> str:
        return self.name


class SummarySubscription(models.Model):
    """A user who receives the monthly KPI summary by email."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="kpi_summary"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"summary for {self.user_id}"


class SummarySent(models.Model):
    """The monthly summary of one month went out (claimed before sending, so two workers
    never both send it)."""

    month = models.DateField(unique=True)  # the first day of the month summarised
    started_at = models.DateTimeField(auto_now_add=True)
    recipients = models.PositiveIntegerField(default=0)
    failures = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"summary {self.month:%Y-%m}"
