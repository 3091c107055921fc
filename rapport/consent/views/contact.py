"""A contact's consent: the box on their page, the page with every purpose and the
whole history, and recording an event from it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from rapport.consent import selectors, services
from rapport.consent.models import Purpose
from rapport.consent.vocabulary import CHANNEL_LABELS, CHANNELS, Action, Method
from rapport.contacts.forms import simple_form
from rapport.contacts.models import Contact
from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.core.panels import Panel

RECORD_FIELDS = (
    "action",
    "purpose",
    "channel",
    "point",
    "method",
    "given_at",
    "text_version",
    "reference",
    "note",
)
PANEL_HISTORY = 5
# What staff record by hand: confirmations come from the double opt-in link, expiries
# from the retention duty, but both may be entered when they happened elsewhere.
ACTIONS_OFFERED = [(a.value, a.label) for a in Action]
METHODS_OFFERED = [(m.value, m.label) for m in Method if m != Method.SYSTEM]


def contact_panels(request: HttpRequest, contact: Contact) -> list[Panel]:
    """The consent box beside a contact's details: each purpose at a glance and the
    latest events, with a link to the whole page."""
    if not policy.can(request.user, "consent.view"):
        return []
    overview = selectors.consent_overview(
        actor=request.user, contact_id=contact.pk, history_limit=PANEL_HISTORY
    )
    html = render_to_string(
        "consent/_contact_panel.html",
        {
            "contact": contact,
            "overview": overview,
            "page_url": reverse("consent:contact", args=[contact.pk]),
        },
        request=request,
    )
    return [Panel(html=html, place="side", order=8)]  # type: ignore[arg-type]


def _points(contact: Contact) -> list[str]:
    emails = [e.address for e in contact.emails.all()]
    phones = [p.e164 for p in contact.phones.all()]
    return emails + phones


def _context(request: HttpRequest, contact: Contact, form: Any) -> dict[str, Any]:
    overview = selectors.consent_overview(actor=request.user, contact_id=contact.pk)
    return {
        "contact": contact,
        "overview": overview,
        "form": form,
        "actions": ACTIONS_OFFERED,
        "methods": METHODS_OFFERED,
        "channels": [("", "Every channel")] + [(c, CHANNEL_LABELS[c]) for c in CHANNELS],
        "purposes": [
            (p.key, p.name)
            for p in Purpose.objects.filter(archived_at__isnull=True).order_by("name")
        ],
        "points": _points(contact),
        "can_record": policy.can(request.user, "consent.record"),
    }


def _given_at(raw: str, request: HttpRequest) -> str:
    """A datetime-local value read in the user's time zone, as ISO 8601."""
    from rapport.activity.services.zones import user_zone

    if not raw:
        return ""
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        return raw  # the service names it
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=user_zone(request.user))
    return moment.isoformat()


@page
@require_http_methods(["GET", "POST"])
def contact_consent(request: HttpRequest, pk: int) -> HttpResponse:
    """Every purpose with the gate's answer per channel, the whole history, and (for
    members) a form to record what the person said."""
    policy.require(request.user, "consent.view")
    contact = get_object_or_404(Contact, pk=pk)
    if request.method == "POST":
        policy.require(request.user, "consent.record")
        values = {n: request.POST.get(n, "").strip() for n in RECORD_FIELDS}
        form = simple_form(RECORD_FIELDS, values)
        data = {k: v for k, v in values.items() if v}
        if "given_at" in data:
            data["given_at"] = _given_at(data["given_at"], request)
        try:
            event = services.consent_record(
                actor=request.user, contact_id=contact.pk, data=data, via="ui"
            )
        except InvalidInput as exc:
            form.add_errors(exc.errors)
            return render(
                request,
                "consent/contact_consent.html",
                _context(request, contact, form),
                status=422,
            )
        messages.success(request, f"Recorded: {event.get_action_display()} (#{event.seq}).")
        return redirect("consent:contact", pk=contact.pk)
    form = simple_form(RECORD_FIELDS, {"action": "grant", "method": "verbal"})
    return render(request, "consent/contact_consent.html", _context(request, contact, form))
