"""`rapport backup [FILE]`: one archive of the database, uploaded files and secret key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Write a backup archive (.tar.gz): a consistent snapshot of the database taken "
        "while Rapport runs, the uploaded files, the secret key when Rapport keeps it in "
        "its data directory, a manifest and SHA-256 checksums. Restore it with "
        "`rapport restore FILE`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file",
            nargs="?",
            help="The archive to write (default: rapport-backup-<UTC time>.tar.gz here).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from rapport.core.backup import BackupError, backup_create
        from rapport.core.backup.service import default_backup_name

        path = Path(options["file"] or default_backup_name())
        try:
            report = backup_create(path=path)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        manifest = report.manifest
        self.stdout.write(
            f"Wrote {report.path} ({report.size / 1_048_576:.1f} MiB): {manifest.engine} "
            f"database of {len(manifest.tables)} tables and {sum(manifest.tables.values())} "
            f"rows, {manifest.media_files} uploaded files."
        )
        self.stdout.write(str(manifest.secret_key["note"]))
