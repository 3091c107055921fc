"""Abstract bases shared by every business area."""

from __future__ import annotations

from django.db import models


class TimeStamped(models.Model):
    """Creation and modification times, plus a version number used for ETags."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True

    @property
    def etag(self) -> str:
        return f'"{self.pk}-{self.version}"'


class BackgroundJob(models.Model):
    """A long job that records its state in a ``status`` field and reports while it runs.

    ``heartbeat_at`` is refreshed by ``rapport.core.jobs.job_heartbeat`` for as long as the
    process running the job is alive; a running job whose heartbeat is older than
    ``RAPPORT_JOB_STALE_SECONDS`` lost its process and may be taken over or marked stopped.
    ``claim`` counts the times that happened (and the first start): only the process holding
    the latest number may still write to the job (``rapport.core.jobs.Claim``).
    """

    heartbeat_at = models.DateTimeField(null=True, blank=True)
    claim = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        abstract = True


class PeriodicRun(models.Model):
    """When each periodic duty (``rapport.core.schedule``) last started, so that of
    several workers exactly one starts it each period."""

    name = models.CharField(max_length=100, primary_key=True)
    last_run_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.last_run_at:%Y-%m-%d %H:%M:%S}"
