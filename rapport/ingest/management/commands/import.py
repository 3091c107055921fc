"""`rapport import FILE`: import contacts from CSV/TSV, XLSX or vCard as an undoable batch."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from rapport.access.commands import RecordCommand
from rapport.core.progress import progress_bar
from rapport.ingest import services
from rapport.ingest.exporters.cells import formula_escape
from rapport.ingest.models import ImportBatch, ImportRowError, SavedMapping


class Command(RecordCommand):
    help = "Import contacts from a file (CSV/TSV, XLSX, vCard); undo or resume a batch."

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_actor_argument(parser)
        parser.add_argument("file", nargs="?", help="The file to import.")
        parser.add_argument(
            "--source", default="", help="Where the file comes from (default: its name)."
        )
        parser.add_argument(
            "--mapping", help="A JSON file of {column: field}, or a saved mapping's name."
        )
        parser.add_argument(
            "--mode", choices=ImportBatch.Mode.values, default=ImportBatch.Mode.UPSERT
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row; change nothing."
        )
        parser.add_argument(
            "--encoding", help="Read the file in this encoding instead of the detected one."
        )
        parser.add_argument(
            "--errors-out", help="Write the failed rows, with an error column, to this CSV."
        )
        parser.add_argument(
            "--resume", type=int, metavar="BATCH", help="Resume an interrupted batch."
        )
        parser.add_argument("--undo", type=int, metavar="BATCH", help="Undo a batch.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        if options["undo"]:
            batch = self.fetch(ImportBatch, options["undo"])
            report = self.call(services.import_undo, actor=actor, batch=batch)
            self.stdout.write(
                f"Undone batch {batch.pk}: {report.removed} contacts removed, {report.restored} restored."
            )
            for line in report.kept:
                self.stdout.write(f"  kept: {line}")
            if report.kept_count > len(report.kept):
                self.stdout.write(f"  … {report.kept_count} kept in all; the batch log has them.")
            return
        if options["resume"]:
            batch = self.fetch(ImportBatch, options["resume"])
            if batch.status not in (
                ImportBatch.Status.INTERRUPTED,
                ImportBatch.Status.RUNNING,
                ImportBatch.Status.QUEUED,
            ):
                raise CommandError(
                    f"Batch {batch.pk} is {batch.get_status_display().lower()}; nothing to resume."
                )
            self.call(services.import_require_not_running, batch=batch)
        else:
            batch = self.upload(actor, options)
        self.run(batch, options)

    def upload(self, actor: Any, options: dict[str, Any]) -> ImportBatch:
        if not options["file"]:
            raise CommandError("Name a file to import (or --resume/--undo a batch).")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        with path.open("rb") as handle:
            batch = self.call(
                services.import_upload,
                actor=actor,
                upload=handle,
                file_name=path.name,
                source=options["source"],
                encoding=options["encoding"],
            )
        mapping = self.mapping(options["mapping"]) if options["mapping"] else None
        batch = self.call(
            services.import_configure,
            actor=actor,
            batch=batch,
            mapping=mapping,
            mode=options["mode"],
            dry_run=options["dry_run"],
        )
        mapped = {c: t for c, t in batch.mapping.items() if t}
        self.stderr.write(
            f"Batch {batch.pk}: {batch.file_format.upper()}"
            + (f", {batch.encoding}" if batch.encoding else "")
            + (f", delimiter {batch.delimiter!r}" if batch.delimiter else "")
            + f"; {len(mapped)} of {len(batch.headers)} columns mapped."
        )
        for column, target in mapped.items():
            self.stderr.write(f"  {column} → {target}", style_func=None)
        return batch

    def mapping(self, value: str) -> dict[str, str]:
        path = Path(value)
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise CommandError(f"{path}: not a JSON mapping ({exc}).") from None
            if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
                raise CommandError(f"{path}: expected a JSON object of column → field.")
            return data
        saved = SavedMapping.objects.filter(name=value).first()
        if saved is None:
            raise CommandError(f"{value}: neither a mapping file nor a saved mapping.")
        return dict(saved.mapping)

    def run(self, batch: ImportBatch, options: dict[str, Any]) -> None:
        bar = progress_bar(
            desc="Importing",
            unit=" rows",
            initial=batch.processed_rows,
            disable=options["no_progress"],
            file=self.stderr._out,
        )
        last = [batch.processed_rows]

        def progress(done: int) -> None:
            bar.update(done - last[0])
            last[0] = done

        # A new batch is queued here; a resumed one is taken over by import_run's claim.
        ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.PENDING).update(
            status=ImportBatch.Status.QUEUED
        )
        try:
            batch = self.call(services.import_run, batch_id=batch.pk, progress=progress)
        finally:
            bar.close()
        verb = "Checked" if batch.dry_run else "Imported"
        self.stdout.write(
            f"{verb} batch {batch.pk}: {batch.created_count} created, {batch.updated_count} updated, "
            f"{batch.unchanged_count} unchanged, {batch.failed_count} failed."
        )
        if batch.status != ImportBatch.Status.DONE:
            raise CommandError(
                f"Batch {batch.pk} {batch.get_status_display().lower()}: {batch.error}"
            )
        warnings = batch.row_errors.filter(severity=ImportRowError.Severity.WARNING)
        for error in warnings[:20]:
            where = f"{error.column}: " if error.column else ""
            self.stderr.write(f"  row {error.row_number} (imported): {where}{error.reason}")
        if batch.failed_count:
            errors = batch.row_errors.filter(severity=ImportRowError.Severity.ERROR)
            for error in errors[:20]:
                where = f"{error.column}: " if error.column else ""
                self.stderr.write(f"  row {error.row_number}: {where}{error.reason}")
            if options["errors_out"]:
                with Path(options["errors_out"]).open("w", newline="", encoding="utf-8-sig") as out:
                    # The same cells as the download: formulas escaped for spreadsheets.
                    csv.writer(out).writerows(
                        [formula_escape(str(cell)) for cell in row]
                        for row in services.failed_rows(batch)
                    )
                self.stderr.write(f"Failed rows written to {options['errors_out']}.")
