"""Importing a file of orders on the page: upload, confirm which column is which order
field, follow the worker's progress, see every refused row, undo."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from rapport.contacts.views._common import is_htmx, page
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.segments import services
from rapport.segments.models import OrderImport
from rapport.segments.services.order_imports import TARGETS

FIELD_LABELS = {
    "external_id": "Order number (external id)", "contact": "Contact id", "email": "Contact's email",
    "organization": "Organization id", "ordered_at": "Date", "amount": "Amount", "currency": "Currency",
    "status": "Status", "products": "Products", "categories": "Categories",
}  # fmt: skip


@page
@require_http_methods(["GET", "POST"])
def order_imports(request: HttpRequest) -> HttpResponse:
    policy.require(request.user, "orders.change")
    errors: list[str] = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors = ["Choose a CSV or XLSX file of orders."]
        else:
            try:
                batch = services.orders_upload(
                    actor=request.user, upload=upload, file_name=upload.name or ""
                )
                return redirect("segments:order_import", pk=batch.pk)
            except InvalidInput as exc:
                errors = [e.message for e in exc.errors]
    context = {"imports": OrderImport.objects.order_by("-pk")[:20], "errors": errors}
    return render(request, "segments/order_imports.html", context, status=422 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def order_import(request: HttpRequest, pk: int) -> HttpResponse:
    policy.require(request.user, "orders.change")
    batch = get_object_or_404(OrderImport, pk=pk)
    errors: list[str] = []
    if request.method == "POST":
        mapping = {h: request.POST.get(f"map-{i}", "") for i, h in enumerate(batch.headers)}
        try:
            services.orders_import_start(actor=request.user, batch=batch, mapping=mapping)
            return redirect("segments:order_import", pk=batch.pk)
        except InvalidInput as exc:
            errors = [e.message for e in exc.errors]
            batch.mapping = mapping
    context: dict[str, Any] = {
        "batch": batch, "errors": errors, "targets": [(t, FIELD_LABELS[t]) for t in TARGETS],
        "columns": [(i, h, batch.mapping.get(h, "")) for i, h in enumerate(batch.headers)],
        "active": batch.status in (OrderImport.Status.QUEUED, OrderImport.Status.RUNNING),
    }  # fmt: skip
    template = (
        "segments/_order_import_status.html" if is_htmx(request) else "segments/order_import.html"
    )
    return render(request, template, context, status=422 if errors else 200)


@page
@require_POST
def order_import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        touched = services.orders_import_undo(actor=request.user, batch_id=pk)
        messages.success(
            request, f"Undone: {touched} order{'s' if touched != 1 else ''} taken back."
        )
    except InvalidInput as exc:
        messages.error(request, " ".join(e.message for e in exc.errors))
    return redirect("segments:order_import", pk=pk)
