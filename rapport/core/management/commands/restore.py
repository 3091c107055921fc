"""`rapport restore FILE`: bring a backup archive back into a new, empty installation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Restore an archive written by `rapport backup` into an empty installation (a new "
        "DATABASE_URL and RAPPORT_DATA_DIR; do not run `rapport setup` there first). The "
        "checksums are verified before anything is written; the restore is all or nothing "
        "(a failure leaves the installation as it was); the database is migrated when the "
        "archive is older than this version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The archive to restore.")

    def handle(self, *args: Any, **options: Any) -> None:
        from rapport.core.backup import BackupError, backup_restore

        try:
            report = backup_restore(path=Path(options["file"]))
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        manifest = report.manifest
        self.stdout.write(
            f"Restored the backup of {manifest.created_at} (Rapport {manifest.rapport_version}): "
            f"{len(manifest.tables)} tables, {sum(manifest.tables.values())} rows, "
            f"{manifest.media_files} uploaded files; checksums and row counts verified."
        )
        if report.migrated:
            self.stdout.write(
                f"Brought the database up to date: applied {len(report.migrated)} "
                f"migrations ({', '.join(report.migrated)})."
            )
        for note in report.notes:
            if note:
                self.stdout.write(note)
