"""Background tasks of the quality area: they only call services."""

from __future__ import annotations

from django_tasks import task

from rapport.quality import services


@task()
def audit_snapshot() -> int:
    """Bring stored facts up to date and write today's snapshots; returns how many scopes."""
    return len(services.audit_snapshot_write(check=False))


@task()
def quality_refresh() -> int:
    """Recompute the facts of contacts changed since last time (e.g. after an import)."""
    return services.quality_refresh()
