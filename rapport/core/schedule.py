"""Duties that come round on their own: reminders falling due, mailboxes to sync,
calendar subscriptions to refresh.

An app registers a duty in its ``AppConfig.ready()`` with how often it is due; each
``rapport worker`` runs ``run_due_duties`` every few seconds, and a duty starts in at
most one of them per period (the start is claimed with one conditional UPDATE). A duty
should only find the work and enqueue background tasks for it, so the work itself has
the queue's retries and survives a killed worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)
TICK_SECONDS = 15.0


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
        try:
            duty.run()
        except Exception:
            logger.exception("Periodic duty %s failed; it runs again next period", duty.name)
    return started
