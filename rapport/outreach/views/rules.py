"""Settings → Calling rules: the legal rules as data, which admins add and change."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import Conflict, InvalidInput
from rapport.outreach.channels import CHANNEL_LABELS, CHANNELS
from rapport.outreach.hours import DAY_NAMES, DAYS, hours_from_stored
from rapport.outreach.models import CallingRule
from rapport.outreach.services import rules as services
from rapport.outreach.views import forms


@page
def rule_list(request: HttpRequest) -> HttpResponse:
    policy.require(request.user, "contacts.view")
    rows = [
        (rule, hours.describe() if (hours := hours_from_stored(rule.hours)) else "")
        for rule in CallingRule.objects.all()
    ]
    return render(
        request,
        "outreach/rule_list.html",
        {"rows": rows, "can_manage": policy.can(request.user, "calling_rules.manage")},
    )


def _values(rule: CallingRule | None) -> dict[str, Any]:
    if rule is None:
        return {"active": True, "channels": {"call"}, "hours": [(d, "") for d in DAYS]}
    hours = hours_from_stored(rule.hours)
    stored = hours.stored() if hours else {}
    return {
        "name": rule.name,
        "country": rule.country,
        "subdivision": rule.subdivision,
        "channels": set(rule.channels),
        "purposes": ", ".join(rule.purposes),
        "hours": [(d, ", ".join(stored.get(d, []))) for d in DAYS],
        "no_public_holidays": rule.no_public_holidays,
        "max_attempts": rule.max_attempts or "",
        "attempts_period_days": rule.attempts_period_days or "",
        "refusal_silence_days": rule.refusal_silence_days or "",
        "source": rule.source,
        "active": rule.active,
    }


@page
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Add a rule (no ``pk``) or change one; a bad field is named, nothing saved."""
    policy.require(request.user, "calling_rules.manage")
    rule = get_object_or_404(CallingRule, pk=pk) if pk else None
    errors: dict[str, list[str]] = {}
    conflict = ""
    values = _values(rule)
    if request.method == "POST":
        data, origin = forms.rule_from_post(request.POST)
        version = request.POST.get("version", "")
        try:
            if rule is None:
                services.calling_rule_create(actor=request.user, data=data)
            else:
                services.calling_rule_update(
                    actor=request.user,
                    rule=rule,
                    data=data,
                    expected_version=int(version) if version.isdecimal() else None,
                )
        except InvalidInput as exc:
            errors = forms.rule_errors(exc, origin)
        except Conflict as exc:
            conflict = str(exc)
        else:
            messages.success(request, "The rule was saved.")
            return redirect("outreach:rules")
        values = {
            **data,
            "channels": set(data["channels"]),
            "purposes": request.POST.get("purposes", ""),
            "hours": [(d, request.POST.get(f"hours_{d}", "")) for d in DAYS],
            "max_attempts": request.POST.get("max_attempts", ""),
            "attempts_period_days": request.POST.get("attempts_period_days", ""),
            "refusal_silence_days": request.POST.get("refusal_silence_days", ""),
        }
    context = {
        "rule": rule,
        "values": values,
        "errors": errors,
        "conflict": conflict,
        "channels": [(c, CHANNEL_LABELS[c]) for c in CHANNELS],
        "day_names": dict(zip(DAYS, DAY_NAMES, strict=True)),
    }
    status = 409 if conflict else 422 if errors else 200
    return render(request, "outreach/rule_form.html", context, status=status)


@page
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(CallingRule, pk=pk)
    services.calling_rule_delete(actor=request.user, rule=rule)
    messages.success(request, f"“{rule.name}” was deleted.")
    return redirect("outreach:rules")
