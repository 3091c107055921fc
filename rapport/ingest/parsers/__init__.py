"""Importers are plugins behind one small interface: a file in, a table of text out.

Each parser turns a file into a ``Table``: the detected encoding (and delimiter), the
column headers, and a streaming iterator of rows, each a list of cell texts numbered
as a person would count them in the file (the header is row 1 in a spreadsheet). The
import engine maps columns to contact fields; parsers know nothing about contacts.

vCard files have no columns of their own: their parser emits one column per target
field path (``given_name``, ``emails[0].address``, …) so the mapping is the identity.

The contract the import engine relies on:

- ``detect(path, file_name, encoding=None)`` picks the parser (by the file's first
  bytes, then its name) and returns a ``Table``, or raises ``UnreadableFile`` whose
  message can be shown as it is: the file is empty, binary, too wide, a zip bomb, in an
  encoding that does not exist… ``encoding`` overrides the detected text encoding (an
  unknown name is an ``UnreadableFile`` too). ``Table.encoding`` always names the
  encoding used, in a form ``encoding=`` accepts back.
- ``Table.rows`` yields ``(row_number, cells)`` lazily, reading the file as it goes in
  constant memory; each call of ``detect`` gives a fresh table to read once. ``cells``
  has exactly ``len(headers)`` strings; rows with no text at all are left out.
- ``cells is None`` marks a row that could not be read (a vCard with broken structure,
  a CSV row with more cells than the header). The reason is in
  ``Table.row_problems[row_number]``, set just before the row is yielded; the engine
  reports the row as failed (``take_problem`` pops the reason) and goes on.
- Reading rows may still raise ``UnreadableFile`` for a fault found late (a byte that
  is not valid in the encoding on line 80,412; a cell over the size limit): the file as
  a whole cannot be imported, and the message names the line.
- ``Table.notes`` are remarks for the import log: what was detected and how (encoding,
  delimiter, skipped lines before the header, which worksheet), and things left out of
  single rows (a birthday without a year). Parsers add to them while rows are read, so
  read them again after the last row. Their number is capped.

vCard tables also carry a ``photo`` column holding an embedded photo as a ``data:`` URI
(``data:image/jpeg;base64,…``). It is not a mapping target: the engine may hand it to
the contact photo service, or leave it.

Row numbers: CSV and XLSX count records as a spreadsheet shows them — the first line is
row 1, a quoted cell holding line breaks is still one row, blank lines count — so the
header is row 1 and the first data row is row 2 (or later when a preamble comes first,
see ``Table.header_row``). vCard rows are the card's position in the file: the first
card is row 1; messages about a card also name the line where it starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

# Guard rails shared by the parsers: a file that breaks one is refused as a whole.
MAX_CELL_CHARS = 1_000_000
MAX_COLUMNS = 2_000
MAX_NOTES = 100
HEAD_BYTES = 64 * 1024


class UnreadableFile(Exception):
    """The file cannot be imported; the message says why in terms a person understands."""


@dataclass
class Table:
    """A parsed file: what was detected, the headers, and the rows (read lazily, once)."""

    file_format: str
    headers: list[str]
    rows: Iterator[tuple[int, list[str] | None]]
    encoding: str = ""
    delimiter: str = ""
    identity_mapping: bool = False
    notes: list[str] = field(default_factory=list)
    header_row: int = 1
    row_problems: dict[int, str] = field(default_factory=dict)
    notes_left_out: int = 0

    def add_note(self, text: str) -> None:
        """Record a remark for the log; past ``MAX_NOTES`` only their number is kept."""
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)
            return
        self.notes_left_out += 1
        summary = f"… and {self.notes_left_out:,} more remarks like these."
        if self.notes[-1].startswith("… and "):
            self.notes[-1] = summary
        else:
            self.notes.append(summary)

    def take_problem(self, row_number: int) -> str:
        """Why row ``row_number`` (yielded with ``cells=None``) could not be read."""
        return self.row_problems.pop(row_number, "This row could not be read.")


class Parser(Protocol):
    """What every file format provides."""

    file_format: str

    def accepts(self, *, file_name: str, head: bytes) -> bool:
        """True when this parser reads files that start with ``head``."""

    def open(self, path: Path, *, encoding: str | None = None) -> Table:
        """Parse the file; raise UnreadableFile with a clear reason when it cannot be read."""


def unique_headers(raw: list[str]) -> list[str]:
    """Headers stripped, blanks named by position, repeats numbered: "Notes", "Notes (2)"."""
    headers: list[str] = []
    seen: set[str] = set()
    for index, value in enumerate(raw):
        name = " ".join((value or "").split()) or f"Column {index + 1}"
        candidate, n = name, 1
        while candidate.casefold() in seen:
            n += 1
            candidate = f"{name} ({n})"
        seen.add(candidate.casefold())
        headers.append(candidate)
    return headers


from rapport.ingest.parsers.csv_parser import CsvParser  # noqa: E402
from rapport.ingest.parsers.vcard_parser import VCardParser  # noqa: E402
from rapport.ingest.parsers.xlsx_parser import XlsxParser  # noqa: E402

# Asked in order; the first that accepts the file reads it. CSV takes anything left.
PARSERS: list[Parser] = [XlsxParser(), VCardParser(), CsvParser()]


def register(parser: Parser) -> None:
    """Add a file format; it is asked before the built-in CSV fallback."""
    PARSERS.insert(len(PARSERS) - 1, parser)


def detect(path: Path | str, file_name: str, encoding: str | None = None) -> Table:
    """Open ``path`` with the parser for its format; see the module docstring for the contract.

    Raises ``UnreadableFile`` for an empty or unreadable file.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError as exc:
        raise UnreadableFile(f"The file could not be opened ({exc.strerror}).") from None
    if not head:
        raise UnreadableFile("The file is empty.")
    for parser in PARSERS:
        if parser.accepts(file_name=file_name, head=head):
            return parser.open(path, encoding=encoding)
    raise UnreadableFile("This kind of file cannot be imported; use CSV, XLSX or vCard.")


__all__ = [
    "MAX_CELL_CHARS",
    "MAX_COLUMNS",
    "PARSERS",
    "Parser",
    "Table",
    "UnreadableFile",
    "detect",
    "register",
    "unique_headers",
]
