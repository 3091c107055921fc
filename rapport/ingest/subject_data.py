"""The import area's part in privacy requests (see ``rapport.core.subjects``).

Every import keeps the file it read (``ImportBatch.file``), what each row changed
(``ImportChange``, with the values it replaced) and the rows that failed or lost a value
(``ImportRowError``, with their cells). A row of a stored file mentions the person when a
cell holds one of their email addresses or phone numbers, one of their ids in that
import's source system, or (in an import that created or changed them) their full name.

On erasure those rows are blanked in the stored files: the file is rewritten in its own
format (CSV with its encoding and delimiter, the XLSX workbook's first sheet, the vCard
card emptied) with every other row as it was, after the erasure's transaction commits.
A blanked row reads as an empty row, so row numbers stay; an interrupted import's
resume point is moved back by the rows it had read that are now empty. An import queued
or running now is left alone (counted). Change records about the person are deleted
(undoing such an import no longer touches them), and the problems reported for their
rows keep the reason but lose the values.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import F

from rapport.core.subjects import Counts, DataCategory, Exported, Subject, SubjectProvider
from rapport.core.text import digits
from rapport.ingest import parsers
from rapport.ingest.models import ImportBatch, ImportChange, ImportRowError
from rapport.ingest.parsers.encoding import open_text

logger = logging.getLogger(__name__)

_SEP_LINE = re.compile(r"^sep=(.)\r?\n?$", re.IGNORECASE)
_BUSY = (ImportBatch.Status.QUEUED, ImportBatch.Status.RUNNING, ImportBatch.Status.UNDOING)
_EMPTY_CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nEND:VCARD\r\n"
# Phone numbers in cells are compared by their digits, from this many on.
_MIN_PHONE_DIGITS = 8


@dataclass
class _Rows:
    """The rows of one stored file that mention the person."""

    batch: ImportBatch
    numbers: list[int] = field(default_factory=list)
    cells: list[list[str]] = field(default_factory=list)
    already_read: int = 0  # of them, among the rows an interrupted import had read


def _linked_batches(subject: Subject) -> set[int]:
    return set(
        ImportChange.objects.filter(contact_id__in=subject.contact_ids).values_list(
            "batch_id", flat=True
        )
    )


def _mentions(cells: list[str], subject: Subject, batch: ImportBatch, by_name: bool) -> bool:
    text = "\x00".join(cells)
    if not text.strip("\x00"):
        return False
    if by_name and subject.mentioned_in(text):
        return True
    addresses = Subject(0, (), emails=subject.emails, phones=subject.phones)
    if addresses.mentioned_in(text):
        return True
    numbers = {digits(p) for p in subject.phones}
    ids = {value for source, value in subject.external_ids if source == batch.source}
    for cell in cells:
        if ids and cell.strip() in ids:
            return True
        found = digits(cell)
        if (
            numbers
            and _MIN_PHONE_DIGITS <= len(found) <= 20
            and any(n.endswith(found) or found.endswith(n) for n in numbers)
        ):
            return True
    return False


def _stored_rows(subject: Subject) -> tuple[list[_Rows], int]:
    """The rows mentioning the person in every stored file; and how many imports are
    running now (not read)."""
    linked = _linked_batches(subject)
    found: list[_Rows] = []
    busy = 0
    for batch in ImportBatch.objects.exclude(file="").order_by("id"):
        if batch.status in _BUSY:
            busy += 1
            continue
        if not batch.file.storage.exists(str(batch.file.name)):
            continue
        try:
            table = parsers.detect(
                Path(batch.file.path), batch.file_name, encoding=batch.encoding or None
            )
            rows = _Rows(batch)
            for index, (number, cells) in enumerate(table.rows):
                if cells is None or not _mentions(cells, subject, batch, batch.pk in linked):
                    continue
                rows.numbers.append(number)
                rows.cells.append(cells)
                if index < batch.processed_rows:
                    rows.already_read += 1
        except parsers.UnreadableFile:
            logger.warning(
                "Import %s: its stored file cannot be read for a privacy request", batch.pk
            )
            continue
        if rows.numbers:
            found.append(rows)
    return found, busy


def _problems(subject: Subject) -> list[ImportRowError]:
    linked = _linked_batches(subject)
    return [
        problem
        for problem in ImportRowError.objects.exclude(value="", row=[]).select_related("batch")
        if _mentions([problem.value, *map(str, problem.row)], subject, problem.batch, False)
        or (problem.batch_id in linked and subject.mentioned_in(str(problem.row)))
    ]


def _checks(subject: Subject) -> list[ImportBatch]:
    """Batches whose row check or log holds one of the person's values."""
    return [
        batch
        for batch in ImportBatch.objects.only("id", "row_check", "log")
        if subject.mentioned_in(str(batch.row_check)) or subject.mentioned_in(str(batch.log))
    ]


def export(subject: Subject) -> Exported:
    rows, _ = _stored_rows(subject)
    return Exported(
        sections={
            "Rows of imported files": [
                {
                    "import": found.batch.pk,
                    "file": found.batch.file_name,
                    "source": found.batch.source,
                    "imported at": found.batch.created_at,
                    "rows": [
                        {"row": number, **dict(zip(found.batch.headers, cells, strict=False))}
                        for number, cells in zip(found.numbers, found.cells, strict=True)
                    ],
                }
                for found in rows
            ],
            "Changes imports made to them": [
                {
                    "import": c.batch_id,
                    "action": c.get_action_display(),
                    "values before": c.before,
                    "values after": c.after,
                }
                for c in ImportChange.objects.filter(contact_id__in=subject.contact_ids)
            ],
            "Problems reported for their rows": [
                {"import": p.batch_id, "row": p.row_number, "column": p.column, "value": p.value}
                for p in _problems(subject)
            ],
        }
    )


def preview(subject: Subject) -> Counts:
    rows, busy = _stored_rows(subject)
    return {
        "rows in stored import files": sum(len(r.numbers) for r in rows),
        "stored import files rewritten": len(rows),
        "imports running now (left as they are)": busy,
        "import change records": ImportChange.objects.filter(
            contact_id__in=subject.contact_ids
        ).count(),
        "import problem reports": len(_problems(subject)),
        "import checks and logs naming them": len(_checks(subject)),
    }


def _redacted(value: Any, subject: Subject) -> Any:
    if isinstance(value, str):
        return subject.redact(value)
    if isinstance(value, list):
        return [_redacted(v, subject) for v in value]
    if isinstance(value, dict):
        return {k: _redacted(v, subject) for k, v in value.items()}
    return value


def erase(subject: Subject) -> Counts:
    counts = preview(subject)
    rows, _ = _stored_rows(subject)
    for found in rows:
        # an emptied CSV or XLSX row is no longer read at all (an emptied card is, as
        # an empty row): the rows an interrupted import skips on resuming are fewer
        if (
            found.batch.status == ImportBatch.Status.INTERRUPTED
            and found.already_read
            and found.batch.file_format != "vcard"
        ):
            ImportBatch.objects.filter(pk=found.batch.pk).update(
                processed_rows=F("processed_rows") - found.already_read
            )
    for problem in _problems(subject):
        ImportRowError.objects.filter(pk=problem.pk).update(value="", row=[])
    for batch in _checks(subject):
        ImportBatch.objects.filter(pk=batch.pk).update(
            row_check=_redacted(batch.row_check, subject), log=_redacted(batch.log, subject)
        )
    ImportChange.objects.filter(contact_id__in=subject.contact_ids).delete()
    plans = [(found.batch, set(found.numbers)) for found in rows]

    def rewrite() -> None:
        for batch, numbers in plans:
            try:
                blank_rows(batch, numbers)
            except (OSError, ValueError, parsers.UnreadableFile):
                logger.exception("Could not blank rows of import %s after an erasure", batch.pk)

    if plans:
        transaction.on_commit(rewrite)
    return counts


# -- rewriting a stored file without some rows ------------------------------------------


def blank_rows(batch: ImportBatch, numbers: set[int]) -> None:
    """Rewrite the batch's stored file with rows ``numbers`` (as the parsers number
    them) emptied, every other row as it was; the file is replaced at once."""
    path = Path(batch.file.path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".blanking-")
    os.close(handle)
    target = Path(temporary)
    try:
        if batch.file_format == "xlsx":
            _blank_xlsx(path, target, numbers)
        elif batch.file_format == "vcard":
            _blank_vcard(path, target, numbers, batch.encoding)
        else:
            _blank_csv(path, target, numbers, batch.encoding, batch.delimiter or ",")
        target.chmod(path.stat().st_mode & 0o777)
        target.replace(path)
    finally:
        target.unlink(missing_ok=True)


def _blank_csv(path: Path, target: Path, numbers: set[int], encoding: str, delimiter: str) -> None:
    csv.field_size_limit(parsers.MAX_CELL_CHARS)
    with (
        open_text(path, encoding) as text,
        target.open("w", encoding=encoding, errors="strict", newline="") as out,
    ):
        first = text.readline()
        ending = "\r\n" if first.endswith("\r\n") else "\n"
        lines: Any
        if _SEP_LINE.match(first.lstrip("\ufeff")):
            out.write(first)
            lines = text
        else:
            lines = _chain(first, text)
        writer = csv.writer(out, delimiter=delimiter, lineterminator=ending)
        for number, cells in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
            writer.writerow([""] * len(cells) if number in numbers else cells)


def _chain(first: str, rest: Any) -> Any:
    if first:
        yield first
    yield from rest


def _blank_xlsx(path: Path, target: Path, numbers: set[int]) -> None:
    import openpyxl

    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    for number in numbers:
        for cell in sheet[number]:
            cell.value = None
    workbook.save(target)


def _blank_vcard(path: Path, target: Path, numbers: set[int], encoding: str) -> None:
    """Cards are numbered as the vCard parser numbers them: one per END:VCARD, and one
    for a card left open when the next begins or the file ends."""
    number = 0
    card: list[str] | None = None

    with (
        open_text(path, encoding or "utf-8") as text,
        target.open("w", encoding=encoding or "utf-8", newline="") as out,
    ):

        def close() -> None:
            nonlocal number, card
            number += 1
            out.write(_EMPTY_CARD if number in numbers else "".join(card or []))
            card = None

        for line in text:
            marker = line.strip().upper()
            if marker == "BEGIN:VCARD":
                if card is not None:
                    close()
                card = [line]
            elif card is None:
                out.write(line)
            else:
                card.append(line)
                if marker == "END:VCARD":
                    close()
        if card is not None:
            close()


PROVIDER = SubjectProvider(
    name="ingest",
    label="Imports",
    export=export,
    preview=preview,
    erase=erase,
    order=100,
    categories=(
        DataCategory(
            "Imported files",
            "the rows of uploaded CSV, Excel and vCard files, as they were uploaded",
            "uploaded files under imports/, ingest_importchange, ingest_importrowerror",
        ),
    ),
)
