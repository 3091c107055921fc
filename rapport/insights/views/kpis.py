"""KPI goals: the list with where each stands, the form to set or change one, and the
monthly summary's subscription."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import Conflict, InvalidInput
from rapport.insights import metrics as registry
from rapport.insights import services
from rapport.insights.models import Kpi, SummarySubscription

FORM_FIELDS = (
    "name", "description", "metric", "key", "baseline_date", "baseline_value", "target_value",
    "target_date", "direction", "cadence",
)  # fmt: skip


@page
@require_GET
def kpi_list(request: HttpRequest) -> HttpResponse:
    policy.require(request.user, "insights.view")
    context = {
        "kpis": services.kpi_statuses(),
        "can_manage": policy.can(request.user, "kpis.manage"),
        "subscribed": SummarySubscription.objects.filter(user=request.user).exists(),
    }
    return render(request, "insights/kpi_list.html", context)


def _metric_choices() -> list[tuple[str, str, str]]:
    return [
        (m.name, m.label, m.keys_label)
        for m in sorted(registry.metrics().values(), key=lambda m: m.label)
    ]


@page
@require_http_methods(["GET", "POST"])
def kpi_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    policy.require(request.user, "kpis.manage")
    kpi = get_object_or_404(Kpi, pk=pk) if pk else None
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {f: getattr(kpi, f) if kpi else "" for f in FORM_FIELDS}
    if kpi is None:
        values.update(
            direction="up",
            cadence="monthly",
            metric=request.GET.get("metric", ""),
            key=request.GET.get("key", ""),
        )
    if request.method == "POST":
        values = {f: request.POST.get(f, "").strip() for f in FORM_FIELDS}
        try:
            if kpi is None:
                kpi = services.kpi_create(actor=request.user, data=values)
            else:
                version = request.POST.get("version", "")
                kpi = services.kpi_update(
                    actor=request.user, kpi=kpi, data=values,
                    expected_version=int(version) if version.isdecimal() and len(version) < 10 else None,
                )  # fmt: skip
            messages.success(request, f"Saved the KPI “{kpi.name}”.")
            return redirect("insights:kpis")
        except InvalidInput as exc:
            errors = exc.by_field()
        except Conflict as exc:
            errors = {"name": [str(exc)]}
    context = {
        "kpi": kpi, "values": values, "errors": errors, "metrics": _metric_choices(),
        "cadences": Kpi.Cadence.choices, "directions": Kpi.Direction.choices,
    }  # fmt: skip
    return render(request, "insights/kpi_edit.html", context, status=422 if errors else 200)


@page
@require_POST
def kpi_delete(request: HttpRequest, pk: int) -> HttpResponse:
    kpi = get_object_or_404(Kpi, pk=pk)
    services.kpi_delete(actor=request.user, kpi=kpi)
    messages.success(request, f"Deleted the KPI “{kpi.name}”.")
    return redirect("insights:kpis")


@page
@require_POST
def summary(request: HttpRequest) -> HttpResponse:
    on = request.POST.get("subscribe") == "on"
    services.summary_subscribe(actor=request.user, on=on)
    if on and not request.user.email:
        messages.warning(request, "Add an email address to your account to receive the summary.")
    messages.success(
        request,
        "You will receive the monthly summary."
        if on
        else "You will no longer receive the monthly summary.",
    )
    return redirect(
        request.POST.get("next")
        if request.POST.get("next", "").startswith("/insights")
        else "insights:kpis"
    )
