"""Liveness of background jobs: heartbeats, claiming a job, and recovering dead ones.

Every long job (an import, a duplicate scan, …) keeps its state in a row with a
``status`` field and a ``heartbeat_at`` timestamp (``core.models.BackgroundJob``).
While a process runs a job, ``job_heartbeat`` refreshes that timestamp from a small
thread; when the process dies (killed, out of memory, machine restarted) the timestamp
stops moving. A running job whose heartbeat is older than ``RAPPORT_JOB_STALE_SECONDS``
is dead: ``job_claim`` lets another process take it over, and ``jobs_recover`` (run by
``rapport worker`` at start and periodically) marks it stopped with a message saying so.

A process that was only paused (a long garbage collection, a suspended machine, a busy
database) is not dead, and wakes up still running the job. So each claim takes a new
number (``BackgroundJob.claim``), and every write a job makes while it runs — progress,
heartbeats, results, its final state — goes through ``Claim.update``, which lands only
while that number is still the job's. A process whose job was taken over or marked
stopped gets ``ClaimLost`` at its next write and stops; ``job_task`` ends its task there,
leaving the job to its new holder.

Apps register their job models in ``AppConfig.ready()`` with ``job_kind_register``.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ParamSpec

from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from rapport.core.errors import Conflict

logger = logging.getLogger(__name__)

# Held by a heartbeat thread while it writes, and by a thread that forks (see
# rapport.core.forking): a child process never starts with a copy of a connection or
# driver lock that a beat held half-way through a write.
beat_lock = threading.Lock()
P = ParamSpec("P")


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


class ClaimLost(Conflict):
    """The job was taken over by another process, or marked stopped, since this process
    claimed it: nothing more it writes lands, and it must stop."""


@dataclass(frozen=True, slots=True)
class Claim:
    """This process's hold on one job, as the number ``job_claim`` gave it."""

    model: type[models.Model]
    pk: int
    number: int

    def update(self, **changes: Any) -> None:
        """Write ``changes`` to the job in one conditional UPDATE if this claim still holds
        it; otherwise write nothing and raise ClaimLost."""
        if not self.model._default_manager.filter(pk=self.pk, claim=self.number).update(**changes):
            raise ClaimLost(
                f"{str(self.model._meta.verbose_name).capitalize()} {self.pk} was taken over "
                "or marked stopped while this process was not reporting; it stops here."
            )

    def confirm(self) -> None:
        """Refresh the heartbeat, or raise ClaimLost. Inside a transaction this locks the
        job's row (the whole database on SQLite) until it commits, so nobody can claim the
        job meanwhile: the transaction's work commits only while this claim holds."""
        self.update(heartbeat_at=timezone.now())


def job_claim(
    model: type[models.Model],
    pk: int,
    *,
    startable: Iterable[str],
    running: str,
    **changes: Any,
) -> Claim | None:
    """Mark the job running for this process, in one conditional write.

    Succeeds when the job is in one of the ``startable`` states, or is running with a
    dead process; fails (returns None, changes nothing) when another live process runs
    it, it has finished or another process claimed it at the same moment. ``changes``
    are written with the claim. The claim's number is one more than the last one, so
    whoever held the job before can no longer write to it.
    """
    last = model._default_manager.filter(pk=pk).values_list("claim", flat=True).first()
    if last is None:
        return None
    condition = Q(status__in=list(startable)) | _stale_running(running)
    claimed = (
        model._default_manager.filter(condition, pk=pk, claim=last).update(
            status=running, heartbeat_at=timezone.now(), claim=last + 1, **changes
        )
    )  # fmt: skip
    return Claim(model, pk, last + 1) if claimed else None


@contextmanager
def job_heartbeat(claim: Claim) -> Iterator[None]:
    """Refresh the job's ``heartbeat_at`` from a thread while the block runs and the
    claim holds; once it is lost the beats stop, and the job's next write raises.

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
                    with beat_lock:
                        claim.confirm()
                except ClaimLost as exc:
                    logger.warning("%s", exc)
                    return
                except DatabaseError:  # busy for a moment: the next beat will do
                    logger.warning("Heartbeat of %s %s missed", claim.model.__name__, claim.pk)
        finally:
            connection.close()  # this thread's own connection, never left open

    thread = threading.Thread(
        target=beat, name=f"heartbeat-{claim.model.__name__}-{claim.pk}", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def job_task(run: Callable[P, None]) -> Callable[P, None]:
    """Wrap a task function that runs a job: a run that lost its claim ends there, logged
    and without touching the job, which belongs to the process that took it over."""

    @functools.wraps(run)
    def task(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            run(*args, **kwargs)
        except ClaimLost as exc:
            logger.warning("%s", exc)

    return task


@dataclass(frozen=True, slots=True)
class JobKind:
    """How to find one model's dead jobs and what to record when one is found."""

    model: type[models.Model]
    running: str
    stopped: str
    message: str  # dotted path of a function job -> str, imported when first needed
    resume: str = ""  # dotted path of a function job_id -> None that queues it again

    def describe(self, job: Any) -> str:
        describe: Callable[[Any], str] = import_string(self.message)
        return describe(job)


_kinds: list[JobKind] = []


def job_kind_register(
    model: type[models.Model], *, running: str, stopped: str, message: str, resume: str = ""
) -> None:
    """Have ``jobs_recover`` mark ``model``'s dead running jobs ``stopped``; ``message`` is
    the dotted path of a function that says why, given the job (imported lazily, so
    registering in ``AppConfig.ready()`` loads nothing heavy). A kind that can go on
    where it stopped gives ``resume`` instead, the dotted path of a function called with
    the job's id to queue it again: its run takes the dead job over (``job_claim``)."""
    if not any(kind.model is model for kind in _kinds):
        _kinds.append(JobKind(model, running, stopped, message, resume))


def jobs_recover() -> list[Any]:
    """Mark every running job whose process died as stopped (or queue it again, for a
    kind registered with ``resume``); returns the jobs marked.

    Each job is re-checked under the same condition when it is written, so a job that
    reported again meanwhile is left alone. Marking takes the job's claim, so a process
    that was only paused cannot write to it when it wakes.
    """
    marked: list[Any] = []
    for kind in _kinds:
        if kind.resume:
            resume: Callable[[int], None] = import_string(kind.resume)
            for job in kind.model._default_manager.filter(_stale_running(kind.running)):
                logger.warning("%s %s: %s", kind.model.__name__, job.pk, kind.describe(job))
                resume(job.pk)
            continue
        for job in kind.model._default_manager.filter(_stale_running(kind.running)):
            with transaction.atomic():
                changes: dict[str, Any] = {
                    "status": kind.stopped,
                    "error": kind.describe(job),
                    "claim": F("claim") + 1,
                }
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
