"""What the outreach area adds to other pages: the "Reaching" box on contact pages,
organization defaults on organization pages, and the contact list's column and filter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from rapport.contacts.models import Contact, Organization
from rapport.core import policy
from rapport.core.panels import Panel, PhoneAction
from rapport.outreach.channels import CHANNEL_LABELS, CHANNELS
from rapport.outreach.hours import hours_from_stored
from rapport.outreach.models import ContactAttempt, ContactPreferences
from rapport.outreach.selectors.compose import default_call_purpose
from rapport.outreach.selectors.glance import contact_glance, glances_for
from rapport.outreach.selectors.preferences import organization_defaults_in_force


def contact_box_context(request: HttpRequest, contact: Contact) -> dict[str, Any]:
    now = timezone.now()
    glance = contact_glance(actor=request.user, contact_id=contact.pk, at=now)
    prefs = ContactPreferences.objects.filter(contact_id=contact.pk).first()
    hours = hours_from_stored(prefs.hours) if prefs else None
    first = glance[0].decision if glance else None
    return {
        "contact": contact,
        "glance": glance,
        "prefs": prefs,
        "hours_text": hours.describe() if hours else "",
        "caps": list(contact.outreach_caps.all()) if prefs else [],
        "where": first.location if first else "",
        "zones": first.zones if first else (),
        "attempts": list(
            ContactAttempt.objects.filter(contact_id=contact.pk).select_related("actor")[:5]
        ),
        "channels": [(c, CHANNEL_LABELS[c]) for c in CHANNELS],
        "outcomes": ContactAttempt.Outcome.choices,
        "has_phones": contact.phones.exists(),
        "call_purpose": default_call_purpose(),
    }


def contact_box(request: HttpRequest, contact: Contact, **extra: Any) -> SafeString:
    context = {**contact_box_context(request, contact), **extra}
    return render_to_string("outreach/_contact_panel.html", context, request=request)  # type: ignore[return-value]


def contact_panels(request: HttpRequest, contact: Contact) -> list[Panel]:
    if not policy.can(request.user, "contacts.view"):
        return []
    return [Panel(html=contact_box(request, contact), place="side", order=3)]


def phone_actions(request: HttpRequest, contact: Contact, phone: Any) -> list[PhoneAction]:
    """Call and SMS beside each number: through the gate, logged (see views.compose)."""
    if not policy.can(request.user, "attempts.add"):
        return []
    return [
        PhoneAction("Call", reverse("outreach:reach", args=[contact.pk, "call", phone.pk])),
        PhoneAction("SMS", reverse("outreach:reach", args=[contact.pk, "sms", phone.pk])),
    ]


def organization_panels(request: HttpRequest, organization: Organization) -> list[Panel]:
    if not policy.can(request.user, "organizations.view"):
        return []
    prefs, inherited_from = organization_defaults_in_force(organization)
    hours = hours_from_stored(prefs.hours) if prefs else None
    html = render_to_string(
        "outreach/_organization_panel.html",
        {
            "organization": organization,
            "prefs": prefs,
            "inherited_from": inherited_from,
            "hours_text": hours.describe() if hours else "",
            "statuses": [
                (CHANNEL_LABELS[c], prefs.status_of(c)) for c in CHANNELS if prefs.status_of(c)
            ]
            if prefs
            else [],
        },
        request=request,
    )
    return [Panel(html=html, place="side", order=30)]  # type: ignore[arg-type]


def reachability_cells(request: HttpRequest, contacts: Sequence[Contact]) -> dict[int, SafeString]:
    """The "Reachable now" column for one page of the contact list."""
    glances = glances_for(
        actor=request.user, contact_ids=[c.pk for c in contacts], at=timezone.now()
    )
    return {
        pk: format_html(
            '<span class="reach-line">{}</span>',
            format_html_join(
                " · ",
                '<span class="reach reach--{}" title="{}">{}</span>',
                ((g.state, g.detail, g.text) for g in items),
            ),
        )
        for pk, items in glances.items()
    }


def reachable_choices() -> list[tuple[str, str]]:
    return [(c, CHANNEL_LABELS[c]) for c in CHANNELS]
