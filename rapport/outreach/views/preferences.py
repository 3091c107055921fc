"""Editing a person's preferences and an organization's defaults, and logging an attempt,
from their pages (htmx swaps the box in place; without JavaScript, whole pages)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from rapport.contacts.models import Contact, Organization
from rapport.contacts.views._common import is_htmx, page, vary_on_htmx
from rapport.core import policy
from rapport.core.errors import Conflict, InvalidInput
from rapport.outreach.channels import CHANNEL_LABELS, CHANNELS, ChannelStatus
from rapport.outreach.hours import DAY_NAMES, DAYS
from rapport.outreach.selectors.preferences import (
    contact_preferences_get,
    organization_preferences_get,
)
from rapport.outreach.services import attempts, preferences
from rapport.outreach.views import forms
from rapport.outreach.views.panels import contact_box


def _field_label(field: str) -> str:
    """The words a person reads for a form field an error names."""
    days = dict(zip(DAYS, DAY_NAMES, strict=True))
    if field.startswith("hours_") and field[6:] in days:
        return f"{days[field[6:]]} hours"
    if field.startswith("channel_") and field[8:] in CHANNEL_LABELS:
        return CHANNEL_LABELS[field[8:]]
    if field.startswith("cap_") and field[4:].isdecimal():
        return f"Frequency cap {int(field[4:]) + 1}"
    return field.replace("_", " ").capitalize()


def _form_context(**extra: Any) -> dict[str, Any]:
    errors = extra.get("errors") or {}
    extra["error_summary"] = [
        (_field_label(field), message) for field, found in errors.items() for message in found
    ]
    return {
        "statuses": ChannelStatus.choices,
        "channel_labels": CHANNEL_LABELS,
        "channels": [(c, CHANNEL_LABELS[c]) for c in CHANNELS],
        "day_names": dict(zip(DAYS, DAY_NAMES, strict=True)),
        **extra,
    }


def _version(request: HttpRequest) -> int | None:
    value = request.POST.get("version", "")
    return int(value) if value.isdecimal() else None


@page
@require_http_methods(["GET", "POST"])
def contact_preferences(request: HttpRequest, pk: int) -> HttpResponse:
    """A person's preferences: the form (GET), or saving it (POST)."""
    contact = get_object_or_404(Contact, pk=pk)
    policy.require(request.user, "contacts.change", contact)
    errors: dict[str, list[str]] = {}
    conflict = ""
    if request.method == "POST":
        data, origin = forms.preferences_from_post(request.POST, organization=False)
        try:
            preferences.contact_preferences_set(
                actor=request.user,
                contact=contact,
                data=data,
                expected_version=_version(request),
                via="ui",
            )
        except InvalidInput as exc:
            errors = forms.form_errors(exc, origin)
        except Conflict as exc:
            conflict = str(exc)
        else:
            if is_htmx(request):
                return vary_on_htmx(HttpResponse(contact_box(request, contact, saved=True)))
            messages.success(request, "The preferences were saved.")
            return redirect("contacts:detail", pk=contact.pk)
        values = forms.posted_values(request.POST, organization=False)
        version = request.POST.get("version", "")
    else:
        data, version_number = contact_preferences_get(actor=request.user, contact_id=contact.pk)
        values, version = forms.form_values(data), str(version_number)
    context = _form_context(
        record=contact,
        kind="contact",
        values=values,
        version=version,
        errors=errors,
        conflict=conflict,
        action=reverse("outreach:contact_preferences", args=[contact.pk]),
        back=reverse("contacts:detail", args=[contact.pk]),
    )
    status = 409 if conflict else 422 if errors else 200
    if is_htmx(request):
        return vary_on_htmx(render(request, "outreach/_preferences_form.html", context))
    return render(request, "outreach/preferences_page.html", context, status=status)


@page
@require_http_methods(["GET", "POST"])
def organization_preferences(request: HttpRequest, pk: int) -> HttpResponse:
    """The defaults an organization's people inherit: the form, or saving it."""
    organization = get_object_or_404(Organization, pk=pk)
    policy.require(request.user, "organizations.change", organization)
    errors: dict[str, list[str]] = {}
    conflict = ""
    if request.method == "POST":
        data, origin = forms.preferences_from_post(request.POST, organization=True)
        try:
            preferences.organization_preferences_set(
                actor=request.user,
                organization=organization,
                data=data,
                expected_version=_version(request),
                via="ui",
            )
        except InvalidInput as exc:
            errors = forms.form_errors(exc, origin)
        except Conflict as exc:
            conflict = str(exc)
        else:
            messages.success(request, "The defaults were saved.")
            return redirect("contacts:organization", pk=organization.pk)
        values = forms.posted_values(request.POST, organization=True)
        version = request.POST.get("version", "")
    else:
        data, version_number = organization_preferences_get(
            actor=request.user, organization_id=organization.pk
        )
        values, version = forms.form_values(data), str(version_number)
    context = _form_context(
        record=organization,
        kind="organization",
        values=values,
        version=version,
        errors=errors,
        conflict=conflict,
        action=reverse("outreach:organization_preferences", args=[organization.pk]),
        back=reverse("contacts:organization", args=[organization.pk]),
    )
    status = 409 if conflict else 422 if errors else 200
    return render(request, "outreach/preferences_page.html", context, status=status)


@page
@require_POST
def contact_attempt(request: HttpRequest, pk: int) -> HttpResponse:
    """Log an attempt (a call made, a refusal heard) from the contact's page."""
    contact = get_object_or_404(Contact, pk=pk)
    error = ""
    try:
        attempts.attempt_log(
            actor=request.user,
            contact=contact,
            channel=request.POST.get("channel", ""),
            purpose=request.POST.get("purpose", "").strip(),
            outcome=request.POST.get("outcome", ""),
            at=dt.datetime.now(dt.UTC),
            note=request.POST.get("note", ""),
            via="ui",
        )
    except InvalidInput as exc:
        error = str(exc)
    if is_htmx(request):
        extra = {"attempt_error": error} if error else {"attempt_logged": True}
        return vary_on_htmx(HttpResponse(contact_box(request, contact, **extra)))
    if error:
        messages.error(request, f"Nothing was logged. {error}")
    else:
        messages.success(request, "The attempt was logged.")
    return redirect("contacts:detail", pk=contact.pk)
