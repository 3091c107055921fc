"""Excel workbooks (.xlsx): the first worksheet, streamed with openpyxl's read-only mode.

Reading stays in bounded memory whatever the file holds:

- Before anything is unpacked, the zip directory is checked: a workbook that would
  unpack to more than ``MAX_UNCOMPRESSED`` bytes, a part that compresses better than
  ``MAX_RATIO`` to one, or a part read whole (styles, the workbook's own list of
  sheets…) larger than ``MAX_PART`` is refused as a likely zip bomb, naming the part
  and the reason. The sizes the directory declares are binding: ``zipfile`` never
  unpacks more than them, and a part that claims less than it holds fails its checksum.
- The worksheet is streamed row by row (openpyxl's read-only mode).
- The shared strings (the text of every cell, kept once) are not held in memory as
  openpyxl would: a streaming XML parser writes them to a temporary file and keeps
  only their offsets, and refuses a single text of more than ``MAX_CELL_CHARS``.

Cells become text the way a
person reads them in Excel: dates as ISO dates, whole numbers without ".0" (so a phone
number typed as a number keeps its digits), numbers formatted with leading zeros
("00000" for postcodes) keep them, formulas give their last computed value.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import warnings
import zipfile
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, overload
from xml.parsers import expat

from rapport.ingest.parsers import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    Table,
    UnreadableFile,
    unique_headers,
)
from rapport.ingest.parsers.header import (
    MAX_PREAMBLE_ROWS,
    filled_width,
    find_header,
    preview,
    typical_width,
)

MAX_UNCOMPRESSED = 1024**3
# Spreadsheet XML compresses 5 to 30 times; far more is a bomb, not a list of contacts.
MAX_RATIO = 100
MAX_MEMBERS = 10_000
# Parts read whole into memory (everything but worksheets and shared strings, which
# are streamed): a contact list's styles and workbook part weigh a few hundred KB.
MAX_PART = 32 * 1024**2
_STREAMED = re.compile(r"^xl/(worksheets/[^/]+\.xml|sharedStrings\.xml)$", re.IGNORECASE)
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
                    f"A part of the workbook ({member.filename}) unpacks to "
                    f"{_size(member.file_size)}, {ratio:,.0f} times its compressed size (at "
                    f"most {MAX_RATIO} allowed); refused as a possible zip bomb."
                )
            if member.file_size > MAX_PART and not _STREAMED.match(member.filename):
                raise UnreadableFile(
                    f"A part of the workbook ({member.filename}) unpacks to "
                    f"{_size(member.file_size)}; at most {_size(MAX_PART)} is allowed for it; "
                    "refused as a possible zip bomb."
                )
        names = {member.filename for member in members}
        if "xl/workbook.xml" not in names:
            if "mimetype" in names and b"opendocument" in archive.read("mimetype")[:200]:
                raise UnreadableFile(
                    "This is an OpenDocument file; save it as .xlsx or CSV and import that."
                )
            raise UnreadableFile("The file is a zip archive but not an Excel workbook (.xlsx).")


def _size(count: int) -> str:
    if count >= 1024**3:
        return f"{count / 1024**3:,.1f} GB"
    if count >= 1024**2:
        return f"{count / 1024**2:,.1f} MB"
    return f"{count / 1024:,.1f} KB"


class SharedStrings(Sequence[str]):
    """A workbook's shared strings in a temporary file, read back one at a time.

    Memory: 8 bytes per string (its offset), whatever their length. Built by a
    streaming parser (expat), which also refuses a string over ``MAX_CELL_CHARS``.
    """

    def __init__(self, source: IO[bytes]) -> None:
        self.file = tempfile.TemporaryFile(prefix="rapport-xlsx-strings-")  # noqa: SIM115  (closed by close())
        self.offsets = array("Q", [0])
        try:
            self._read(source)
        except BaseException:
            self.file.close()
            raise

    def _read(self, source: IO[bytes]) -> None:
        parts: list[str] = []
        size = 0
        depth = {"si": 0, "t": 0, "rPh": 0}
        file, offsets = self.file, self.offsets
        position = 0

        def start(name: str, _attrs: Any) -> None:
            local = name.rpartition("}")[2]
            if local in depth:
                depth[local] += 1

        def end(name: str) -> None:
            nonlocal size, position
            local = name.rpartition("}")[2]
            if local in depth:
                depth[local] -= 1
            if local == "si" and not depth["si"]:
                data = "".join(parts).replace("_x005F_", "_").encode("utf-8", "surrogatepass")
                file.write(data)
                position += len(data)
                offsets.append(position)
                parts.clear()
                size = 0

        def text(data: str) -> None:
            nonlocal size
            # Phonetic runs (rPh) are reading aids, not the cell's text (as openpyxl).
            if depth["si"] and depth["t"] and not depth["rPh"]:
                size += len(data)
                if size > MAX_CELL_CHARS:
                    raise UnreadableFile(
                        f"A cell of the workbook holds more than {MAX_CELL_CHARS:,} "
                        "characters; refused."
                    )
                parts.append(data)

        parser = expat.ParserCreate(namespace_separator="}")
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = text
        parser.buffer_text = True
        try:
            while chunk := source.read(1024 * 1024):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise UnreadableFile(
                f"The workbook's shared strings could not be read ({exc})."
            ) from None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        start, end = self.offsets[index], self.offsets[index + 1]
        self.file.seek(start)
        return self.file.read(end - start).decode("utf-8", "surrogatepass")

    def close(self) -> None:
        self.file.close()


def _load_workbook(path: Path) -> Any:
    """openpyxl's read-only workbook, with the shared strings in a ``SharedStrings``."""
    from openpyxl.reader.excel import SHARED_STRINGS, ExcelReader

    class Reader(ExcelReader):  # type: ignore[misc]
        def read_strings(self) -> None:
            part = self.package.find(SHARED_STRINGS)
            if part is not None:
                with self.archive.open(part.PartName[1:]) as source:
                    self.shared_strings = SharedStrings(source)

    reader = Reader(path, read_only=True, data_only=True, keep_links=False)
    reader.read()
    reader.wb._rapport_strings = reader.shared_strings
    return reader.wb


@contextmanager
def _workbook(path: Path) -> Iterator[tuple[Any, Any]]:
    """The workbook opened read-only, and its first worksheet; errors become UnreadableFile."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = _load_workbook(path)
    except UnreadableFile:
        raise
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        cause = exc.__cause__ if isinstance(exc.__cause__, UnreadableFile) else None
        if cause is not None:
            raise cause from None
        raise UnreadableFile(f"The workbook could not be read ({_reason(exc)}).") from None
    try:
        if not workbook.worksheets:
            raise UnreadableFile("The workbook has no worksheet.")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # a stale size would pad every row to it
        yield workbook, sheet
    finally:
        workbook.close()
        strings = getattr(workbook, "_rapport_strings", None)
        if isinstance(strings, SharedStrings):
            strings.close()


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
