"""`rapport worker`: run background tasks (imports, audits) from the configured queue."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.core.tasks import task_backend


class Command(BaseCommand):
    help = "Run background tasks: the database queue by default, Redis workers with RQ."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", action="store_true", help="Exit when the queue is empty.")

    def handle(self, *args: object, **options: object) -> None:
        backend = task_backend()
        if backend == "django_tasks_db.DatabaseBackend":
            call_command("db_worker", batch=bool(options["batch"]))
        elif backend == "django_tasks_rq.RQBackend":
            call_command(
                "rqworker",
                "default",
                job_class="django_tasks_rq.backend.Job",
                burst=bool(options["batch"]),
            )
        else:
            raise CommandError(
                "RAPPORT_TASKS_BACKEND=immediate runs tasks inline; no worker needed."
            )
