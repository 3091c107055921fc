"""`rapport worker`: run background tasks (imports, audits) from the configured queue."""

from __future__ import annotations

import logging
import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from rapport.core import jobs, schedule
from rapport.core.tasks import task_backend

logger = logging.getLogger(__name__)


def recover_dead_jobs() -> None:
    """Mark the jobs whose process died as stopped (see ``rapport.core.jobs``)."""
    try:
        jobs.jobs_recover()  # logs each job it marks
    except DatabaseError:
        logger.exception("Looking for stopped jobs failed; trying again later")


def _recover_periodically(stop: threading.Event) -> None:
    """Every half stale period, mark dead jobs; every tick, start the periodic duties
    that are due (reminders, mailbox syncs…)."""
    recover_every = jobs.stale_after().total_seconds() / 2
    tick = min(schedule.TICK_SECONDS, recover_every)
    waited = 0.0
    try:
        while not stop.wait(tick):
            waited += tick
            if waited >= recover_every:
                waited = 0.0
                recover_dead_jobs()
            schedule.run_due_duties()
            connection.close()  # this thread's own connection: never left open between passes
    finally:
        connection.close()


class Command(BaseCommand):
    help = "Run background tasks: the database queue by default, Redis workers with RQ."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", action="store_true", help="Exit when the queue is empty.")

    def handle(self, *args: object, **options: object) -> None:
        backend = task_backend()
        if backend not in ("django_tasks_db.DatabaseBackend", "django_tasks_rq.RQBackend"):
            raise CommandError(
                "RAPPORT_TASKS_BACKEND=immediate runs tasks inline; no worker needed."
            )
        # Jobs left "running" by a worker that was killed are marked stopped at start, and
        # again every half stale period while this worker runs; periodic duties start
        # from the same thread.
        recover_dead_jobs()
        schedule.run_due_duties()
        connection.close()
        stop = threading.Event()
        watcher = threading.Thread(
            target=_recover_periodically, args=(stop,), name="job-recovery", daemon=True
        )
        watcher.start()
        try:
            if backend == "django_tasks_db.DatabaseBackend":
                call_command("db_worker", batch=bool(options["batch"]))
            else:
                call_command(
                    "rqworker",
                    "default",
                    job_class="django_tasks_rq.backend.Job",
                    burst=bool(options["batch"]),
                )
        finally:
            stop.set()
            watcher.join(timeout=5)
