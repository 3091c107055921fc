"""The public shape of import batches in the API."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema
from pydantic import ConfigDict

from rapport.ingest.models import ImportBatch


class Counts(Schema):
    created: int
    updated: int
    unchanged: int
    failed: int


class LogEntry(Schema):
    at: str = Field(description="When, as an ISO 8601 timestamp.")
    message: str


class BatchLinks(Schema):
    self: str
    page: str = Field(description="The batch's page in the web interface.")
    preview: str
    start: str
    undo: str
    errors: str
    failed_rows: str = Field(description="The failed rows as CSV, with an error column.")


class BatchOut(Schema):
    id: int
    status: str = Field(json_schema_extra={"enum": list(ImportBatch.Status.values)})
    file_name: str
    source: str
    file_format: str = Field(examples=["csv"])
    encoding: str = Field(examples=["utf-8"])
    delimiter: str
    headers: list[str]
    mapping: dict[str, str] = Field(
        description="Column header → contact field ('' ignores the column; a trailing ! "
        "lets an update overwrite a non-empty value)."
    )
    mode: str = Field(json_schema_extra={"enum": list(ImportBatch.Mode.values)})
    dry_run: bool
    counts: Counts
    processed_rows: int
    total_rows: int | None = Field(description="Known once the whole file has been read.")
    created_by: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    undone_at: dt.datetime | None
    row_check: RowCheckOut | None = Field(
        description="While pending: the check of every row with the current mapping, if asked."
    )
    undo: UndoOut | None = Field(
        description="Set once an undo was asked for (POST …/undo); poll this batch to follow it."
    )
    error: str
    log: list[LogEntry]
    links: BatchLinks


class BatchPage(Schema):
    items: list[BatchOut]
    next_cursor: str | None = Field(
        description="Pass as cursor= for the next page; null at the end."
    )


class BatchChange(Schema):
    """What may change while a batch waits to start; only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    mapping: dict[str, str] | None = Field(
        None,
        description="Column header → contact field, for every column (columns left out are "
        "ignored). Fields: see docs/import.md.",
        examples=[{"Name": "full_name", "E-mail": "emails[0].address", "Title": "job_title!"}],
    )
    mode: str | None = Field(None, json_schema_extra={"enum": list(ImportBatch.Mode.values)})
    dry_run: bool | None = None
    encoding: str | None = Field(
        None, description="Read the file again in this text encoding.", examples=["windows-1252"]
    )
    save_as: str | None = Field(
        None, description="Also save the mapping under this name, for files like this one."
    )


class RowProblem(Schema):
    column: str
    value: str
    reason: str


class PreviewRow(Schema):
    row: int = Field(description="The row's number in the file (the header is row 1).")
    data: dict[str, object] = Field(description="The contact as it would be stored.")
    errors: list[RowProblem]
    warnings: list[RowProblem] = Field(
        description="Values that would be left out of this row, which would still be imported."
    )


class RowError(Schema):
    row: int
    column: str
    value: str
    reason: str
    severity: str = Field(
        description="error: the row was not imported; warning: the row was, without this value.",
        json_schema_extra={"enum": ["error", "warning"]},
    )


class RowErrorPage(Schema):
    items: list[RowError]
    next_cursor: str | None


class CheckProblem(Schema):
    row: int
    column: str
    value: str
    reason: str


class RowCheckOut(Schema):
    """The check of every row before the start (POST …/check), for the current mapping."""

    state: str = Field(json_schema_extra={"enum": ["queued", "running", "done", "failed"]})
    checked: int = Field(description="Rows checked so far.")
    will_import: int = 0
    will_fail: int = 0
    warned: int = Field(0, description="Rows that will import without a value that is not valid.")
    failures: list[CheckProblem] = Field(default_factory=list, description="The first failures.")
    warnings: list[CheckProblem] = Field(default_factory=list)
    error: str = ""


class UndoOut(Schema):
    """An undo's progress while the batch is `undoing`, and its result once `undone`."""

    total: int = Field(description="Changes the import made (contacts created or updated).")
    done: int = Field(description="Changes undone or kept so far.")
    removed: int = Field(description="Contacts the import created, now removed.")
    restored: int = Field(
        description="Contacts whose changed fields were put back (or whose role from the "
        "import was removed)."
    )
    kept_count: int = Field(description="Things edited after the import and left alone.")
    kept: list[str] = Field(description="The first of them, one line each; the log has all.")
