"""The contacts area's part in privacy requests (see ``rapport.core.subjects``): the
contact record, its emails, phones, addresses, links, external ids, roles at
organizations, tags, custom fields, photo and change history.

Erasing deletes the contact row last of all areas (``order``), so the others still find
what points at it. Anonymising keeps the row for statistics with only: the lifecycle
stage, the owner, the year it was created (``created_at`` moved to 1 January of that
year) and the country of its first address (kept as an address holding nothing else).
Mentions of the person in the history of the organizations they worked at and of the
people who reported to them are redacted ("[erased]"); the entries stay.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from rapport.access.models import ChangeRecord
from rapport.contacts.models import (
    Address,
    Affiliation,
    BulkJob,
    Contact,
    Email,
    ExternalId,
    Phone,
    WebLink,
)
from rapport.core.subjects import (
    Counts,
    DataCategory,
    Exported,
    ExportedFile,
    Identity,
    Subject,
    SubjectProvider,
)

ANONYMOUS_NAME = "Anonymised contact"
_SCALARS = (
    "prefix",
    "given_name",
    "middle_name",
    "family_name",
    "suffix",
    "nickname",
    "display_name",
    "birthday",
    "job_title",
    "time_zone",
    "language",
    "notes",
    "source",
    "lifecycle_stage",
    "custom_fields",
    "created_at",
    "updated_at",
    "last_contacted_at",
    "next_step",
    "next_step_at",
    "reach_out_by",
)


def identify(contact_ids: Sequence[int]) -> Identity:
    names: list[str] = []
    for row in Contact.objects.filter(pk__in=contact_ids).values(
        "display_name", "given_name", "middle_name", "family_name"
    ):
        names.append(row["display_name"])
        parts = [row["given_name"], row["middle_name"], row["family_name"]]
        names.append(" ".join(p for p in parts if p))
        names.append(" ".join(p for p in (row["given_name"], row["family_name"]) if p))
    return Identity(
        emails=tuple(
            Email.objects.filter(contact_id__in=contact_ids).values_list("address_key", flat=True)
        ),
        phones=tuple(
            Phone.objects.filter(contact_id__in=contact_ids).values_list("e164", flat=True)
        ),
        names=tuple(n for n in names if n),
        external_ids=tuple(
            ExternalId.objects.filter(contact_id__in=contact_ids).values_list("source", "value")
        ),
    )


def _related_history(subject: Subject) -> Any:
    """History entries of other records that may name the person: the organizations
    they worked at, and the people who reported to them or they to."""
    ids = list(subject.contact_ids)
    organizations = set(
        Affiliation.objects.filter(contact_id__in=ids).values_list("organization_id", flat=True)
    )
    people = set(
        Affiliation.objects.filter(reports_to_id__in=ids).values_list("contact_id", flat=True)
    ) | set(
        Affiliation.objects.filter(contact_id__in=ids, reports_to__isnull=False).values_list(
            "reports_to_id", flat=True
        )
    )
    people -= set(ids)
    return ChangeRecord.objects.filter(
        Q(object_type="organization", object_id__in=organizations)
        | Q(object_type="contact", object_id__in=people)
    )


def _mentioning(subject: Subject) -> list[ChangeRecord]:
    return [
        record
        for record in _related_history(subject).only("id", "object_repr", "changes")
        if subject.mentioned_in(record.object_repr) or subject.mentioned_in(str(record.changes))
    ]


def _redacted(value: Any, subject: Subject) -> Any:
    if isinstance(value, str):
        return subject.redact(value)
    if isinstance(value, list):
        return [_redacted(v, subject) for v in value]
    if isinstance(value, dict):
        return {k: _redacted(v, subject) for k, v in value.items()}
    return value


def export(subject: Subject) -> Exported:
    contact = Contact.objects.select_related("owner").filter(pk=subject.contact_id).first()
    result = Exported()
    if contact is None:
        return result
    record: dict[str, Any] = {"id": contact.pk}
    record.update({name: getattr(contact, name) for name in _SCALARS})
    record["owner"] = contact.owner.username if contact.owner else None
    record["tags"] = sorted(t.name for t in contact.tags.all())
    result.sections["Contact record"] = record
    result.sections["Email addresses"] = list(
        Email.objects.filter(contact=contact).values("address", "label", "primary")
    )
    result.sections["Phone numbers"] = list(
        Phone.objects.filter(contact=contact).values(
            "number", "e164", "extension", "label", "primary"
        )
    )
    result.sections["Postal addresses"] = list(
        Address.objects.filter(contact=contact).values(
            "street", "locality", "region", "postcode", "country", "label", "primary"
        )
    )
    result.sections["Web links"] = list(
        WebLink.objects.filter(contact=contact).values("url", "kind", "label", "primary")
    )
    result.sections["IDs in other systems"] = list(
        ExternalId.objects.filter(contact=contact).values("source", "value")
    )
    result.sections["Roles at organizations"] = [
        {
            "organization": a.organization.name,
            "title": a.title,
            "department": a.department,
            "start_date": a.start_date,
            "end_date": a.end_date,
            "current": a.is_current,
            "buying_role": a.get_buying_role_display() if a.buying_role else "",
            "reports_to": a.reports_to.display_name if a.reports_to else "",
        }
        for a in Affiliation.objects.filter(contact=contact).select_related(
            "organization", "reports_to"
        )
    ]
    result.sections["Change history"] = [
        {
            "at": r.at,
            "action": r.get_action_display(),
            "by": r.actor.username if r.actor else "system",
            "via": r.via,
            "record": r.object_repr,
            "changes": r.changes,
        }
        for r in ChangeRecord.objects.filter(
            object_type="contact", object_id__in=subject.contact_ids
        )
        .select_related("actor")
        .order_by("at", "id")
    ]
    if contact.photo:
        storage, name = contact.photo.storage, str(contact.photo.name)
        if storage.exists(name):
            result.files.append(
                ExportedFile(
                    name=f"photo-{name.rsplit('/', 1)[-1]}",
                    open=functools.partial(storage.open, name, "rb"),
                    size=storage.size(name),
                )
            )
    return result


def preview(subject: Subject) -> Counts:
    ids = list(subject.contact_ids)
    contact = Contact.objects.filter(pk=subject.contact_id).first()
    counts: Counts = {
        "contact records": 1 if contact and not subject.keep_record else 0,
        "email addresses": Email.objects.filter(contact_id__in=ids).count(),
        "phone numbers": Phone.objects.filter(contact_id__in=ids).count(),
        "postal addresses": Address.objects.filter(contact_id__in=ids).count(),
        "web links": WebLink.objects.filter(contact_id__in=ids).count(),
        "external ids": ExternalId.objects.filter(contact_id__in=ids).count(),
        "roles at organizations": Affiliation.objects.filter(contact_id__in=ids).count(),
        "tags": Contact.tags.through.objects.filter(contact_id__in=ids).count(),
        "custom field values": len(contact.custom_fields) if contact else 0,
        "photos": 1 if contact and contact.photo else 0,
        "history entries": ChangeRecord.objects.filter(
            object_type="contact", object_id__in=ids
        ).count(),
        "mentions in other records' history": len(_mentioning(subject)),
        "mentions in bulk action reports": len(_bulk_jobs(subject)),
    }
    return counts


def _bulk_jobs(subject: Subject) -> list[BulkJob]:
    ids = set(subject.contact_ids)
    return [
        job
        for job in BulkJob.objects.only("id", "ids", "failures")
        if ids & set(job.ids or []) or any(f.get("id") in ids for f in job.failures or [])
    ]


def erase(subject: Subject) -> Counts:
    counts = preview(subject)
    ids = list(subject.contact_ids)
    for record in _mentioning(subject):
        ChangeRecord.objects.filter(pk=record.pk).update(
            object_repr=subject.redact(record.object_repr)[:300],
            changes=_redacted(record.changes, subject),
        )
    for job in _bulk_jobs(subject):
        BulkJob.objects.filter(pk=job.pk).update(
            ids=[pk for pk in job.ids if pk not in ids],
            failures=[f for f in job.failures if f.get("id") not in ids],
        )
    ChangeRecord.objects.filter(object_type="contact", object_id__in=ids).delete()
    contact = Contact.objects.filter(pk=subject.contact_id).first()
    if contact is None:
        return counts
    if contact.photo:
        transaction.on_commit(
            functools.partial(contact.photo.storage.delete, str(contact.photo.name))
        )
    if subject.keep_record:
        _anonymise(contact)
    else:
        contact.delete()
    return counts


def _anonymise(contact: Contact) -> None:
    country = (
        Address.objects.filter(contact=contact)
        .exclude(country="")
        .order_by("-primary", "position", "id")
        .values_list("country", flat=True)
        .first()
    )
    for model in (Email, Phone, Address, WebLink, ExternalId, Affiliation):
        model.objects.filter(contact=contact).delete()
    Affiliation.objects.filter(reports_to=contact).update(reports_to=None)
    contact.tags.clear()
    if country:
        Address.objects.create(contact=contact, country=country, primary=True)
    created = timezone.localtime(contact.created_at)
    Contact.objects.filter(pk=contact.pk).update(
        **{f: "" for f in ("prefix", "given_name", "middle_name", "family_name", "suffix")},
        nickname="",
        display_name=ANONYMOUS_NAME,
        sort_name=ANONYMOUS_NAME.casefold(),
        family_key="",
        search_doc="",
        birthday=None,
        job_title="",
        time_zone="",
        language="",
        notes="",
        photo="",
        source="",
        custom_fields={},
        created_at=created.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0),
        updated_at=timezone.now(),
        last_contacted_at=None,
        next_step=None,
        next_step_at=None,
        reach_out_by=None,
    )


PROVIDER = SubjectProvider(
    name="contacts",
    label="Contact record",
    export=export,
    preview=preview,
    erase=erase,
    order=1000,
    identify=identify,
    categories=(
        DataCategory(
            "Identity",
            "names, nickname, birthday, photo, job title, notes",
            "contacts_contact",
        ),
        DataCategory(
            "Contact details",
            "email addresses, phone numbers, postal addresses, web and social links",
            "contacts_email, contacts_phone, contacts_address, contacts_weblink",
        ),
        DataCategory(
            "Work",
            "roles at organizations, reporting lines, buying roles",
            "contacts_affiliation",
        ),
        DataCategory(
            "Identifiers elsewhere and custom fields",
            "ids in other systems, admin-defined fields, tags",
            "contacts_externalid, contacts_contact.custom_fields, tags",
        ),
        DataCategory("Change history", "every earlier value of the above", "access_changerecord"),
    ),
)
