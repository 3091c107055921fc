"""`rapport serve`: the production server (gunicorn workers, static files by WhiteNoise)
plus, with the database task queue, one background worker for imports and audits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from rapport.core.tasks import task_backend


class Command(BaseCommand):
    help = "Serve Rapport with gunicorn (and a background worker for the database queue)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "3"))
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not start a background worker (run `rapport worker` elsewhere).",
        )

    def handle(self, *args: object, **options: object) -> None:
        call_command("collectstatic", interactive=False, verbosity=0)
        bin_dir = Path(sys.executable).parent
        os.environ.setdefault("RAPPORT_DATA_DIR", str(settings.DATA_DIR))
        web = [
            str(bin_dir / "gunicorn"),
            "rapport.wsgi:application",
            "--bind", f"{options['host']}:{options['port']}",
            "--workers", str(options["workers"]),
            "--threads", "4",
            "--timeout", "120",
            "--access-logfile", "-",
            "--forwarded-allow-ips", os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        ]  # fmt: skip
        server = subprocess.Popen(web)
        backend = task_backend()
        worker_command = [str(bin_dir / "rapport"), "worker"]
        with_worker = backend == "django_tasks_db.DatabaseBackend" and not options["no_worker"]
        worker = subprocess.Popen(worker_command) if with_worker else None
        self.stdout.write(f"Rapport is serving on http://{options['host']}:{options['port']}/")
        self.stdout.flush()
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True
            for process in (server, worker):
                if process is not None and process.poll() is None:
                    process.terminate()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while server.poll() is None and not stopping:
                if worker is not None and worker.poll() is not None and not stopping:
                    # The web keeps serving; a worker that died (a task's crash, a
                    # database locked for too long) is started again.
                    self.stderr.write(
                        f"The background worker stopped (exit code {worker.returncode}); "
                        "starting it again."
                    )
                    time.sleep(1)
                    worker = subprocess.Popen(worker_command)
                time.sleep(0.5)
        finally:
            stop()
            for process in (server, worker):
                if process is not None:
                    process.wait(timeout=30)
        sys.exit(max(p.returncode or 0 for p in (server, worker) if p is not None))
