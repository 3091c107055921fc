"""Import pages: upload a file, map its columns, preview, run with live progress, undo.

Thin on purpose: each view parses the form, calls an import service or selector and
renders. Reading batches needs "contacts.view"; everything that changes one needs
"imports.run" (asked by the services).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rapport.contacts import selectors as contact_selectors
from rapport.contacts.views._common import is_htmx, page, vary_on_htmx
from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput
from rapport.ingest import checking, selectors, services
from rapport.ingest import mapping as targets
from rapport.ingest.exporters.cells import formula_escape
from rapport.ingest.models import ImportBatch, ImportRowError

PAGE_SIZE = 25
FIRST_ERRORS = 50
# Offered in the mapping step; the detected encoding is added when it is not among them.
ENCODINGS = [
    ("utf-8", "UTF-8"),
    ("utf-16", "UTF-16 (Outlook, Excel “Unicode text”)"),
    ("windows-1252", "Windows-1252 (Western Europe, Americas)"),
    ("iso-8859-1", "ISO-8859-1 (Latin-1)"),
    ("iso-8859-15", "ISO-8859-15 (Latin-9)"),
    ("mac-roman", "Mac Roman"),
    ("windows-1250", "Windows-1250 (Central Europe)"),
    ("windows-1251", "Windows-1251 (Cyrillic)"),
    ("koi8-r", "KOI8-R"),
    ("cp850", "DOS Latin-1 (CP850)"),
    ("shift_jis", "Shift JIS"),
    ("gb18030", "GB18030"),
    ("big5", "Big5"),
    ("euc-kr", "EUC-KR"),
]


# ------------------------------------------------------------------------ list, upload


@page
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    """Batches newest first (keyset pages) and the upload form."""
    errors: list[FieldError] = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                policy.require(request.user, "imports.run")
                raise InvalidInput.single("file", "Choose a file to import.")
            batch = services.import_upload(
                actor=request.user,
                upload=upload,
                file_name=upload.name or "upload",
                source=request.POST.get("source", ""),
                encoding=request.POST.get("encoding", "").strip() or None,
            )
        except InvalidInput as exc:
            errors = exc.errors
        else:
            return redirect("ingest:import_detail", pk=batch.pk)
    result = selectors.batch_list(
        actor=request.user, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
    )
    context = {
        "page": result,
        "errors": errors,
        "form": request.POST if errors else {},
        "encodings": ENCODINGS,
    }
    return render(request, "ingest/import_list.html", context, status=422 if errors else 200)


# ------------------------------------------------------------------- one batch


@dataclass
class ColumnRow:
    """One column of the file in the mapping step."""

    index: int
    header: str
    samples: list[str]
    target: str
    overwrite: bool
    errors: list[str] = field(default_factory=list)


def _target_choices(request: HttpRequest, chosen: Iterable[str]) -> list[tuple[str, str]]:
    choices = list(targets.target_choices())
    if policy.can(request.user, "custom_fields.view"):
        for definition in contact_selectors.custom_field_list(actor=request.user, target="contact"):
            choices.append((f"custom_fields.{definition.key}", f"Custom: {definition.label}"))
    known = {value for value, _ in choices}
    for target in chosen:
        if target and target not in known:  # a preset or saved mapping may use more slots
            choices.append((target, target))
            known.add(target)
    return choices


def _column_rows(
    batch: ImportBatch,
    chosen: dict[str, str],
    samples: dict[str, list[str]],
    errors: dict[str, list[str]],
) -> list[ColumnRow]:
    rows = []
    for index, header in enumerate(batch.headers):
        target = chosen.get(header, "") or ""
        rows.append(
            ColumnRow(
                index=index,
                header=header,
                samples=samples.get(header, []),
                target=target.removesuffix("!"),
                overwrite=target.endswith("!"),
                errors=errors.get(f"mapping.{header}", []),
            )
        )
    return rows


def _posted_mapping(request: HttpRequest, batch: ImportBatch) -> dict[str, str]:
    mapping = {}
    for index, header in enumerate(batch.headers):
        target = request.POST.get(f"map-{index}", "").strip()
        if target and request.POST.get(f"overwrite-{index}"):
            target += "!"
        mapping[header] = target
    return mapping


def _preview_rows(previews: list[services.PreviewRow]) -> list[dict[str, Any]]:
    """What each previewed row would store, as (label, text) pairs, and its problems."""
    rows = []
    for preview in previews:
        shown = []
        if preview.data.get("display_name"):
            shown.append(("Name", str(preview.data["display_name"])))
        for key, value in preview.data.items():
            text = _preview_text(key, value)
            if text and key not in ("display_name", "sort_name", "search_doc"):
                shown.append((key.replace("_", " ").capitalize(), text))
        rows.append(
            {
                "row_number": preview.row_number,
                "fields": shown,
                "errors": preview.errors,
                "warnings": preview.warnings,
            }
        )
    return rows


# The part of each repeated value worth showing, after normalisation.
_MAIN_PARTS = {
    "emails": ("address",),
    "phones": ("e164", "number"),
    "urls": ("url",),
    "addresses": ("street", "locality", "region", "postcode", "country"),
    "external_ids": ("id", "source"),
}


def _preview_text(key: str, value: Any) -> str:
    if value in (None, "", [], {}):
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items() if v not in (None, ""))
    if isinstance(value, list):
        items = []
        for item in value:
            if not isinstance(item, dict):
                items.append(str(item))
                continue
            parts = _MAIN_PARTS.get(key, tuple(item))
            if key == "phones":
                parts = ("e164",) if item.get("e164") else ("number",)
            text = ", ".join(str(item[p]) for p in parts if item.get(p) not in (None, ""))
            if item.get("label"):
                text += f" ({item['label']})"
            items.append(text)
        return "; ".join(i for i in items if i)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _mapping_context(
    request: HttpRequest,
    batch: ImportBatch,
    *,
    chosen: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
    preview: list[services.PreviewRow] | None = None,
) -> dict[str, Any]:
    errors = list(errors or [])
    samples: dict[str, list[str]] = {}
    try:
        samples = selectors.batch_samples(batch=batch)
    except InvalidInput as exc:
        errors += exc.errors
    by_field = InvalidInput(errors).by_field() if errors else {}
    chosen = batch.mapping if chosen is None else chosen
    notes = [str(entry.get("message", "")) for entry in batch.log]
    encodings = list(ENCODINGS)
    if batch.encoding and batch.encoding not in {value for value, _ in encodings}:
        encodings.insert(0, (batch.encoding, batch.encoding))
    columns = _column_rows(batch, chosen, samples, by_field)
    return {
        "batch": batch,
        "columns": columns,
        # Mapped columns first; ignored ones folded away unless one needs a look.
        "mapped_columns": [c for c in columns if c.target],
        "ignored_columns": [c for c in columns if not c.target],
        "ignored_open": any(c.errors for c in columns if not c.target),
        "choice_groups": targets.grouped(_target_choices(request, chosen.values())),
        "check": _row_check(batch),
        "choices": _target_choices(request, chosen.values()),
        "general_errors": [e for e in errors if not e.path.startswith("mapping.")],
        "column_errors": [e for e in errors if e.path.startswith("mapping.")],
        "modes": ImportBatch.Mode.choices,
        "mode": request.POST.get("mode", batch.mode) if request.method == "POST" else batch.mode,
        "dry_run": (
            bool(request.POST.get("dry_run")) if request.method == "POST" else batch.dry_run
        ),
        "save_as": request.POST.get("save_as", "") if request.method == "POST" else "",
        "encodings": encodings,
        "preset": selectors.batch_preset(batch),
        "preview": _preview_rows(preview) if preview is not None else None,
        "notes": notes,
        # A guessed encoding is worth a look before anything is imported.
        "notes_open": any("guess" in note.lower() for note in notes),
        "error_count": len(errors),
    }


def _result_context(request: HttpRequest, batch: ImportBatch) -> dict[str, Any]:
    context: dict[str, Any] = {
        "batch": batch,
        "active": selectors.batch_is_active(batch),
        "can_resume": selectors.batch_can_resume(batch),
        "can_undo": selectors.batch_can_undo(batch),
        "undo_report": batch.undo_report if batch.status == ImportBatch.Status.UNDONE else None,
    }
    if not context["active"]:
        contacts, contact_count = selectors.batch_contacts(batch=batch)
        context.update(
            row_errors=selectors.batch_errors(batch=batch, limit=FIRST_ERRORS),
            row_warnings=selectors.batch_errors(
                batch=batch, limit=FIRST_ERRORS, severity=ImportRowError.Severity.WARNING
            ),
            contacts=contacts,
            more_contacts=contact_count - len(contacts),
            row_error_count=(
                batch.row_errors.filter(severity=ImportRowError.Severity.ERROR).count()
                if batch.failed_count
                else 0
            ),
        )
    return context


@page
@require_http_methods(["GET", "POST"])
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The mapping step while the batch is pending; then its progress and result."""
    batch = selectors.batch_get(actor=request.user, batch_id=pk)
    if batch.status != ImportBatch.Status.PENDING:
        if request.method == "POST":
            messages.error(request, "This import has already started; its mapping cannot change.")
            return redirect("ingest:import_detail", pk=pk)
        return render(request, "ingest/import_detail.html", _result_context(request, batch))
    if request.method == "GET":
        return render(request, "ingest/import_mapping.html", _mapping_context(request, batch))
    policy.require(request.user, "imports.run")
    action = request.POST.get("action", "preview")
    if action == "encoding":
        try:
            services.import_configure(
                actor=request.user,
                batch=batch,
                encoding=request.POST.get("encoding", "").strip() or None,
            )
        except InvalidInput as exc:
            batch.refresh_from_db()
            context = _mapping_context(request, batch, errors=exc.errors)
            return render(request, "ingest/import_mapping.html", context, status=422)
        messages.success(request, f"The file was read again as {batch.encoding}.")
        return redirect("ingest:import_detail", pk=pk)
    chosen = _posted_mapping(request, batch)
    try:
        services.import_configure(
            actor=request.user,
            batch=batch,
            mapping=chosen,
            mode=request.POST.get("mode") or None,
            dry_run=bool(request.POST.get("dry_run")),
            save_as=request.POST.get("save_as", ""),
        )
        if action == "start":
            services.import_start(actor=request.user, batch=batch)
            return redirect("ingest:import_detail", pk=pk)
        preview = services.import_preview(actor=request.user, batch=batch)
        checking.import_check_start(actor=request.user, batch=batch)
    except InvalidInput as exc:
        batch.refresh_from_db()
        context = _mapping_context(request, batch, chosen=chosen, errors=exc.errors)
        # htmx swaps only successful answers; the page marks the errors either way.
        status = 200 if is_htmx(request) else 422
        return render(request, "ingest/import_mapping.html", context, status=status)
    context = _mapping_context(request, batch, chosen=chosen, preview=preview)
    return render(request, "ingest/import_mapping.html", context)


@page
@require_GET
def import_check(request: HttpRequest, pk: int) -> HttpResponse:
    """The check of every row (how many will import, how many fail), polled while it runs."""
    batch = selectors.batch_get(actor=request.user, batch_id=pk)
    return vary_on_htmx(
        render(request, "ingest/_row_check.html", {"batch": batch, "check": _row_check(batch)})
    )


def _row_check(batch: ImportBatch) -> dict[str, Any] | None:
    """The batch's check of every row, if it was made with the current mapping."""
    check = batch.row_check or {}
    if batch.status != ImportBatch.Status.PENDING:
        return None
    return check if check.get("mapping") == checking.mapping_key(batch) else None


@page
@require_GET
def import_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress (or, once finished, the result) fragment the batch page polls."""
    batch = selectors.batch_get(actor=request.user, batch_id=pk)
    template = "ingest/_batch_status.html" if is_htmx(request) else "ingest/import_detail.html"
    return vary_on_htmx(render(request, template, _result_context(request, batch)))


@page
@require_POST
def import_resume(request: HttpRequest, pk: int) -> HttpResponse:
    """Start an interrupted or stalled batch again, after its last committed rows."""
    batch = selectors.batch_get(actor=request.user, batch_id=pk)
    try:
        services.import_start(actor=request.user, batch=batch)
    except InvalidInput as exc:
        messages.error(request, " ".join(e.message for e in exc.errors))
    else:
        messages.success(request, "The import goes on from where it stopped.")
    return redirect("ingest:import_detail", pk=pk)


@page
@require_http_methods(["GET", "POST"])
def import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST queues the undo and goes to the batch page, which
    follows its progress and then shows what was removed, restored and kept."""
    batch = selectors.batch_get(actor=request.user, batch_id=pk)
    policy.require(request.user, "imports.run")
    if request.method == "GET":
        return render(request, "ingest/import_undo.html", {"batch": batch})
    try:
        services.import_undo_start(actor=request.user, batch=batch)
    except InvalidInput as exc:
        messages.error(request, " ".join(e.message for e in exc.errors))
        return redirect("ingest:import_detail", pk=pk)
    return redirect("ingest:import_detail", pk=pk)


class _Echo:
    def write(self, value: str) -> str:
        return value


def failed_rows_csv(rows: Iterable[list[str]]) -> Iterator[str]:
    """CSV text for Excel (a BOM first), with cells that a spreadsheet would run as formulas escaped."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for row in rows:
        yield writer.writerow([formula_escape(str(cell)) for cell in row])


def failed_rows_response(batch: ImportBatch) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        failed_rows_csv(services.failed_rows(batch)), content_type="text/csv; charset=utf-8"
    )
    stem = batch.file_name.rsplit(".", 1)[0] or "import"
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{stem}-failed-rows.csv"
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@page
@require_GET
def import_failed_rows(request: HttpRequest, pk: int) -> HttpResponse:
    """Every failed row as it was in the file, plus an error column, to fix and re-import."""
    batch = selectors.batch_get(actor=request.user, batch_id=pk)
    # A streamed response, which the page decorator passes through like any other.
    return cast(HttpResponse, failed_rows_response(batch))
