"""CSV and TSV files: any delimiter, any common encoding, streamed row by row.

The delimiter is sniffed from the first 64 KB (``csv.Sniffer``, checked against how
evenly each of ``, ; TAB |`` splits the sample; an Excel ``sep=;`` first line wins).
The header is the first row unless a few short lines of notes come before it (LinkedIn
puts a paragraph above its header): then the first row as wide as the data is the
header and the lines above it are skipped, with a note.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from rapport.ingest.exporters.cells import formula_unescape
from rapport.ingest.parsers import (
    HEAD_BYTES,
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    Table,
    UnreadableFile,
    unique_headers,
)
from rapport.ingest.parsers.encoding import (
    LineTooLong,
    bounded_lines,
    choose,
    open_text,
    refuse_binary,
)
from rapport.ingest.parsers.header import find_header, preview, typical_width

DELIMITERS = (",", ";", "\t", "|")
# A physical line may hold many cells, but one longer than this is not a contact list.
MAX_LINE_CHARS = 2 * MAX_CELL_CHARS
# A quoted cell spanning more lines than this almost always means a missing closing quote.
MAX_LINES_PER_ROW = 1_000
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
_SEP_LINE = re.compile(r"^sep=(.)\r?\n?$", re.IGNORECASE)


class CsvParser:
    """Delimited text files. Accepts anything the other parsers did not claim."""

    file_format = "csv"

    def accepts(self, *, file_name: str, head: bytes) -> bool:
        return True

    def open(self, path: Path, *, encoding: str | None = None) -> Table:
        """Detect encoding, delimiter and header row; rows are read when iterated."""
        chosen = choose(path, encoding)
        lines, complete = _read_sample(path, chosen.name)
        refuse_binary("".join(lines))
        skip_lines = 0
        delimiter = ""
        if lines and (found := _SEP_LINE.match(lines[0])):
            delimiter, skip_lines = found.group(1), 1
        sample = lines[skip_lines:]
        if not delimiter:
            delimiter = _pick_delimiter(sample, complete=complete, tab_first=path.suffix == ".tsv")
        records = _sample_records(sample, delimiter, complete=complete)
        header_index = find_header(records)
        raw_header = records[header_index]
        if len(raw_header) > MAX_COLUMNS:
            raise UnreadableFile(
                f"The file has {len(raw_header):,} columns; at most {MAX_COLUMNS:,} can be imported."
            )
        width = typical_width(raw_header, records[header_index + 1 :])
        headers = unique_headers((raw_header + [""] * width)[:width])
        table = Table(
            file_format="csv",
            headers=headers,
            rows=iter(()),
            encoding=chosen.name,
            delimiter=delimiter,
            header_row=header_index + 1,
        )
        table.add_note(chosen.note)
        table.add_note(f"Columns separated by {_DELIMITER_NAMES.get(delimiter, repr(delimiter))}.")
        if header_index:
            table.add_note(
                f"Rows 1–{header_index} come before the header and were skipped "
                f"(they start: “{preview(records[:header_index])}”)."
            )
        table.rows = _rows(
            table,
            path,
            chosen.name,
            delimiter,
            skip_lines=skip_lines,
            skip_records=header_index + 1,
        )
        return table


def _read_sample(path: Path, encoding: str) -> tuple[list[str], bool]:
    """Whole lines from the start of the file, about ``HEAD_BYTES`` characters of them."""
    lines: list[str] = []
    size = 0
    with open_text(path, encoding) as text:
        try:
            for line in bounded_lines(text, limit=MAX_LINE_CHARS, path=path, encoding=encoding):
                lines.append(line)
                size += len(line)
                if size >= HEAD_BYTES and len(lines) > 1:
                    return lines, False
        except LineTooLong as exc:
            raise _too_long(exc, delimiters=DELIMITERS) from None
    return lines, True


def _records(lines: list[str], delimiter: str) -> list[list[str]]:
    csv.field_size_limit(MAX_CELL_CHARS)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        return list(reader)
    except csv.Error as exc:
        raise _csv_error(exc, reader.line_num) from None


def _sample_records(lines: list[str], delimiter: str, *, complete: bool) -> list[list[str]]:
    records = _records(lines, delimiter)
    if not complete and len(records) > 1:
        records.pop()  # may be cut in the middle of a quoted cell
    if not any(any(cell.strip() for cell in record) for record in records):
        raise UnreadableFile("The file holds no text, only empty lines or spaces.")
    return records


def _consistency(lines: list[str], delimiter: str, *, complete: bool) -> tuple[int, float]:
    """The most common row width with this delimiter, and the share of rows that have it."""
    try:
        records = _records(lines, delimiter)
    except UnreadableFile:
        return 0, 0.0
    if not complete and len(records) > 1:
        records.pop()
    widths = Counter(len(r) for r in records if any(cell.strip() for cell in r))
    if not widths:
        return 0, 0.0
    width, count = max(widths.items(), key=lambda item: (item[1], item[0]))
    return width, count / sum(widths.values())


def _pick_delimiter(lines: list[str], *, complete: bool, tab_first: bool) -> str:
    scores = {d: _consistency(lines, d, complete=complete) for d in DELIMITERS}
    if tab_first and scores["\t"][0] > 1:
        return "\t"
    try:
        sniffed = csv.Sniffer().sniff("".join(lines), delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = ""
    if sniffed in scores and scores[sniffed][0] > 1 and scores[sniffed][1] >= 0.9:
        return sniffed
    best = max(DELIMITERS, key=lambda d: (scores[d][0] > 1, scores[d][1], scores[d][0]))
    return best if scores[best][0] > 1 else ","


def _csv_error(exc: csv.Error, line: int) -> UnreadableFile:
    if "field larger than field limit" in str(exc):
        return UnreadableFile(
            f"line {line:,}: a cell is longer than {MAX_CELL_CHARS:,} characters."
        )
    return UnreadableFile(f"line {line:,}: the row cannot be read as CSV ({exc}).")


def _too_long(exc: LineTooLong, *, delimiters: tuple[str, ...]) -> UnreadableFile:
    start = exc.start
    longest = min(max(len(part) for part in start.split(d)) for d in delimiters)
    if longest > MAX_CELL_CHARS:
        return UnreadableFile(
            f"line {exc.number:,}: a cell is longer than {MAX_CELL_CHARS:,} characters."
        )
    return UnreadableFile(
        f"line {exc.number:,}: the line is longer than {MAX_LINE_CHARS:,} characters."
    )


def _rows(
    table: Table,
    path: Path,
    encoding: str,
    delimiter: str,
    *,
    skip_lines: int,
    skip_records: int,
) -> Iterator[tuple[int, list[str] | None]]:
    width = len(table.headers)
    padding = [""] * width
    csv.field_size_limit(MAX_CELL_CHARS)
    with open_text(path, encoding) as text:
        lines = bounded_lines(text, limit=MAX_LINE_CHARS, path=path, encoding=encoding)
        for _ in range(skip_lines):
            next(lines, None)
        reader = csv.reader(lines, delimiter=delimiter)
        row_number = 0
        try:
            for _ in range(skip_records):
                next(reader, None)
            row_number = skip_records
            line = reader.line_num
            for cells in reader:
                row_number += 1
                if reader.line_num - line > MAX_LINES_PER_ROW:
                    raise UnreadableFile(
                        f"line {line + 1:,}: a quoted cell runs over more than "
                        f"{MAX_LINES_PER_ROW:,} lines; is a closing quote missing?"
                    )
                line = reader.line_num
                if not any(cells):
                    continue
                # Undo the apostrophe exports put before formula-like cells ('+1 415 …);
                # one joined search is far cheaper than looking at every cell of every row.
                if "\x00'" in "\x00" + "\x00".join(cells):
                    cells = [formula_unescape(c) if c[:1] == "'" else c for c in cells]
                count = len(cells)
                if count == width:
                    yield row_number, cells
                elif count < width:
                    yield row_number, cells + padding[count:]
                elif any(cells[width:]):
                    table.row_problems[row_number] = (
                        f"Row {row_number:,} has {count:,} cells but the header has {width:,}; "
                        "a delimiter or quote may be out of place."
                    )
                    yield row_number, None
                else:
                    yield row_number, cells[:width]
        except csv.Error as exc:
            raise _csv_error(exc, reader.line_num) from None
        except LineTooLong as exc:
            raise _too_long(exc, delimiters=(delimiter,)) from None
