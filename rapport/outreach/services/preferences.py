"""Writing a person's preferences and an organization's defaults.

One path for every entry point (contact page, API, CLI): the input is checked whole
(every bad field named, nothing saved on any error), the row is locked and compared with
the version the caller saw, written, its change recorded in the contact's (or
organization's) history, and the contact's reach profile refreshed in the same
transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from rapport.access.services import change_record
from rapport.contacts.models import Contact, Organization
from rapport.core import policy
from rapport.core.errors import Conflict, FieldError, InvalidInput
from rapport.outreach.channels import CHANNELS, ChannelStatus
from rapport.outreach.hours import hours_from_input
from rapport.outreach.models import ContactPreferences, FrequencyCap, OrganizationPreferences

_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
MAX_CAPS = 20
MAX_CAP_COUNT = 10_000
MAX_PERIOD_DAYS = 3_650
_COMMON_FIELDS = frozenset(
    {"channels", "hours", "hours_channels", "avoid_holidays", "do_not_contact", "note", "language"}
)
CONTACT_FIELDS = _COMMON_FIELDS | {"caps"}
ORGANIZATION_FIELDS = _COMMON_FIELDS | {
    "channels_overridable",
    "do_not_contact_overridable",
    "hours_overridable",
}


@dataclass
class _Checked:
    fields: dict[str, Any]
    caps: list[dict[str, Any]] | None


def _tri(value: Any, path: str, errors: list[FieldError]) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    errors.append(FieldError(path, "Give true, false or null."))
    return None


def _check(data: Mapping[str, Any], *, allowed: frozenset[str]) -> _Checked:
    """Validate a full set of preferences (fields not given take their defaults)."""
    errors: list[FieldError] = []
    for key in data:
        if key not in allowed:
            errors.append(FieldError(str(key), "Unknown field."))
    fields: dict[str, Any] = {}
    channels = data.get("channels") or {}
    if not isinstance(channels, Mapping):
        errors.append(FieldError("channels", "Give an object: channel → status."))
        channels = {}
    for key, status in channels.items():
        if key not in CHANNELS:
            errors.append(
                FieldError(f"channels.{key}", f"No such channel; use {', '.join(CHANNELS)}.")
            )
        elif status not in (None, *ChannelStatus.values):
            errors.append(FieldError(f"channels.{key}", "Use allowed, preferred, refused or null."))
    for channel in CHANNELS:
        status = channels.get(channel)
        fields[channel] = status if status in ChannelStatus.values else ""
    try:
        hours = hours_from_input(data.get("hours"))
        fields["hours"] = hours.stored() if hours is not None else None
    except InvalidInput as exc:
        errors += exc.errors
    applies = data.get("hours_channels", list(CHANNELS))
    if applies is None:
        applies = list(CHANNELS)
    if not isinstance(applies, list) or not all(isinstance(c, str) for c in applies):
        errors.append(FieldError("hours_channels", "Give a list of channels."))
        applies = []
    for i, channel in enumerate(applies):
        if channel not in CHANNELS:
            errors.append(FieldError(f"hours_channels[{i}]", "There is no such channel."))
    fields["hours_channels"] = [c for c in CHANNELS if c in applies]
    fields["avoid_holidays"] = _tri(data.get("avoid_holidays"), "avoid_holidays", errors)
    fields["do_not_contact"] = _tri(data.get("do_not_contact"), "do_not_contact", errors)
    note = data.get("note") or ""
    if not isinstance(note, str) or len(note) > 500:
        errors.append(FieldError("note", "Give text of at most 500 characters."))
        note = ""
    fields["note"] = note.strip()
    language = data.get("language") or ""
    if not isinstance(language, str) or (language and not _LANGUAGE.match(language.strip())):
        errors.append(FieldError("language", "Give a language tag such as fr, en-GB or pt-BR."))
        language = ""
    fields["language"] = language.strip()
    for flag in ("channels_overridable", "do_not_contact_overridable", "hours_overridable"):
        if flag in allowed:
            value = data.get(flag, flag == "hours_overridable")
            if not isinstance(value, bool):
                errors.append(FieldError(flag, "Give true or false."))
                value = False
            fields[flag] = value
    caps = None
    if "caps" in allowed:
        caps = _check_caps(data.get("caps") or [], errors)
    if errors:
        raise InvalidInput(errors)
    return _Checked(fields, caps)


def _check_caps(value: Any, errors: list[FieldError]) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        errors.append(FieldError("caps", "Give a list of caps."))
        return []
    if len(value) > MAX_CAPS:
        errors.append(FieldError("caps", f"At most {MAX_CAPS} caps."))
        return []
    found: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(value):
        path = f"caps[{i}]"
        if not isinstance(item, Mapping):
            errors.append(FieldError(path, "Give channel, purpose, max_count and period_days."))
            continue
        extra = set(item) - {"channel", "purpose", "max_count", "period_days"}
        if extra:
            errors.append(FieldError(f"{path}.{sorted(extra)[0]}", "Unknown field."))
        channel = item.get("channel") or ""
        if channel and channel not in CHANNELS:
            errors.append(FieldError(f"{path}.channel", "There is no such channel."))
        purpose = item.get("purpose") or ""
        if purpose and (not isinstance(purpose, str) or not _SLUG.match(purpose)):
            errors.append(FieldError(f"{path}.purpose", "Give the purpose's key, e.g. newsletter."))
        numbers = {}
        for key, top in (("max_count", MAX_CAP_COUNT), ("period_days", MAX_PERIOD_DAYS)):
            number = item.get(key)
            if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= top:
                errors.append(FieldError(f"{path}.{key}", f"Give a whole number from 1 to {top}."))
            else:
                numbers[key] = number
        if (channel, purpose) in seen:
            errors.append(FieldError(path, "Another cap already covers this channel and purpose."))
        seen.add((channel, purpose))
        if len(numbers) == 2:
            found.append({"channel": channel, "purpose": purpose, **numbers})
    return found


def _snapshot(prefs: Any, caps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if prefs is None:
        return {}
    shot = {
        "channels": {c: getattr(prefs, c) for c in CHANNELS if getattr(prefs, c)},
        "hours": prefs.hours,
        "hours_channels": prefs.hours_channels if prefs.hours or prefs.avoid_holidays else None,
        "avoid_holidays": prefs.avoid_holidays,
        "do_not_contact": prefs.do_not_contact,
        "note": prefs.note,
        "language": prefs.language,
    }
    for flag in ("channels_overridable", "do_not_contact_overridable", "hours_overridable"):
        if hasattr(prefs, flag):
            shot[flag] = getattr(prefs, flag)
    if caps is not None:
        shot["caps"] = [
            f"{c['max_count']} per {c['period_days']} days"
            + (f" {c['channel']}" if c["channel"] else "")
            + (f" {c['purpose']}" if c["purpose"] else "")
            for c in caps
        ]
    return shot


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {
        f"preferences.{key}": [before.get(key), value]
        for key, value in after.items()
        if before.get(key) != value
    }


def _caps_of(contact_id: int) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in FrequencyCap.objects.filter(contact_id=contact_id)
        .order_by("channel", "purpose")
        .values("channel", "purpose", "max_count", "period_days")
    ]


@transaction.atomic
def contact_preferences_set(
    *,
    actor: Any,
    contact: Contact,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    via: str = "ui",
) -> ContactPreferences:
    """Replace a person's preferences and caps with ``data`` (fields left out take their
    defaults: nothing said). ``expected_version`` (0 for "none saved yet") guards against
    overwriting a change the caller has not seen: Conflict. Raises InvalidInput naming
    every bad field (nothing saved), NotPermitted without contacts.change."""
    policy.require(actor, "contacts.change", contact)
    return _contact_preferences_write(
        actor=actor, contact=contact, data=data, expected_version=expected_version, via=via
    )


@transaction.atomic
def contact_preferences_set_by_person(
    *, contact: Contact, data: Mapping[str, Any], expected_version: int | None = None
) -> ContactPreferences:
    """The person's own change, from the public preference page their signed link opens
    (no user; the change history says "preference page"). Same checks and errors as
    ``contact_preferences_set``, no permission: the caller checked the link."""
    return _contact_preferences_write(
        actor=None,
        contact=contact,
        data=data,
        expected_version=expected_version,
        via="preference_page",
    )


def _contact_preferences_write(
    *,
    actor: Any,
    contact: Contact,
    data: Mapping[str, Any],
    expected_version: int | None,
    via: str,
) -> ContactPreferences:
    checked = _check(data, allowed=CONTACT_FIELDS)
    Contact.objects.select_for_update().filter(pk=contact.pk).values_list("pk").first()
    current = ContactPreferences.objects.filter(contact_id=contact.pk).first()
    version = current.version if current else 0
    if expected_version is not None and expected_version != version:
        raise Conflict("These preferences were changed by someone else since you loaded them.")
    before = _snapshot(current, _caps_of(contact.pk))
    prefs = current or ContactPreferences(contact=contact, version=0)
    for key, value in checked.fields.items():
        setattr(prefs, key, value)
    prefs.version = version + 1
    prefs.updated_by = actor if getattr(actor, "pk", None) else None
    prefs.save()
    FrequencyCap.objects.filter(contact_id=contact.pk).delete()
    FrequencyCap.objects.bulk_create(
        FrequencyCap(contact_id=contact.pk, **cap) for cap in checked.caps or []
    )
    after = _snapshot(prefs, _caps_of(contact.pk))
    changes = _changes(before, after)
    if changes:
        change_record(
            actor=actor,
            object_type="contact",
            object_id=contact.pk,
            object_repr=contact.display_name,
            action="update",
            changes=changes,
            via=via,
        )
    from rapport.outreach.services.reach import reach_refresh

    reach_refresh([contact.pk])
    return prefs


@transaction.atomic
def organization_preferences_set(
    *,
    actor: Any,
    organization: Organization,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    via: str = "ui",
) -> OrganizationPreferences:
    """Replace the defaults an organization's current people inherit (see
    gate/inputs.py for how they combine with a person's own). Same errors as
    ``contact_preferences_set``; needs organizations.change."""
    policy.require(actor, "organizations.change", organization)
    checked = _check(data, allowed=ORGANIZATION_FIELDS)
    Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk").first()
    current = OrganizationPreferences.objects.filter(organization_id=organization.pk).first()
    version = current.version if current else 0
    if expected_version is not None and expected_version != version:
        raise Conflict("These defaults were changed by someone else since you loaded them.")
    before = _snapshot(current)
    prefs = current or OrganizationPreferences(organization=organization, version=0)
    for key, value in checked.fields.items():
        setattr(prefs, key, value)
    prefs.version = version + 1
    prefs.updated_by = actor if getattr(actor, "pk", None) else None
    prefs.save()
    changes = _changes(before, _snapshot(prefs))
    if changes:
        change_record(
            actor=actor,
            object_type="organization",
            object_id=organization.pk,
            object_repr=organization.name,
            action="update",
            changes=changes,
            via=via,
        )
    return prefs
