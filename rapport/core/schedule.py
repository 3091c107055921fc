"""Duties that come round on their own: reminders falling due, mailboxes to sync,
calendar subscriptions to refresh.

An app registers a duty in its ``AppConfig.ready()`` with how often it is due; each
``rapport worker`` runs ``run_due_duties`` every few seconds, and a duty starts in at
most one of them per period (the start is claimed with one conditional UPDATE). A duty
should only find the work and enqueue background tasks for it, so the work itself has
the queue's retries and survives a killed worker.

Quiet when idle: a duty's start is logged at DEBUG, and so are the task queue's
"state=RUNNING / SUCCESSFUL" lines of the tasks marked ``routine`` (those a duty
enqueues every few minutes). The work itself logs at INFO when it did something, and
failures are logged as WARNING or ERROR; an idle worker writes nothing at INFO.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)
TICK_SECONDS = 15.0
# The logger through which the task queue (django-tasks) reports each task's start and end.
TASK_QUEUE_LOGGER = "django_tasks"


@dataclass(frozen=True)
class Duty:
    name: str
    every: timedelta
    run: Callable[[], None]


_duties: dict[str, Duty] = {}


def register_duty(name: str, every: timedelta, run: Callable[[], None]) -> None:
    """Run ``run()`` about every ``every`` in one of the workers."""
    _duties[name] = Duty(name, every, run)


def duties() -> list[Duty]:
    return sorted(_duties.values(), key=lambda d: d.name)


def _claim(duty: Duty, now: datetime) -> bool:
    from rapport.core.models import PeriodicRun

    claimed = PeriodicRun.objects.filter(name=duty.name, last_run_at__lte=now - duty.every).update(
        last_run_at=now
    )
    if claimed:
        return True
    try:
        with transaction.atomic():
            PeriodicRun.objects.create(name=duty.name, last_run_at=now)
    except IntegrityError:
        return False  # it exists and is not due, or another worker just created it
    return True


def run_due_duties(now: datetime | None = None) -> list[str]:
    """Start every duty whose period has passed; returns the names started. A duty
    that fails is logged and tried again next period."""
    now = now or timezone.now()
    started = []
    for duty in duties():
        try:
            if not _claim(duty, now):
                continue
        except DatabaseError:
            logger.warning("Could not check whether %s is due; trying again soon", duty.name)
            continue
        started.append(duty.name)
        logger.debug("Periodic duty %s started", duty.name)
        try:
            duty.run()
        except Exception:
            logger.exception("Periodic duty %s failed; it runs again next period", duty.name)
    return started


# -- routine tasks: quiet in the log unless they did something -------------------------

_routine_paths: set[str] = set()
T = TypeVar("T")


def routine(task: T) -> T:
    """Mark a background task that a duty enqueues again and again (``@routine`` above
    ``@task()``): the queue's lines about its runs are logged at DEBUG, so the task must
    log at INFO itself when it did something (a failed run stays an ERROR)."""
    _routine_paths.add(str(task.module_path))  # type: ignore[attr-defined]
    return task


class RoutineRunsAtDebug(logging.Filter):
    """On the task queue's logger: turn its INFO lines about routine tasks' runs
    ("Task id=… path=… state=…") into DEBUG lines, dropped unless DEBUG is on."""

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        if (
            record.levelno == logging.INFO
            and isinstance(args, tuple)
            and len(args) >= 2
            and args[1] in _routine_paths
        ):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def quiet_routine_runs() -> None:
    """Install RoutineRunsAtDebug on the task queue's logger (once; from CoreConfig)."""
    queue = logging.getLogger(TASK_QUEUE_LOGGER)
    if not any(isinstance(f, RoutineRunsAtDebug) for f in queue.filters):
        queue.addFilter(RoutineRunsAtDebug())
