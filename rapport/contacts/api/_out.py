"""How each record looks in the API (the shapes documented in schemas.py)."""

from __future__ import annotations

from typing import Any

from rapport.contacts.models import Affiliation, Contact, CustomFieldDefinition, Organization, Tag


def _points(items: Any, *fields: str) -> list[dict[str, Any]]:
    return [{f: getattr(item, f) for f in fields} for item in items]


_PHONE = ("number", "e164", "extension", "label", "primary")
_ADDRESS = ("street", "locality", "region", "postcode", "country", "label", "primary")


def contact_ref(contact: Contact | None) -> dict[str, Any] | None:
    return {"id": contact.pk, "display_name": contact.display_name} if contact else None


def contact_out(contact: Contact) -> dict[str, Any]:
    """A contact as the API shows it (from selectors.contact_prefetch: its related lists)."""
    return {
        "id": contact.pk,
        "display_name": contact.display_name,
        "prefix": contact.prefix,
        "given_name": contact.given_name,
        "middle_name": contact.middle_name,
        "family_name": contact.family_name,
        "suffix": contact.suffix,
        "nickname": contact.nickname,
        "emails": _points(contact.email_list, "address", "label", "primary"),
        "phones": _points(contact.phone_list, *_PHONE),
        "addresses": _points(contact.address_list, *_ADDRESS),
        "urls": _points(contact.link_list, "url", "kind", "label", "primary"),
        "external_ids": [{"source": x.source, "id": x.value} for x in contact.external_id_list],
        "birthday": contact.birthday,
        "job_title": contact.job_title,
        "time_zone": contact.time_zone,
        "language": contact.language,
        "notes": contact.notes,
        "owner": contact.owner.username if contact.owner else None,
        "source": contact.source,
        "lifecycle_stage": contact.lifecycle_stage,
        "affiliations": [
            {
                "id": a.pk,
                "organization": {"id": a.organization.pk, "name": a.organization.name},
                "title": a.title,
                "department": a.department,
                "start_date": a.start_date,
                "end_date": a.end_date,
                "is_current": a.is_current,
                "reports_to": contact_ref(a.reports_to),
                "buying_role": a.buying_role,
            }
            for a in contact.affiliation_list
        ],
        "tags": [t.name for t in contact.tag_list],
        "custom_fields": contact.custom_fields,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        "version": contact.version,
        "photo_url": f"/api/v1/contacts/{contact.pk}/photo" if contact.photo else None,
        "last_contacted_at": contact.last_contacted_at,
        "next_step": contact.next_step or None,
        "next_step_at": contact.next_step_at,
        "reach_out_by": contact.reach_out_by,
    }


def organization_out(org: Organization) -> dict[str, Any]:
    return {
        "id": org.pk,
        "name": org.name,
        "legal_name": org.legal_name,
        "domains": list(org.domains),
        "industry": org.industry,
        "size_band": org.size_band,
        "website": org.website,
        "notes": org.notes,
        "owner": org.owner.username if org.owner else None,
        "parent": {"id": org.parent.pk, "name": org.parent.name} if org.parent else None,
        "phones": _points(org.phones.all(), *_PHONE),
        "addresses": _points(org.addresses.all(), *_ADDRESS),
        "tags": [t.name for t in org.tags.all()],
        "custom_fields": org.custom_fields,
        "created_at": org.created_at,
        "updated_at": org.updated_at,
        "version": org.version,
    }


def affiliation_out(a: Affiliation) -> dict[str, Any]:
    return {
        "id": a.pk,
        "contact": contact_ref(a.contact),
        "organization": {"id": a.organization.pk, "name": a.organization.name},
        "title": a.title,
        "department": a.department,
        "start_date": a.start_date,
        "end_date": a.end_date,
        "is_current": a.is_current,
        "reports_to": contact_ref(a.reports_to),
        "buying_role": a.buying_role,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
        "version": a.version,
    }


def tag_out(tag: Tag) -> dict[str, Any]:
    return {"id": tag.pk, "name": tag.name, "color": tag.color}


def custom_field_out(d: CustomFieldDefinition) -> dict[str, Any]:
    return {
        "id": d.pk,
        "target": d.target,
        "key": d.key,
        "label": d.label,
        "field_type": d.field_type,
        "required": d.required,
        "choices": list(d.choices),
        "help_text": d.help_text,
        "position": d.position,
    }


def history_out(entries: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": e.pk,
            "at": e.at,
            "action": e.action,
            "actor": e.actor.username if e.actor else None,
            "via": e.via,
            "changes": e.changes,
        }
        for e in entries
    ]
