"""Liveness of background jobs: heartbeats, claiming a job, and recovering dead ones.

Every long job (an import, a duplicate scan, …) keeps its state in a row with a
``status`` field and a ``heartbeat_at`` timestamp (``core.models.BackgroundJob``).
While a process runs a job, ``job_heartbeat`` refreshes that timestamp from a small
thread; when the process dies (killed, out of memory, machine restarted) the timestamp
stops moving. A running job whose heartbeat is older than ``RAPPORT_JOB_STALE_SECONDS``
is dead: ``job_claim`` lets another process take it over, and ``jobs_recover`` (run by
``rapport worker`` at start and periodically) marks it stopped with a message saying so.

Apps register their job models in ``AppConfig.ready()`` with ``job_kind_register``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def stale_after() -> timedelta:
    """How long a running job may go without a heartbeat before it counts as dead."""
    return timedelta(seconds=int(settings.RAPPORT_JOB_STALE_SECONDS))


def beat_interval() -> float:
    """Seconds between heartbeats: several per stale period, so one slow write is no death."""
    return max(0.2, stale_after().total_seconds() / 6)


def job_is_stale(job: Any, *, running: str) -> bool:
    """A job recorded as ``running`` whose process stopped reporting."""
    if job.status != running:
        return False
    beat: datetime | None = job.heartbeat_at or getattr(job, "started_at", None)
    return beat is None or timezone.now() - beat > stale_after()


def job_is_live(job: Any, *, running: str) -> bool:
    """A job recorded as ``running`` whose process is still reporting."""
    return job.status == running and not job_is_stale(job, running=running)


def _stale_running(running: str) -> Q:
    cutoff = timezone.now() - stale_after()
    return Q(status=running) & (Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=cutoff))


def job_claim(
    model: type[models.Model],
    pk: int,
    *,
    startable: Iterable[str],
    running: str,
    **changes: Any,
) -> bool:
    """Mark the job running for this process, in one conditional write.

    Succeeds when the job is in one of the ``startable`` states, or is running with a
    dead process; fails (returns False, changes nothing) when another live process runs
    it or it has finished. ``changes`` are written with the claim.
    """
    condition = Q(status__in=list(startable)) | _stale_running(running)
    claimed = (
        model._default_manager.filter(condition, pk=pk).update(
            status=running, heartbeat_at=timezone.now(), **changes
        )
    )  # fmt: skip
    return bool(claimed)


@contextmanager
def job_heartbeat(model: type[models.Model], pk: int) -> Iterator[None]:
    """Refresh the job's ``heartbeat_at`` from a thread while the block runs.

    Inside an open transaction (a task run inline by a request or a test) the job's
    own writes are not visible to anyone else yet, so no thread is started: it would
    only wait on the row the transaction holds.
    """
    if connection.in_atomic_block:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(beat_interval()):
                try:
                    model._default_manager.filter(pk=pk).update(heartbeat_at=timezone.now())
                except DatabaseError:  # busy for a moment: the next beat will do
                    logger.warning("Heartbeat of %s %s missed", model.__name__, pk)
        finally:
            connection.close()  # this thread's own connection, never left open

    thread = threading.Thread(target=beat, name=f"heartbeat-{model.__name__}-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True, slots=True)
class JobKind:
    """How to find one model's dead jobs and what to record when one is found."""

    model: type[models.Model]
    running: str
    stopped: str
    message: str  # dotted path of a function job -> str, imported when first needed

    def describe(self, job: Any) -> str:
        describe: Callable[[Any], str] = import_string(self.message)
        return describe(job)


_kinds: list[JobKind] = []


def job_kind_register(
    model: type[models.Model], *, running: str, stopped: str, message: str
) -> None:
    """Have ``jobs_recover`` mark ``model``'s dead running jobs ``stopped``; ``message`` is
    the dotted path of a function that says why, given the job (imported lazily, so
    registering in ``AppConfig.ready()`` loads nothing heavy)."""
    if not any(kind.model is model for kind in _kinds):
        _kinds.append(JobKind(model, running, stopped, message))


def jobs_recover() -> list[Any]:
    """Mark every running job whose process died as stopped; returns the jobs marked.

    Each job is re-checked under the same condition when it is written, so a job that
    reported again meanwhile is left alone.
    """
    marked: list[Any] = []
    for kind in _kinds:
        for job in kind.model._default_manager.filter(_stale_running(kind.running)):
            with transaction.atomic():
                changes: dict[str, Any] = {"status": kind.stopped, "error": kind.describe(job)}
                if hasattr(job, "finished_at"):
                    changes["finished_at"] = timezone.now()
                updated = kind.model._default_manager.filter(
                    _stale_running(kind.running), pk=job.pk
                ).update(**changes)
            if updated:
                logger.warning("%s %s: %s", kind.model.__name__, job.pk, changes["error"])
                marked.append(job)
    return marked


def last_heard(job: Any) -> str:
    """When the job's process last reported, for messages: ``at 2026-01-31 12:00:05 UTC``."""
    beat: datetime | None = job.heartbeat_at or getattr(job, "started_at", None)
    if beat is None:
        return "never reported"
    return (
        f"last reported at {beat.astimezone(timezone.get_current_timezone()):%Y-%m-%d %H:%M:%S %Z}"
    )
