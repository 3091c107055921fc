"""`rapport serve`: the production server (gunicorn workers, static files by WhiteNoise)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve Rapport with gunicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "3"))
        )

    def handle(self, *args: object, **options: object) -> None:
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(
            f"Rapport is serving on http://{options['host']}:{options['port']}/", ending="\n"
        )
        self.stdout.flush()
        argv = [
            "gunicorn",
            "rapport.wsgi:application",
            "--bind",
            f"{options['host']}:{options['port']}",
            "--workers",
            str(options["workers"]),
            "--threads",
            "4",
            "--timeout",
            "120",
            "--access-logfile",
            "-",
            "--forwarded-allow-ips",
            os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        ]
        os.environ.setdefault("RAPPORT_DATA_DIR", str(settings.DATA_DIR))
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        os.execv(gunicorn, argv)
