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
import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from rapport.ingest.exporters._source import ContactRecord, Shape
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


def _primary_first(items: list[Any]) -> list[Any]:
    """The primary value first, the others in their order (primary is the last field)."""
    if not items or items[0][-1]:
        return items
    return sorted(items, key=lambda item: not item[-1])


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


class RowBuilder:
    """Turns ContactRecords into lists of cell texts for one Shape, with no per-row lookups."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.blank_emails = [""] * (2 * shape.emails)
        self.blank_phones = [""] * (2 * shape.phones)
        self.blank_addresses = [""] * (6 * shape.addresses)
        self.blank_urls = [""] * (3 * shape.urls)

    def row(self, r: ContactRecord) -> list[str]:
        shape = self.shape
        row = [
            str(r.id),
            r.display_name,
            r.prefix,
            r.given_name,
            r.middle_name,
            r.family_name,
            r.suffix,
            r.nickname,
        ]
        for address, label, _ in _primary_first(r.emails):
            row += (address, label)
        row += self.blank_emails[2 * len(r.emails) :]
        for number, _e164, _ext, label, _ in _primary_first(r.phones):
            row += (number, label)
        row += self.blank_phones[2 * len(r.phones) :]
        for street, locality, region, postcode, country, label, _ in _primary_first(r.addresses):
            row += (street, locality, region, postcode, country, label)
        row += self.blank_addresses[6 * len(r.addresses) :]
        for url, kind, label, _ in _primary_first(r.urls):
            row += (url, label, kind)
        row += self.blank_urls[3 * len(r.urls) :]
        row.append(", ".join(r.tags))
        row += r.affiliation or ("", "", "")
        row += (
            r.job_title,
            r.birthday.isoformat() if r.birthday else "",
            r.time_zone,
            r.language,
            r.lifecycle_stage,
            r.owner or "",
            r.source,
            r.notes,
        )
        if shape.custom_keys:
            custom = r.custom_fields or {}
            row += [custom_text(custom.get(key)) for key in shape.custom_keys]
        if shape.external_sources:
            ids = dict(r.external_ids)
            row += [ids.get(source, "") for source in shape.external_sources]
        row += (_timestamp(r.created_at), _timestamp(r.updated_at))
        return row


def _timestamp(value: dt.datetime) -> str:
    return value.isoformat(timespec="seconds")


class _Buffer:
    """A file-like sink csv.writer fills and the generator empties after every chunk."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def take(self) -> bytes:
        data = "".join(self.parts).encode()
        self.parts.clear()
        return data


def csv_stream(shape: Shape, chunks: Iterable[list[ContactRecord]]) -> Iterator[bytes]:
    """UTF-8 with a byte order mark (so Excel reads accents), CRLF rows, formulas escaped."""
    builder = RowBuilder(shape)
    buffer = _Buffer()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers(shape))
    yield "\ufeff".encode() + buffer.take()
    triggers = TRIGGERS
    for records in chunks:
        rows = []
        for record in records:
            row = builder.row(record)
            for i, cell in enumerate(row):
                if cell and (cell[0] in triggers or cell[0] == "'"):
                    row[i] = formula_escape(cell)
            rows.append(row)
        writer.writerows(rows)
        yield buffer.take()


XLSX_CHUNK = 64 * 1024


def xlsx_stream(shape: Shape, chunks: Iterable[list[ContactRecord]]) -> Iterator[bytes]:
    """An XLSX workbook written row by row (openpyxl write-only) to a temporary file, then
    streamed. Every cell is stored as text, so nothing in it can run as a formula and the
    values import back exactly."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Contacts")
    builder = RowBuilder(shape)

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
    for records in chunks:
        for record in records:
            sheet.append(cells(builder.row(record)))
    with tempfile.TemporaryFile(suffix=".xlsx") as handle:
        workbook.save(handle)
        handle.seek(0)
        while data := handle.read(XLSX_CHUNK):
            yield data
