"""Exports of contacts (CSV, XLSX, vCard 4.0 and 3.0, JSON) and of organizations (CSV,
XLSX, JSON; organizations.py); streamed, constant memory.

``contacts_export`` is the one entry point the UI, the API and the CLI call. It checks
the policy, picks the contacts exactly as the contact list would (search, filters, or
an explicit selection of ids), and returns an ``Export`` whose ``chunks`` yield the
file's bytes as the contacts are read, a chunk of rows at a time. See docs/export.md.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.utils import timezone

from rapport.contacts.api._out import contact_out
from rapport.contacts.models import Contact, CustomFieldDefinition
from rapport.contacts.selectors import ContactFilters, contact_prefetch
from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput
from rapport.ingest.exporters._pipeline import SERIAL_CHUNKS
from rapport.ingest.exporters._source import (
    CHUNK_SIZE,
    MAX_SELECTION,
    chunks,
    contacts_matching,
    export_shape,
    id_chunks,
)
from rapport.ingest.exporters.tabular import csv_stream, xlsx_stream
from rapport.ingest.exporters.vcard import vcard_stream

__all__ = [
    "FORMATS",
    "ORGANIZATION_FORMATS",
    "Export",
    "contacts_export",
    "organizations_export",
]


@dataclass(frozen=True)
class Format:
    name: str
    label: str
    extension: str
    content_type: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("csv", "CSV (Excel, Google Sheets)", "csv", "text/csv; charset=utf-8"),
        Format(
            "xlsx",
            "Excel workbook",
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        Format("vcf", "vCard 4.0", "vcf", "text/vcard; charset=utf-8"),
        Format(
            "vcf3", "vCard 3.0 (older phones and address books)", "vcf", "text/vcard; charset=utf-8"
        ),
        Format("json", "JSON (the API's representation)", "json", "application/json"),
    )
}


@dataclass
class Export:
    """A file being exported: what to call it, its media type, and its bytes, lazily."""

    file_format: str
    filename: str
    content_type: str
    chunks: Iterator[bytes]


def _json_stream(qs: QuerySet[Contact] | list[int], size: int) -> Iterator[bytes]:
    encoder = DjangoJSONEncoder(ensure_ascii=False)
    id_lists = id_chunks(qs, size=size)
    # The first ids are read before the opening bracket, so a failing query fails the
    # request (see started) rather than cutting the file short after "[".
    first_ids = next(id_lists, None)
    yield b"["
    first = True
    for ids in itertools.chain([first_ids] if first_ids else [], id_lists):
        contacts = contact_prefetch(Contact.objects.filter(pk__in=ids).order_by("pk"))
        parts = [encoder.encode(contact_out(c)) for c in contacts]
        text = ",\n".join(parts)
        yield (("\n" if first else ",\n") + text).encode()
        first = False
    yield b"\n]\n"


def contacts_export(
    *,
    actor: Any,
    file_format: str,
    q: str = "",
    filters: ContactFilters | None = None,
    ids: Sequence[int] | None = None,
    chunk_size: int = CHUNK_SIZE,
    now: dt.datetime | None = None,
    serial_chunks: int = SERIAL_CHUNKS,
    purpose: str = "",
    channel: str = "email",
    base: QuerySet[Contact] | None = None,
) -> Export:
    """Export the contacts the list shows for ``q`` and ``filters`` (and ``ids``, when given),
    or those of ``base`` (a segment's members, selected by a higher area).
    With ``purpose`` (an export made for a campaign) whoever may not be contacted for it
    on ``channel`` now is left out (the contact gate's bulk form, ``core.audiences``).

    Raises NotPermitted unless the actor may export contacts, InvalidInput for an unknown
    format, a bad filter or too large a selection. Nothing is read until ``chunks`` is
    iterated, except the few grouped queries that size the CSV/XLSX columns (and, for a
    campaign, the ids of the contacts it lets through, read in one pass). CSV and vCard
    chunks after the first ``serial_chunks`` are written by a second process while the
    next is read (see _pipeline.py).
    """
    policy.require(actor, "contacts.export")
    spec = FORMATS.get(file_format)
    if spec is None:
        raise InvalidInput.single("format", f"Must be one of: {', '.join(FORMATS)}.")
    if ids is not None and len(ids) > MAX_SELECTION:
        raise InvalidInput.single(
            "ids", f"Select at most {MAX_SELECTION:,} contacts, or export a filtered list."
        )
    _check_times(filters)
    qs = base if base is not None else contacts_matching(q=q, filters=filters, ids=ids)
    source: QuerySet[Contact] | list[int] = qs
    audience: QuerySet[Contact] | None = None
    if purpose:
        from rapport.core.audiences import audience_filter

        audience = audience_filter(qs, purpose=purpose, channel=channel, at=now or timezone.now())
        # The gate's bulk filter costs about the same however few rows are asked for
        # (several anti-joins and lookups): read its ids once, in one pass, rather than
        # once per chunk; the chunks then read their rows by those ids.
        source = list(audience.order_by("pk").values_list("pk", flat=True))
    stamp = timezone.localtime(now or timezone.now()).strftime("%Y%m%d-%H%M")
    filename = f"contacts-{stamp}.{spec.extension}"
    data: Iterator[bytes]
    if file_format in ("csv", "xlsx"):
        keys = CustomFieldDefinition.objects.filter(target="contact").values_list("key", flat=True)
        shape = export_shape(
            qs,
            list(keys),
            audience=audience,
            audience_ids=source if audience is not None else (),
        )
        read = chunks(source, size=chunk_size)
        if file_format == "csv":
            data = csv_stream(shape, read, serial_chunks=serial_chunks)
        else:
            data = xlsx_stream(shape, read)
    elif file_format in ("vcf", "vcf3"):
        version = "4.0" if file_format == "vcf" else "3.0"
        data = vcard_stream(
            chunks(source, size=chunk_size), version=version, serial_chunks=serial_chunks
        )
    else:
        data = _json_stream(source, chunk_size)
    return Export(file_format, filename, spec.content_type, started(data))


_TIME_FILTERS = ("created_after", "created_before", "updated_after", "updated_before")


def _check_times(filters: ContactFilters | None) -> None:
    """Refuse a time filter the database cannot compare (it compares in UTC, years 1-9999).

    Checked here because the rows are read only once the response is streaming, when an
    error can no longer become a clear answer.
    """
    errors = []
    for name in _TIME_FILTERS:
        value = getattr(filters, name, None) if filters is not None else None
        if value is None:
            continue
        try:
            value.astimezone(dt.UTC)
        except OverflowError:
            errors.append(FieldError(name, "Must be a time between the years 1 and 9999 in UTC."))
    if errors:
        raise InvalidInput(errors)


def started(data: Iterator[bytes]) -> Iterator[bytes]:
    """``data`` with its first chunk already produced (so its first queries already ran):
    whatever fails there is raised to the caller before any byte is sent."""
    first = next(data, None)
    return data if first is None else itertools.chain([first], data)


from rapport.ingest.exporters.organizations import (  # noqa: E402  # it uses the above
    ORGANIZATION_FORMATS,
    organizations_export,
)
