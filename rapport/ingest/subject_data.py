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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import F

from rapport.core.subjects import (
    Counts,
    DataCategory,
    Exported,
    Subject,
    SubjectProvider,
    emails_in,
)
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
    read: list[bool] = field(default_factory=list)  # among those an interrupted import read


class _Finder:
    """Which of several people a row of imported text mentions, found by lookups (an
    address, a number, an id) rather than one pass per person, so a retention run
    reads each stored file once for many people."""

    def __init__(self, subjects: Sequence[Subject]) -> None:
        self.subjects = list(subjects)
        self.emails: dict[str, set[int]] = {}
        self.phones: dict[str, list[tuple[int, str]]] = {}
        self.ids: dict[tuple[str, str], set[int]] = {}
        self.linked: dict[int, set[int]] = {}
        owners: dict[int, int] = {}
        for i, subject in enumerate(self.subjects):
            for email in subject.emails:
                self.emails.setdefault(email.casefold(), set()).add(i)
            for phone in subject.phones:
                number = digits(phone)
                self.phones.setdefault(number[-_MIN_PHONE_DIGITS:], []).append((i, number))
            for pair in subject.external_ids:
                self.ids.setdefault(pair, set()).add(i)
            owners.update(dict.fromkeys(subject.contact_ids, i))
        for batch_id, contact_id in ImportChange.objects.filter(
            contact_id__in=list(owners)
        ).values_list("batch_id", "contact_id"):
            self.linked.setdefault(batch_id, set()).add(owners[contact_id])

    def mentions(
        self, cells: Sequence[str], batch: ImportBatch, *, by_name: bool = True
    ) -> set[int]:
        """The people (indexes) ``cells`` mention: by address, number or id anywhere,
        and by full name in an import that created or changed them."""
        text = "\x00".join(cells)
        found: set[int] = set()
        if not text.strip("\x00"):
            return found
        if self.emails:
            for email in emails_in(text):
                found |= self.emails.get(email, set())
        for cell in cells:
            number = digits(cell)
            if self.phones and _MIN_PHONE_DIGITS <= len(number) <= 20:
                for i, theirs in self.phones.get(number[-_MIN_PHONE_DIGITS:], []):
                    if theirs.endswith(number) or number.endswith(theirs):
                        found.add(i)
            if self.ids and cell.strip():
                found |= self.ids.get((batch.source, cell.strip()), set())
        if by_name:
            for i in self.linked.get(batch.pk, set()) - found:
                if self.subjects[i].mentioned_in(text):
                    found.add(i)
        return found


def _stored_rows(finder: _Finder) -> tuple[list[dict[int, _Rows]], int]:
    """Per person, the rows mentioning them in each stored file (by batch id); and how
    many imports are running now (not read)."""
    found: list[dict[int, _Rows]] = [{} for _ in finder.subjects]
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
            for index, (number, cells) in enumerate(table.rows):
                if cells is None:
                    continue
                for i in finder.mentions(cells, batch):
                    rows = found[i].setdefault(batch.pk, _Rows(batch))
                    rows.numbers.append(number)
                    rows.cells.append(cells)
                    rows.read.append(index < batch.processed_rows)
        except parsers.UnreadableFile:
            logger.warning(
                "Import %s: its stored file cannot be read for a privacy request", batch.pk
            )
            continue
    return found, busy


def _problems(finder: _Finder) -> list[list[ImportRowError]]:
    """Per person, the problem reports whose values mention them."""
    found: list[list[ImportRowError]] = [[] for _ in finder.subjects]
    for problem in (
        ImportRowError.objects.exclude(value="", row=[]).select_related("batch").iterator(2000)
    ):
        for i in finder.mentions([problem.value, *map(str, problem.row)], problem.batch):
            found[i].append(problem)
    return found


def _checks(subjects: Sequence[Subject]) -> list[list[ImportBatch]]:
    """Per person, the batches whose row check or log holds one of their values."""
    anyone = Subject(0, (), names=tuple(x for s in subjects for x in s.text_identifiers()))
    found: list[list[ImportBatch]] = [[] for _ in subjects]
    for batch in ImportBatch.objects.only("id", "row_check", "log"):
        text = f"{batch.row_check} {batch.log}"
        if not anyone.mentioned_in(text):
            continue
        for i, subject in enumerate(subjects):
            if subject.mentioned_in(text):
                found[i].append(batch)
    return found


def export(subject: Subject) -> Exported:
    finder = _Finder([subject])
    rows = _stored_rows(finder)[0][0]
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
                for found in rows.values()
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
                for p in _problems(finder)[0]
            ],
        }
    )


@dataclass
class _Found:
    rows: list[dict[int, _Rows]]
    busy: int
    problems: list[list[ImportRowError]]
    checks: list[list[ImportBatch]]


def _find(subjects: Sequence[Subject]) -> _Found:
    finder = _Finder(subjects)
    rows, busy = _stored_rows(finder)
    return _Found(rows, busy, _problems(finder), _checks(subjects))


def _counts(found: _Found, i: int, subject: Subject) -> Counts:
    return {
        "rows in stored import files": sum(len(r.numbers) for r in found.rows[i].values()),
        "stored import files rewritten": len(found.rows[i]),
        "imports running now (left as they are)": found.busy,
        "import change records": ImportChange.objects.filter(
            contact_id__in=subject.contact_ids
        ).count(),
        "import problem reports": len(found.problems[i]),
        "import checks and logs naming them": len(found.checks[i]),
    }


def preview(subject: Subject) -> Counts:
    return _counts(_find([subject]), 0, subject)


def _redacted(value: Any, subject: Subject) -> Any:
    if isinstance(value, str):
        return subject.redact(value)
    if isinstance(value, list):
        return [_redacted(v, subject) for v in value]
    if isinstance(value, dict):
        return {k: _redacted(v, subject) for k, v in value.items()}
    return value


def erase_many(subjects: Sequence[Subject]) -> list[Counts]:
    """Erase several people at once, reading every stored file once."""
    found = _find(subjects)
    counts = [_counts(found, i, subject) for i, subject in enumerate(subjects)]
    blank: dict[int, tuple[ImportBatch, set[int], set[int]]] = {}
    for per_batch in found.rows:
        for batch_id, rows in per_batch.items():
            _, numbers, read = blank.setdefault(batch_id, (rows.batch, set(), set()))
            numbers.update(rows.numbers)
            read.update(n for n, was_read in zip(rows.numbers, rows.read, strict=True) if was_read)
    for batch, _, read in blank.values():
        # an emptied CSV or XLSX row is no longer read at all (an emptied card is, as
        # an empty row): the rows an interrupted import skips on resuming are fewer
        if batch.status == ImportBatch.Status.INTERRUPTED and read and batch.file_format != "vcard":
            ImportBatch.objects.filter(pk=batch.pk).update(
                processed_rows=F("processed_rows") - len(read)
            )
    for problems in found.problems:
        ImportRowError.objects.filter(pk__in=[p.pk for p in problems]).update(value="", row=[])
    for subject, batches in zip(subjects, found.checks, strict=True):
        for batch in batches:
            current = ImportBatch.objects.only("row_check", "log").get(pk=batch.pk)
            ImportBatch.objects.filter(pk=batch.pk).update(
                row_check=_redacted(current.row_check, subject),
                log=_redacted(current.log, subject),
            )
    ImportChange.objects.filter(
        contact_id__in=[pk for subject in subjects for pk in subject.contact_ids]
    ).delete()
    plans = [(batch, numbers) for batch, numbers, _ in blank.values()]

    def rewrite() -> None:
        for batch, numbers in plans:
            try:
                blank_rows(batch, numbers)
            except (OSError, ValueError, parsers.UnreadableFile):
                logger.exception("Could not blank rows of import %s after an erasure", batch.pk)

    if plans:
        transaction.on_commit(rewrite)
    return counts


def erase(subject: Subject) -> Counts:
    return erase_many([subject])[0]


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
    erase_many=erase_many,
    order=100,
    categories=(
        DataCategory(
            "Imported files",
            "the rows of uploaded CSV, Excel and vCard files, as they were uploaded",
            "uploaded files under imports/, ingest_importchange, ingest_importrowerror",
        ),
    ),
)
