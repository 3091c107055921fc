"""The Export menus of the contact and organization lists: the list as it is filtered
now (or a selection of ids), as a download."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from rapport.contacts import forms
from rapport.contacts.views._common import page
from rapport.core.errors import InvalidInput
from rapport.ingest.exporters import Export, contacts_export, organizations_export


def streaming_download(export: Export) -> StreamingHttpResponse:
    """The export as an attachment, sent while it is being written."""
    response = StreamingHttpResponse(export.chunks, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def selected_ids(values: list[str]) -> list[int] | None:
    """``id=1&id=2`` or ``ids=1,2``; None when no selection was sent."""
    raw = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if not raw:
        return None
    if not all(part.isdecimal() and len(part) < 19 for part in raw):
        raise InvalidInput.single("ids", "Ids must be whole numbers.")
    return [int(part) for part in raw]


@page
@require_GET
def contact_export(request: HttpRequest) -> HttpResponse:
    """GET /contacts/export/?format=csv&q=…&tag=…: the same parameters as the list."""
    return _download(request, contacts_export, forms.contact_filters)


@page
@require_GET
def organization_export(request: HttpRequest) -> HttpResponse:
    """GET /organizations/export/?format=csv&q=…&industry=…: the organization list's
    parameters."""
    return _download(request, organizations_export, forms.organization_filters)


def _download(request: HttpRequest, exporter: Any, filters: Any) -> HttpResponse:
    """The list the query string describes (``id``/``ids`` for a selection) as a file."""
    params = request.GET
    try:
        export = exporter(
            actor=request.user,
            file_format=params.get("format", "csv"),
            q=params.get("q", ""),
            filters=filters(params),
            ids=selected_ids(params.getlist("id") + params.getlist("ids")),
        )
    except InvalidInput as exc:
        return _refused(exc)
    return streaming_download(export)  # type: ignore[return-value]  # streamed, not buffered


def _refused(exc: InvalidInput) -> HttpResponse:
    text = "Nothing was exported:\n" + "\n".join(f"{e.path}: {e.message}" for e in exc.errors)
    return HttpResponseBadRequest(text, content_type="text/plain; charset=utf-8")
