"""Exports of organizations: CSV, XLSX and JSON, read a chunk at a time.

``organizations_export`` is the one entry point the organization list (its Export menu
and "export selected"), the API and the CLI call. It checks the policy, picks the
organizations exactly as the organization list would (search, filters, or a selection
of ids) and returns an ``Export`` whose ``chunks`` yield the file's bytes lazily.

One row per organization. Repeated values (phones, addresses) get as many columns as the
organization with the most of them needs, primary first; domains and tags are joined
with ", ". Besides its own fields a row carries ``parent.name`` and ``people``, the count
of current affiliations. Cells that a spreadsheet would run as formulas are escaped as
in the contact export (cells.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, QuerySet
from django.utils import timezone

from rapport.contacts.api._out import organization_out
from rapport.contacts.models import (
    Address,
    Affiliation,
    CustomFieldDefinition,
    Organization,
    Phone,
)
from rapport.contacts.selectors import OrganizationFilters, organizations_matching
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.ingest.exporters._source import CHUNK_SIZE, MAX_SELECTION, id_chunks
from rapport.ingest.exporters.cells import formula_escape
from rapport.ingest.exporters.tabular import XLSX_CHUNK, custom_text

ORGANIZATION_FORMATS = ("csv", "xlsx", "json")

_SCALARS = ("name", "legal_name", "industry", "size_band", "website")
_ADDRESS_PARTS = ("street", "locality", "region", "postcode", "country", "label")


@dataclass(frozen=True)
class _Shape:
    phones: int
    addresses: int
    custom_keys: list[str]


def organizations_export(
    *,
    actor: Any,
    file_format: str,
    q: str = "",
    filters: OrganizationFilters | None = None,
    ids: Sequence[int] | None = None,
    chunk_size: int = CHUNK_SIZE,
    now: dt.datetime | None = None,
) -> Any:
    """Export the organizations the list shows for ``q`` and ``filters`` (or ``ids``).

    Raises NotPermitted unless the actor may export organizations, InvalidInput for an
    unknown format, a bad filter or too large a selection.
    """
    from rapport.ingest.exporters import FORMATS, Export, started  # the package imports this

    policy.require(actor, "organizations.export")
    if file_format not in ORGANIZATION_FORMATS:
        raise InvalidInput.single("format", f"Must be one of: {', '.join(ORGANIZATION_FORMATS)}.")
    if ids is not None and len(ids) > MAX_SELECTION:
        raise InvalidInput.single(
            "ids", f"Select at most {MAX_SELECTION:,} organizations, or export a filtered list."
        )
    qs = organizations_matching(actor=actor, q=q, filters=filters)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    spec = FORMATS[file_format]
    stamp = timezone.localtime(now or timezone.now()).strftime("%Y%m%d-%H%M")
    filename = f"organizations-{stamp}.{spec.extension}"
    data: Iterator[bytes]
    if file_format == "json":
        data = _json_stream(qs, chunk_size)
    else:
        shape = _shape(qs)
        rows = _rows(qs, shape, chunk_size)
        data = _csv_stream(shape, rows) if file_format == "csv" else _xlsx_stream(shape, rows)
    return Export(file_format, filename, spec.content_type, started(data))


def _shape(qs: QuerySet[Organization]) -> _Shape:
    """How many phone and address columns the widest organization of ``qs`` needs."""
    ids = qs.values("pk")

    def widest(model: Any) -> int:
        counts = (
            model.objects.filter(organization__in=ids)
            .values("organization")
            .annotate(n=Count("pk"))
            .order_by("-n")
            .values_list("n", flat=True)[:1]
        )
        return next(iter(counts), 0)

    keys = CustomFieldDefinition.objects.filter(target="organization").values_list("key", flat=True)
    return _Shape(widest(Phone), widest(Address), sorted(keys))


def _headers(shape: _Shape) -> list[str]:
    columns = ["id", *_SCALARS, "domains"]
    for i in range(shape.phones):
        columns += [f"phones[{i}].number", f"phones[{i}].label"]
    for i in range(shape.addresses):
        columns += [f"addresses[{i}].{part}" for part in _ADDRESS_PARTS]
    columns += ["parent.name", "owner", "tags", "people", "notes"]
    columns += [f"custom_fields.{key}" for key in shape.custom_keys]
    columns += ["created_at", "updated_at"]
    return columns


def _batch(qs: QuerySet[Organization], size: int) -> Iterator[list[Organization]]:
    """The organizations of ``qs`` in id order with their related rows, ``size`` at a
    time; each carries ``people``, its count of current affiliations."""
    for ids in id_chunks(qs, size=size):  # type: ignore[arg-type]  # any model's ids
        people = dict(
            Affiliation.objects.filter(organization_id__in=ids, is_current=True)
            .values("organization")
            .annotate(n=Count("pk"))
            .values_list("organization", "n")
        )
        batch = list(
            Organization.objects.filter(pk__in=ids)
            .order_by("pk")
            .select_related("owner", "parent")
            .prefetch_related("tags", "phones", "addresses")
        )
        for org in batch:
            org.people = people.get(org.pk, 0)  # type: ignore[attr-defined]
        yield batch


def _points(items: list[Any], width: int, parts: Sequence[str]) -> list[str]:
    ordered = sorted(items, key=lambda item: (not item.primary, item.pk))
    cells: list[str] = []
    for i in range(width):
        item = ordered[i] if i < len(ordered) else None
        cells += [str(getattr(item, part) or "") if item else "" for part in parts]
    return cells


def _row(org: Organization, shape: _Shape) -> list[str]:
    row = [str(org.pk), *(str(getattr(org, name) or "") for name in _SCALARS)]
    row.append(", ".join(org.domains))
    row += _points(list(org.phones.all()), shape.phones, ("number", "label"))
    row += _points(list(org.addresses.all()), shape.addresses, _ADDRESS_PARTS)
    row += [
        org.parent.name if org.parent else "",
        org.owner.username if org.owner else "",
        ", ".join(sorted(t.name for t in org.tags.all())),
        str(org.people),  # type: ignore[attr-defined]  # set in _batch
        org.notes,
    ]
    row += [custom_text(org.custom_fields.get(key)) for key in shape.custom_keys]
    row += [
        org.created_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        org.updated_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
    ]
    return row


def _rows(qs: QuerySet[Organization], shape: _Shape, size: int) -> Iterator[list[list[str]]]:
    for batch in _batch(qs, size):
        yield [_row(org, shape) for org in batch]


class _Line:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> bytes:
        data = "".join(self.parts).encode()
        self.parts.clear()
        return data


def _csv_stream(shape: _Shape, chunks: Iterator[list[list[str]]]) -> Iterator[bytes]:
    """UTF-8 with a byte order mark (so Excel reads accents), CRLF rows, formulas escaped."""
    buffer = _Line()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(_headers(shape))
    yield buffer.take()
    for chunk in chunks:
        writer.writerows([[formula_escape(cell) for cell in row] for row in chunk])
        yield buffer.take()


def _xlsx_stream(shape: _Shape, chunks: Iterator[list[list[str]]]) -> Iterator[bytes]:
    """A workbook written row by row (openpyxl write-only); every cell is text."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Organizations")

    def cell(value: str) -> Any:
        if not value:
            return None
        written = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        written.data_type = "s"  # text, never a formula or a number
        return written

    sheet.append(_headers(shape))
    for chunk in chunks:
        for row in chunk:
            sheet.append([cell(value) for value in row])
    with tempfile.TemporaryFile(suffix=".xlsx") as handle:
        workbook.save(handle)
        handle.seek(0)
        while data := handle.read(XLSX_CHUNK):
            yield data


def _json_stream(qs: QuerySet[Organization], size: int) -> Iterator[bytes]:
    """A JSON array of the organizations as GET /organizations/{id} shows them."""
    encoder = DjangoJSONEncoder(ensure_ascii=False)
    batches = _batch(qs, size)
    first_batch = next(batches, None)  # read before "[" so a failing query fails the request
    yield b"["
    first = True
    for batch in itertools.chain([first_batch] if first_batch else [], batches):
        text = ",\n".join(encoder.encode(organization_out(org)) for org in batch)
        yield (("\n" if first else ",\n") + text).encode()
        first = False
    yield b"\n]\n"
