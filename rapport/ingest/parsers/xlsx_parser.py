"""Excel workbooks (.xlsx): the first worksheet, streamed with openpyxl's read-only mode.

Before openpyxl sees the file, the zip directory is checked: a workbook that would
unpack to more than ``MAX_UNCOMPRESSED`` bytes, or a part that compresses better than
``MAX_RATIO`` to one, is refused as a likely zip bomb. Cells become text the way a
person reads them in Excel: dates as ISO dates, whole numbers without ".0" (so a phone
number typed as a number keeps its digits), numbers formatted with leading zeros
("00000" for postcodes) keep them, formulas give their last computed value.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rapport.ingest.parsers import MAX_COLUMNS, Table, UnreadableFile, unique_headers
from rapport.ingest.parsers.header import (
    MAX_PREAMBLE_ROWS,
    filled_width,
    find_header,
    preview,
    typical_width,
)

MAX_UNCOMPRESSED = 1024**3
MAX_RATIO = 200
MAX_MEMBERS = 10_000
# Small parts may compress extremely well without being dangerous.
_RATIO_FLOOR = 1024**2
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZERO_PADDED = re.compile(r"^0+$")


class XlsxParser:
    """Office Open XML workbooks; old binary .xls files are recognised and refused."""

    file_format = "xlsx"

    def accepts(self, *, file_name: str, head: bytes) -> bool:
        return head.startswith((_ZIP_MAGIC, _OLE_MAGIC)) or file_name.lower().endswith(
            (".xlsx", ".xlsm")
        )

    def open(self, path: Path, *, encoding: str | None = None) -> Table:
        """Check the archive, find the header row of the first sheet; rows stream when read."""
        check_archive(path)
        with _workbook(path) as (workbook, sheet):
            records: list[list[str]] = []
            for cells in _sheet_rows(sheet):
                records.append(cells)
                if len(records) >= MAX_PREAMBLE_ROWS * 2:
                    break
            sheets = [ws.title for ws in workbook.worksheets]
        header_index = find_header(records)
        raw_header = records[header_index]
        width = filled_width(raw_header)
        if width > MAX_COLUMNS:
            raise UnreadableFile(
                f"The first worksheet has {width:,} columns; at most {MAX_COLUMNS:,} can be imported."
            )
        width = typical_width(raw_header, records[header_index + 1 :])
        headers = unique_headers((raw_header + [""] * width)[:width])
        table = Table(
            file_format="xlsx", headers=headers, rows=iter(()), header_row=header_index + 1
        )
        note = f"Read the first worksheet, “{sheets[0]}”"
        if len(sheets) > 1:
            note += f"; the other {len(sheets) - 1} worksheet(s) were not read"
        table.add_note(note + ".")
        if encoding:
            table.add_note("The encoding chosen was ignored: workbooks name their own.")
        if header_index:
            table.add_note(
                f"Rows 1–{header_index} come before the header and were skipped "
                f"(they start: “{preview(records[:header_index])}”)."
            )
        table.rows = _rows(table, path, skip=header_index + 1)
        return table


def check_archive(path: Path) -> None:
    """Refuse what is not an .xlsx workbook, or would unpack to far more than it weighs."""
    with path.open("rb") as handle:
        if handle.read(len(_OLE_MAGIC)) == _OLE_MAGIC:
            raise UnreadableFile(
                "This is an old-style Excel file (.xls) or a password-protected workbook; "
                "save it as .xlsx or CSV and import that."
            )
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UnreadableFile(
            "The file is not a valid .xlsx workbook: it is damaged or not a zip archive."
        ) from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise UnreadableFile(f"The workbook holds more than {MAX_MEMBERS:,} parts; refused.")
        total = sum(member.file_size for member in members)
        if total > MAX_UNCOMPRESSED:
            raise UnreadableFile(
                f"The workbook would unpack to {total / 1024**3:,.1f} GB, more than the "
                f"{MAX_UNCOMPRESSED // 1024**3} GB allowed; refused as a possible zip bomb."
            )
        for member in members:
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > _RATIO_FLOOR and ratio > MAX_RATIO:
                raise UnreadableFile(
                    f"A part of the workbook ({member.filename}) unpacks to {ratio:,.0f} times "
                    f"its compressed size (at most {MAX_RATIO} allowed); refused as a possible "
                    "zip bomb."
                )
        names = {member.filename for member in members}
        if "xl/workbook.xml" not in names:
            if "mimetype" in names and b"opendocument" in archive.read("mimetype")[:200]:
                raise UnreadableFile(
                    "This is an OpenDocument file; save it as .xlsx or CSV and import that."
                )
            raise UnreadableFile("The file is a zip archive but not an Excel workbook (.xlsx).")


@contextmanager
def _workbook(path: Path) -> Iterator[tuple[Any, Any]]:
    """The workbook opened read-only, and its first worksheet; errors become UnreadableFile."""
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(
                path, read_only=True, data_only=True, keep_links=False
            )
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        raise UnreadableFile(f"The workbook could not be read ({_reason(exc)}).") from None
    try:
        if not workbook.worksheets:
            raise UnreadableFile("The workbook has no worksheet.")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # a stale size would pad every row to it
        yield workbook, sheet
    finally:
        workbook.close()


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _sheet_rows(sheet: Any) -> Iterator[list[str]]:
    try:
        for row in sheet.iter_rows():
            yield [cell_text(cell) for cell in row]
    except UnreadableFile:
        raise
    except Exception as exc:
        raise UnreadableFile(f"The worksheet could not be read ({_reason(exc)}).") from None


def cell_text(cell: Any) -> str:
    """What a person sees in the cell, as text."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        value = int(value)
    if isinstance(value, int):
        fmt = getattr(cell, "number_format", "") or ""
        if _ZERO_PADDED.match(fmt):
            return str(value).zfill(len(fmt))
        return str(value)
    if isinstance(value, float):
        return f"{value:.15g}"
    return str(value)


def _rows(table: Table, path: Path, *, skip: int) -> Iterator[tuple[int, list[str] | None]]:
    width = len(table.headers)
    padding = [""] * width
    with _workbook(path) as (_, sheet):
        for row_number, cells in enumerate(_sheet_rows(sheet), start=1):
            if row_number <= skip or not any(cells):
                continue
            count = len(cells)
            if count <= width:
                yield row_number, cells + padding[count:]
            elif any(cell.strip() for cell in cells[width:]):
                table.row_problems[row_number] = (
                    f"Row {row_number:,} has text in column {filled_width(cells):,} but the "
                    f"header has {width:,} columns."
                )
                yield row_number, None
            else:
                yield row_number, cells[:width]
