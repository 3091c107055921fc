"""CSV and XLSX exports: one row per contact, headers that are import mapping targets.

Headers are the import's mapping targets (``given_name``, ``emails[0].address``,
``custom_fields.<key>``, ``organization.name`` …, see rapport/ingest/mapping.py), so a
Rapport export imports back with the identity mapping. A few columns are there for
people and are not imported: ``id``, ``display_name``, ``created_at``, ``updated_at``.
Repeated values get as many columns as the contact with the most of them needs; the
primary one comes first (the import makes the first one primary).
"""

from __future__ import annotations

import csv
import re
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from rapport.ingest.exporters import _source as c
from rapport.ingest.exporters._pipeline import written
from rapport.ingest.exporters._source import Chunk, Rows, Shape, chunk_of
from rapport.ingest.exporters.cells import TRIGGERS, formula_escape

_NAMES = ("prefix", "given_name", "middle_name", "family_name", "suffix", "nickname")
_ADDRESS_PARTS = ("street", "locality", "region", "postcode", "country", "label")
_SCALARS_AFTER = (
    "job_title",
    "birthday",
    "time_zone",
    "language",
    "lifecycle_stage",
    "owner",
    "source",
    "notes",
)
# The contact row holds these in the same order, so they are copied as one slice.
assert c.JOB_TITLE + len(_SCALARS_AFTER) == c.NOTES + 1


def headers(shape: Shape) -> list[str]:
    """The header row for ``shape``, in column order."""
    columns = ["id", "display_name", *_NAMES]
    for i in range(shape.emails):
        columns += [f"emails[{i}].address", f"emails[{i}].label"]
    for i in range(shape.phones):
        columns += [f"phones[{i}].number", f"phones[{i}].label"]
    for i in range(shape.addresses):
        columns += [f"addresses[{i}].{part}" for part in _ADDRESS_PARTS]
    for i in range(shape.urls):
        columns += [f"urls[{i}].url", f"urls[{i}].label", f"urls[{i}].kind"]
    columns += ["tags", "organization.name", "affiliation.title", "affiliation.department"]
    columns += _SCALARS_AFTER
    columns += [f"custom_fields.{key}" for key in shape.custom_keys]
    columns += [f"external_id.{source}" for source in shape.external_sources]
    columns += ["created_at", "updated_at"]
    return columns


def custom_text(value: Any) -> str:
    """A custom field value as the import reads it back (see services custom_value)."""
    if value is None:
        return ""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _timestamp(utc: str) -> str:
    """``datetime.isoformat(timespec="seconds")`` of the UTC time ``utc`` (see _source)."""
    return utc[:10] + "T" + utc[11:19] + "+00:00"


_NO_AFFILIATION = ("", "", "")


def rows(shape: Shape, chunk: Chunk) -> list[list[str]]:
    """The cell texts of a chunk's contacts, in the columns of ``headers(shape)``.

    Related rows come from the source primary first, each with the fields the columns
    take first (address, label; number, label; …), so a slice of each is copied.
    """
    blank_emails = [""] * (2 * shape.emails)
    blank_phones = [""] * (2 * shape.phones)
    blank_addresses = [""] * (6 * shape.addresses)
    blank_urls = [""] * (3 * shape.urls)
    custom_keys = shape.custom_keys
    blank_custom = [""] * len(custom_keys)
    sources = shape.external_sources
    blank_sources = [""] * len(sources)
    emails, phones, addresses, urls = chunk.emails, chunk.phones, chunk.addresses, chunk.urls
    external_ids, tags, affiliations = chunk.external_ids, chunk.tags, chunk.affiliations
    out: list[list[str]] = []
    for r in chunk.contacts:
        contact_id = r[0]
        row = [str(contact_id), *r[1:8]]
        items: Any = emails.get(contact_id)
        if items:
            for item in items:
                row += item[:2]
            row += blank_emails[2 * len(items) :]
        else:
            row += blank_emails
        items = phones.get(contact_id)
        if items:
            # With its country code: as typed when it was typed with one, else in E.164
            # form, so "(212) 555-0100" is still a US number wherever the file goes.
            for number, label, e164, extension, _ in items:
                if not number.startswith("+") and e164:
                    number = e164 + " ext. " + extension if extension else e164
                row.append(number)
                row.append(label)
            row += blank_phones[2 * len(items) :]
        else:
            row += blank_phones
        items = addresses.get(contact_id)
        if items:
            for item in items:
                row += item[:6]
            row += blank_addresses[6 * len(items) :]
        else:
            row += blank_addresses
        items = urls.get(contact_id)
        if items:
            for item in items:
                row += item[:3]
            row += blank_urls[3 * len(items) :]
        else:
            row += blank_urls
        items = tags.get(contact_id)
        row.append(", ".join(items) if items else "")
        row += affiliations.get(contact_id, _NO_AFFILIATION)
        row += r[c.JOB_TITLE : c.NOTES + 1]
        if custom_keys:
            custom = c.custom_fields(r[c.CUSTOM_FIELDS])
            if custom:
                row += [custom_text(custom.get(key)) for key in custom_keys]
            else:
                row += blank_custom
        if sources:
            items = external_ids.get(contact_id)
            if items:
                ids = dict(items)
                row += [ids.get(source, "") for source in sources]
            else:
                row += blank_sources
        row.append(_timestamp(r[c.CREATED_AT]))
        row.append(_timestamp(r[c.UPDATED_AT]))
        out.append(row)
    return out


class _Buffer:
    """A file-like sink csv.writer fills and the generator empties after every chunk."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


# Rows are joined with the unit separator to find the cells that need a formula escape
# (see cells.py) and the cells csv.writer would quote (a comma, a quote or a line break)
# with a few searches; the cell is the number of separators before the match. (The
# formula pattern starts with a literal, so the regex engine skips from separator to
# separator; a pattern that may also match at the line's start is several times slower.)
_SEPARATOR = "\x1f"
_FORMULA = re.compile("\x1f(?:[=+\\-@\t\r]|'[=+\\-@\t\r'])").search
_FIRST_FORMULA = "".join(TRIGGERS) + "'"
_QUOTED = (",", '"', "\r", "\n")


def csv_text(rows: Iterable[list[str]]) -> str:
    """``rows`` as csv.writer writes them (minimal quoting, quotes doubled, CRLF after each
    row), with formulas escaped (cells.formula_escape). The cells of ``rows`` change.

    Built without csv.writer, which looks at every character of every cell and took
    longer than reading the contacts; a row with a unit separator in a cell goes through it.
    """
    sep = _SEPARATOR
    lines: list[str] = []
    for row in rows:
        line = sep.join(row)
        if line.count(sep) != len(row) - 1 or not line:  # csv.writer writes "" alone
            lines.append(_written(row))
            continue
        changed = False
        if line[0] in _FIRST_FORMULA:
            row[0] = formula_escape(row[0])
            changed = True
        found = _FORMULA(line)
        while found:
            start = found.start()
            i = line.count(sep, 0, start) + 1
            row[i] = formula_escape(row[i])
            changed = True
            found = _FORMULA(line, start + 1)
        quote: set[int] | None = None
        for char in _QUOTED:
            start = line.find(char)
            while start >= 0:
                if quote is None:
                    quote = set()
                quote.add(line.count(sep, 0, start))
                end = line.find(sep, start)
                start = line.find(char, end) if end >= 0 else -1
        if quote:
            for i in quote:
                row[i] = '"' + row[i].replace('"', '""') + '"'
            changed = True
        lines.append(",".join(row) if changed else line.replace(sep, ","))
    lines.append("")
    return "\r\n".join(lines)


def _written(row: list[str]) -> str:
    for i, cell in enumerate(row):
        if cell and (cell[0] in TRIGGERS or cell[0] == "'"):
            row[i] = formula_escape(cell)
    buffer = _Buffer()
    csv.writer(buffer, lineterminator="\r\n").writerow(row)
    return buffer.take()[:-2]


def csv_stream(shape: Shape, chunks: Iterable[Rows], *, serial_chunks: int) -> Iterator[bytes]:
    """UTF-8 with a byte order mark (so Excel reads accents), CRLF rows, formulas escaped."""
    yield ("\ufeff" + csv_text([headers(shape)])).encode()

    def write(read: Rows) -> bytes:
        return csv_text(rows(shape, chunk_of(read))).encode()

    yield from written(chunks, write, serial_chunks=serial_chunks)


XLSX_CHUNK = 64 * 1024


def xlsx_stream(shape: Shape, chunks: Iterable[Rows]) -> Iterator[bytes]:
    """An XLSX workbook written row by row (openpyxl write-only) to a temporary file, then
    streamed. Every cell is stored as text, so nothing in it can run as a formula and the
    values import back exactly."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Contacts")

    def cells(values: list[str]) -> list[Any]:
        out: list[Any] = []
        for value in values:
            if value and value[0] == "=":
                cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
                cell.data_type = "s"  # text, not a formula
                out.append(cell)
            elif value:
                out.append(ILLEGAL_CHARACTERS_RE.sub("", value))
            else:
                out.append(None)
        return out

    sheet.append(headers(shape))
    for read in chunks:
        for row in rows(shape, chunk_of(read)):
            sheet.append(cells(row))
    with tempfile.TemporaryFile(suffix=".xlsx") as handle:
        workbook.save(handle)
        handle.seek(0)
        while data := handle.read(XLSX_CHUNK):
            yield data
