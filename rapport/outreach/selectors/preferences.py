"""Reading preferences as the API and the pages show them."""

from __future__ import annotations

from typing import Any

from rapport.core import policy
from rapport.outreach.channels import CHANNELS
from rapport.outreach.models import ContactPreferences, FrequencyCap, OrganizationPreferences


def _caps_of(contact_id: int) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in FrequencyCap.objects.filter(contact_id=contact_id)
        .order_by("channel", "purpose")
        .values("channel", "purpose", "max_count", "period_days")
    ]


def preferences_data(prefs: Any, caps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A person's (or organization's) preferences in the form the services take and the
    API returns; defaults when ``prefs`` is None."""
    from rapport.outreach.hours import hours_from_stored

    hours = hours_from_stored(prefs.hours) if prefs is not None else None
    data: dict[str, Any] = {
        "channels": {c: (getattr(prefs, c) or None) if prefs else None for c in CHANNELS},
        "hours": [
            {"day": day, "start": span.split("-")[0], "end": span.split("-")[1]}
            for day, spans in (hours.stored() if hours else {}).items()
            for span in spans
        ]
        if hours
        else None,
        "hours_channels": list(prefs.hours_channels) if prefs else list(CHANNELS),
        "avoid_holidays": prefs.avoid_holidays if prefs else None,
        "do_not_contact": prefs.do_not_contact if prefs else None,
        "note": prefs.note if prefs else "",
        "language": prefs.language if prefs else "",
    }
    if caps is not None:
        data["caps"] = caps
    if isinstance(prefs, OrganizationPreferences):
        for flag in ("channels_overridable", "do_not_contact_overridable", "hours_overridable"):
            data[flag] = getattr(prefs, flag) if prefs else flag == "hours_overridable"
    return data


def contact_preferences_get(*, actor: Any, contact_id: int) -> tuple[dict[str, Any], int]:
    """A person's preferences with their caps, and their version (0: none saved yet).
    Raises NotPermitted without contacts.view."""
    policy.require(actor, "contacts.view")
    prefs = ContactPreferences.objects.filter(contact_id=contact_id).first()
    return preferences_data(prefs, _caps_of(contact_id)), prefs.version if prefs else 0


def organization_preferences_get(*, actor: Any, organization_id: int) -> tuple[dict[str, Any], int]:
    """An organization's defaults and their version (0: none saved yet)."""
    policy.require(actor, "organizations.view")
    prefs = OrganizationPreferences.objects.filter(organization_id=organization_id).first()
    data = preferences_data(prefs)
    if prefs is None:
        for flag in ("channels_overridable", "do_not_contact_overridable", "hours_overridable"):
            data[flag] = flag == "hours_overridable"
    return data, prefs.version if prefs else 0


def organization_defaults_in_force(organization: Any) -> tuple[Any, Any]:
    """The defaults an organization's people follow: its own, else those of the nearest
    organization above it that has some (the gate's climb). Returns (defaults or None,
    the organization they come from or None when they are its own or there are none)."""
    from rapport.contacts.models import Organization
    from rapport.outreach.gate.inputs import MAX_TREE_DEPTH

    current, seen = organization, 0
    while current is not None and seen <= MAX_TREE_DEPTH:
        prefs = OrganizationPreferences.objects.filter(organization_id=current.pk).first()
        if prefs is not None:
            return prefs, (None if current.pk == organization.pk else current)
        current = (
            Organization.objects.filter(pk=current.parent_id).first() if current.parent_id else None
        )
        seen += 1
    return None, None
