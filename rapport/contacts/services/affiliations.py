"""Who works where: create, change and end affiliations; reporting lines never loop."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rapport.access.services import change_record
from rapport.contacts import normalize
from rapport.contacts.models import Affiliation, Contact, Organization
from rapport.contacts.services import _common as v
from rapport.contacts.services import search_doc
from rapport.contacts.services.contacts import contact_refresh_search, contact_touch
from rapport.core import policy
from rapport.core.errors import InvalidInput

KNOWN_FIELDS = frozenset(
    {
        "contact",
        "organization",
        "title",
        "department",
        "start_date",
        "end_date",
        "is_current",
        "reports_to",
        "buying_role",
    }
)


def _reporting_loop(contact_id: int, manager_id: int, organization_id: int) -> bool:
    """True when ``manager_id`` already reports, directly or not, to ``contact_id``."""
    seen: set[int] = set()
    current: int | None = manager_id
    while current is not None and current not in seen:
        if current == contact_id:
            return True
        seen.add(current)
        current = (
            Affiliation.objects.filter(
                contact_id=current, organization_id=organization_id, is_current=True
            )
            .values_list("reports_to_id", flat=True)
            .first()
        )
    return False


def _validate(data: Mapping[str, Any], current: Affiliation | None) -> dict[str, Any]:
    c = v.Collector()
    v.reject_control_characters(c, data)
    for key in data:
        if key not in KNOWN_FIELDS:
            c.add(key, "Unknown field.")
    merged: dict[str, Any] = {}
    if current is not None:
        merged = {
            "contact": current.contact_id,
            "organization": current.organization_id,
            "title": current.title,
            "department": current.department,
            "start_date": current.start_date,
            "end_date": current.end_date,
            "is_current": current.is_current,
            "reports_to": current.reports_to_id,
            "buying_role": current.buying_role,
        }
    merged.update({k: x for k, x in data.items() if k in KNOWN_FIELDS})
    fields: dict[str, Any] = {}
    for key, model, label in (
        ("contact", Contact, "contact"),
        ("organization", Organization, "organization"),
    ):
        value = merged.get(key)
        obj = model.objects.filter(pk=pk).first() if (pk := v.as_id(value)) else None
        if obj is None:
            c.add(
                key,
                f"Choose an existing {label}."
                if value in (None, "")
                else f"There is no {label} with id {value}.",
            )
        fields[key] = obj
    fields["title"] = v.text(c, merged, "title", 200)
    fields["department"] = v.text(c, merged, "department", 100)
    for key in ("start_date", "end_date"):
        value = merged.get(key)
        if value in (None, ""):
            fields[key] = None
        elif hasattr(value, "isoformat"):
            fields[key] = value
        else:
            fields[key] = c.check(key, normalize.parse_date, str(value))
    if fields["start_date"] and fields["end_date"] and fields["end_date"] < fields["start_date"]:
        c.add("end_date", "The end date is before the start date.")
    is_current = merged.get("is_current")
    fields["is_current"] = (fields["end_date"] is None) if is_current is None else bool(is_current)
    if (
        fields["is_current"]
        and fields["contact"]
        and fields["organization"]
        and Affiliation.objects.filter(
            contact=fields["contact"], organization=fields["organization"], is_current=True
        )
        .exclude(pk=current.pk if current else 0)
        .exists()
    ):
        c.add(
            "organization",
            f"{fields['contact'].display_name} already works at {fields['organization'].name}; "
            "change that affiliation instead.",
        )
    role = merged.get("buying_role") or ""
    if role and role not in Affiliation.BuyingRole.values:
        c.add("buying_role", f"Must be one of: {', '.join(Affiliation.BuyingRole.values)}.")
    fields["buying_role"] = role
    fields["reports_to"] = None
    manager_id = merged.get("reports_to")
    if manager_id not in (None, "") and fields["contact"] and fields["organization"]:
        manager = Contact.objects.filter(pk=pk).first() if (pk := v.as_id(manager_id)) else None
        if manager is None:
            c.add("reports_to", f"There is no contact with id {manager_id}.")
        elif manager.pk == fields["contact"].pk:
            c.add("reports_to", "A person cannot report to themselves.")
        elif not Affiliation.objects.filter(
            contact=manager, organization=fields["organization"], is_current=True
        ).exists():
            c.add(
                "reports_to",
                f"{manager.display_name} does not currently work at {fields['organization'].name}.",
            )
        elif _reporting_loop(fields["contact"].pk, manager.pk, fields["organization"].pk):
            c.add(
                "reports_to",
                f"{manager.display_name} already reports to this person; the chart cannot loop.",
            )
        else:
            fields["reports_to"] = manager
    if c.errors:
        raise InvalidInput(c.errors)
    return fields


def _record(
    actor: Any,
    contact: Contact,
    before: str | None,
    after: str | None,
    via: str,
    *,
    joined: Organization | None = None,
) -> None:
    """Bump the person's version and "Updated" time, refresh their search text and record the change.

    A new current role only adds the organization's name to the search text, which is
    cheaper than rebuilding it.
    """
    if joined is not None:
        addition = search_doc.build(names=[], organizations=[joined.name])
        Contact.objects.filter(pk=contact.pk).update(
            version=F("version") + 1,
            updated_at=timezone.now(),
            search_doc=f"{contact.search_doc} | {addition}" if contact.search_doc else addition,
        )
    else:
        contact_touch(contact_id=contact.pk)
        contact_refresh_search(contact=contact)
    change_record(
        actor=actor,
        object_type="contact",
        object_id=contact.pk,
        object_repr=contact.display_name,
        action="update",
        changes={"affiliations": [before, after]},
        via=via,
    )


@transaction.atomic
def affiliation_create(*, actor: Any, data: Mapping[str, Any], via: str = "ui") -> Affiliation:
    """Link a contact to an organization. Raises NotPermitted or InvalidInput."""
    policy.require(actor, "affiliations.change")
    fields = _validate(data, None)
    affiliation = Affiliation.objects.create(**fields)
    joined = affiliation.organization if affiliation.is_current else None
    _record(
        actor, affiliation.contact, None, v.describe_affiliation(affiliation), via, joined=joined
    )
    return affiliation


@transaction.atomic
def affiliation_update(
    *,
    actor: Any,
    affiliation: Affiliation,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    via: str = "ui",
) -> Affiliation:
    policy.require(actor, "affiliations.change", affiliation)
    v.lock_version(Affiliation, affiliation.pk, expected_version)
    current = Affiliation.objects.select_related("organization").get(pk=affiliation.pk)
    before = v.describe_affiliation(current)
    fields = _validate(data, current)
    old_contact = current.contact
    for key, value in fields.items():
        setattr(current, key, value)
    current.version = F("version") + 1
    current.save()
    current.refresh_from_db()
    if not current.is_current:
        # Someone who left no longer sits in the reporting line.
        Affiliation.objects.filter(
            organization=current.organization, reports_to=current.contact
        ).update(reports_to=current.reports_to)
    _record(actor, current.contact, before, v.describe_affiliation(current), via)
    if old_contact.pk != current.contact_id:
        _record(actor, old_contact, before, None, via)
    return current


@transaction.atomic
def affiliation_delete(
    *, actor: Any, affiliation: Affiliation, expected_version: int | None = None, via: str = "ui"
) -> None:
    policy.require(actor, "affiliations.change", affiliation)
    v.lock_version(Affiliation, affiliation.pk, expected_version)
    current = Affiliation.objects.select_related("organization", "contact").get(pk=affiliation.pk)
    before = v.describe_affiliation(current)
    Affiliation.objects.filter(
        organization=current.organization, reports_to=current.contact
    ).update(reports_to=current.reports_to)
    contact = current.contact
    current.delete()
    _record(actor, contact, before, None, via)
