"""API routers for contacts, organizations, affiliations, tags and custom fields.

Thin on purpose: each handler parses the request, calls a selector or a service and
renders the result. Validation, permissions and history belong to the services.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Path, Query, Router, Schema, Status

from rapport.contacts import selectors, services
from rapport.contacts.models import (
    Affiliation,
    Contact,
    CustomFieldDefinition,
    Organization,
    Tag,
)
from rapport.contacts.schemas import (
    MAX_ID,
    AffiliationIn,
    AffiliationListParams,
    AffiliationOut,
    AffiliationPage,
    ChartNodeOut,
    ContactIn,
    ContactListParams,
    ContactOut,
    ContactPage,
    CustomFieldIn,
    CustomFieldListParams,
    CustomFieldOut,
    CustomFieldPage,
    HistoryEntry,
    OrganizationIn,
    OrganizationListParams,
    OrganizationOut,
    OrganizationPage,
    TagIn,
    TagOut,
    TagPage,
    VocabularyListParams,
)
from rapport.core.cursor import decode_cursor, encode_cursor
from rapport.core.errors import Conflict, InvalidInput

VIA = "api"
ObjectId = Path[int, {"ge": 1, "le": MAX_ID, "description": "The object's id."}]


class Detail(Schema):
    detail: str


class FieldErrorOut(Schema):
    field: str
    message: str


class Errors(Schema):
    errors: list[FieldErrorOut]


# Documented for every operation that can fail that way.
READ_ERRORS: dict[int, Any] = {401: Detail, 403: Detail, 404: Detail, 422: Errors}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 412: Detail}


# ---------------------------------------------------------------- HTTP plumbing


def _actor(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _entity_tags(request: HttpRequest) -> list[str] | None:
    """The entity tags of If-Match, or None when the header is absent or '*'."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def expected_version(request: HttpRequest, obj: Contact | Organization | Affiliation) -> int | None:
    """The version the client last saw, from If-Match; Conflict when it names another object."""
    tags = _entity_tags(request)
    if tags is None:
        return None
    for tag in tags:
        obj_id, _, version = tag.strip('"').partition("-")
        if obj_id == str(obj.pk) and version.isdigit():
            return int(version)
    raise Conflict("If-Match does not match this object; fetch it again.")


def require_current(request: HttpRequest, etag: str) -> None:
    """If-Match for records without a version: compare with the ETag they have now."""
    tags = _entity_tags(request)
    if tags is not None and etag not in tags:
        raise Conflict("This was changed by someone else since you loaded it.")


def _content_etag(obj_id: int, representation: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(representation, sort_keys=True).encode()).hexdigest()
    return f'"{obj_id}-{digest[:16]}"'


def _input(payload: Schema) -> dict[str, Any]:
    """Only what the client sent, as the plain dict the services take."""
    return payload.model_dump(exclude_unset=True)


def _full(payload: Schema, fields: Any) -> dict[str, Any]:
    """A full replacement for services that merge: every field not sent becomes empty."""
    return {**dict.fromkeys(fields), **_input(payload)}


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _custom_filters(request: HttpRequest) -> dict[str, str]:
    """``custom.<key>=value`` and ``custom.<key>__gte/__lte`` query parameters."""
    return {
        key.removeprefix("custom."): request.GET[key]
        for key in request.GET
        if key.startswith("custom.") and len(key) > len("custom.")
    }


def _page_in_memory(
    rows: list[Any], key: Any, types: tuple[type, ...], cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """Keyset paging over a short, fully loaded list (tags, custom field definitions)."""
    if not 1 <= limit <= selectors.MAX_LIMIT:
        raise InvalidInput.single("limit", f"Must be between 1 and {selectors.MAX_LIMIT}.")
    rows = sorted(rows, key=key)
    if cursor:
        after = tuple(decode_cursor(cursor, len(types)))
        if not all(type(value) is kind for value, kind in zip(after, types, strict=True)):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        rows = [r for r in rows if key(r) > after]
    page = rows[:limit]
    more = len(rows) > limit
    return page, encode_cursor(list(key(page[-1]))) if more else None


# ---------------------------------------------------------------- representations


def _points(items: Any, *fields: str) -> list[dict[str, Any]]:
    return [{f: getattr(item, f) for f in fields} for item in items]


_PHONE = ("number", "e164", "extension", "label", "primary")
_ADDRESS = ("street", "locality", "region", "postcode", "country", "label", "primary")


def _contact_ref(contact: Contact | None) -> dict[str, Any] | None:
    return {"id": contact.pk, "display_name": contact.display_name} if contact else None


def contact_out(contact: Contact) -> dict[str, Any]:
    """A contact as the API shows it (expects contact_prefetch's related rows)."""
    return {
        "id": contact.pk,
        "display_name": contact.display_name,
        "prefix": contact.prefix,
        "given_name": contact.given_name,
        "middle_name": contact.middle_name,
        "family_name": contact.family_name,
        "suffix": contact.suffix,
        "nickname": contact.nickname,
        "emails": _points(contact.emails.all(), "address", "label", "primary"),
        "phones": _points(contact.phones.all(), *_PHONE),
        "addresses": _points(contact.addresses.all(), *_ADDRESS),
        "urls": _points(contact.links.all(), "url", "kind", "label", "primary"),
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
                "reports_to": _contact_ref(a.reports_to),
                "buying_role": a.buying_role,
            }
            for a in contact.affiliations.all()
        ],
        "tags": [t.name for t in contact.tags.all()],
        "custom_fields": contact.custom_fields,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        "version": contact.version,
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
        "contact": _contact_ref(a.contact),
        "organization": {"id": a.organization.pk, "name": a.organization.name},
        "title": a.title,
        "department": a.department,
        "start_date": a.start_date,
        "end_date": a.end_date,
        "is_current": a.is_current,
        "reports_to": _contact_ref(a.reports_to),
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


def _history(entries: list[Any]) -> list[dict[str, Any]]:
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


def _with_etag(response: HttpResponse, etag: str, body: dict[str, Any]) -> dict[str, Any]:
    response["ETag"] = etag
    return body


def _created(
    request: HttpRequest, response: HttpResponse, obj_id: int, etag: str, body: dict[str, Any]
) -> Status[dict[str, Any]]:
    response["ETag"] = etag
    response["Location"] = f"{request.path.rstrip('/')}/{obj_id}"
    return Status(201, body)


# ---------------------------------------------------------------- contacts

contacts_router = Router(tags=["contacts"])


@contacts_router.get("", response={200: ContactPage, **READ_ERRORS}, summary="List contacts")
def list_contacts(request: HttpRequest, params: Query[ContactListParams]) -> dict[str, Any]:
    """Search and filter contacts, one page at a time.

    Custom fields filter as `custom.<key>=value`, and number or date fields also as
    `custom.<key>__gte=` and `custom.<key>__lte=`.
    """
    filters = selectors.ContactFilters(
        tags=params.tag,
        owner=params.owner,
        organization=params.organization,
        lifecycle_stage=params.lifecycle_stage,
        country=params.country,
        created_after=_aware(params.created_after),
        created_before=_aware(params.created_before),
        updated_after=_aware(params.updated_after),
        updated_before=_aware(params.updated_before),
        custom=_custom_filters(request),
    )
    page = selectors.contact_list(
        actor=_actor(request),
        q=params.q,
        filters=filters,
        sort=params.sort or "",
        cursor=params.cursor,
        limit=params.limit,
    )
    return {"items": [contact_out(c) for c in page.items], "next_cursor": page.next_cursor}


def _contact(request: HttpRequest, contact_id: int) -> Contact:
    return selectors.contact_get(actor=_actor(request), contact_id=contact_id)


@contacts_router.post("", response={201: ContactOut, **WRITE_ERRORS}, summary="Create a contact")
def create_contact(
    request: HttpRequest, payload: ContactIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    contact = services.contact_create(actor=_actor(request), data=_input(payload), via=VIA)
    contact = _contact(request, contact.pk)
    return _created(request, response, contact.pk, contact.etag, contact_out(contact))


@contacts_router.get(
    "/{contact_id}", response={200: ContactOut, **READ_ERRORS}, summary="Read a contact"
)
def get_contact(
    request: HttpRequest, contact_id: ObjectId, response: HttpResponse
) -> dict[str, Any]:
    contact = _contact(request, contact_id)
    return _with_etag(response, contact.etag, contact_out(contact))


def _update_contact(
    request: HttpRequest, contact_id: int, payload: ContactIn, response: HttpResponse, partial: bool
) -> dict[str, Any]:
    contact = Contact.objects.get(pk=contact_id)
    services.contact_update(
        actor=_actor(request),
        contact=contact,
        data=_input(payload),
        expected_version=expected_version(request, contact),
        partial=partial,
        via=VIA,
    )
    contact = _contact(request, contact_id)
    return _with_etag(response, contact.etag, contact_out(contact))


@contacts_router.put(
    "/{contact_id}", response={200: ContactOut, **WRITE_ERRORS}, summary="Replace a contact"
)
def replace_contact(
    request: HttpRequest, contact_id: ObjectId, payload: ContactIn, response: HttpResponse
) -> dict[str, Any]:
    """Every field not sent is cleared (custom fields too)."""
    return _update_contact(request, contact_id, payload, response, partial=False)


@contacts_router.patch(
    "/{contact_id}", response={200: ContactOut, **WRITE_ERRORS}, summary="Change a contact"
)
def patch_contact(
    request: HttpRequest, contact_id: ObjectId, payload: ContactIn, response: HttpResponse
) -> dict[str, Any]:
    """Only the fields sent change; a list sent (emails, tags…) replaces the whole list."""
    return _update_contact(request, contact_id, payload, response, partial=True)


@contacts_router.delete(
    "/{contact_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a contact"
)
def delete_contact(request: HttpRequest, contact_id: ObjectId) -> Status[None]:
    contact = Contact.objects.get(pk=contact_id)
    services.contact_delete(
        actor=_actor(request),
        contact=contact,
        expected_version=expected_version(request, contact),
        via=VIA,
    )
    return Status(204, None)


@contacts_router.get(
    "/{contact_id}/history",
    response={200: list[HistoryEntry], **READ_ERRORS},
    summary="A contact's change history",
)
def contact_history(request: HttpRequest, contact_id: ObjectId) -> list[dict[str, Any]]:
    """Newest first; kept after the contact is deleted."""
    entries = selectors.history_for(
        actor=_actor(request), object_type="contact", object_id=contact_id
    )
    if not entries:
        Contact.objects.only("pk").get(pk=contact_id)  # 404 for an id that never existed
    return _history(entries)


# ---------------------------------------------------------------- organizations

organizations_router = Router(tags=["organizations"])


@organizations_router.get(
    "", response={200: OrganizationPage, **READ_ERRORS}, summary="List organizations"
)
def list_organizations(
    request: HttpRequest, params: Query[OrganizationListParams]
) -> dict[str, Any]:
    """Custom fields filter as `custom.<key>=value` (and `__gte` / `__lte`)."""
    filters = selectors.OrganizationFilters(
        tags=params.tag,
        owner=params.owner,
        parent=params.parent,
        industry=params.industry,
        country=params.country,
        custom=_custom_filters(request),
    )
    page = selectors.organization_list(
        actor=_actor(request),
        q=params.q,
        filters=filters,
        sort=params.sort or "",
        cursor=params.cursor,
        limit=params.limit,
    )
    return {"items": [organization_out(o) for o in page.items], "next_cursor": page.next_cursor}


def _organization(request: HttpRequest, org_id: int) -> Organization:
    return selectors.organization_get(actor=_actor(request), org_id=org_id)


@organizations_router.post(
    "", response={201: OrganizationOut, **WRITE_ERRORS}, summary="Create an organization"
)
def create_organization(
    request: HttpRequest, payload: OrganizationIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    org = services.organization_create(actor=_actor(request), data=_input(payload), via=VIA)
    return _created(request, response, org.pk, org.etag, organization_out(org))


@organizations_router.get(
    "/{org_id}", response={200: OrganizationOut, **READ_ERRORS}, summary="Read an organization"
)
def get_organization(
    request: HttpRequest, org_id: ObjectId, response: HttpResponse
) -> dict[str, Any]:
    org = _organization(request, org_id)
    return _with_etag(response, org.etag, organization_out(org))


def _update_organization(
    request: HttpRequest,
    org_id: int,
    payload: OrganizationIn,
    response: HttpResponse,
    partial: bool,
) -> dict[str, Any]:
    org = Organization.objects.get(pk=org_id)
    updated = services.organization_update(
        actor=_actor(request),
        org=org,
        data=_input(payload),
        expected_version=expected_version(request, org),
        partial=partial,
        via=VIA,
    )
    return _with_etag(response, updated.etag, organization_out(updated))


@organizations_router.put(
    "/{org_id}", response={200: OrganizationOut, **WRITE_ERRORS}, summary="Replace an organization"
)
def replace_organization(
    request: HttpRequest, org_id: ObjectId, payload: OrganizationIn, response: HttpResponse
) -> dict[str, Any]:
    return _update_organization(request, org_id, payload, response, partial=False)


@organizations_router.patch(
    "/{org_id}", response={200: OrganizationOut, **WRITE_ERRORS}, summary="Change an organization"
)
def patch_organization(
    request: HttpRequest, org_id: ObjectId, payload: OrganizationIn, response: HttpResponse
) -> dict[str, Any]:
    return _update_organization(request, org_id, payload, response, partial=True)


@organizations_router.delete(
    "/{org_id}", response={204: None, **WRITE_ERRORS}, summary="Delete an organization"
)
def delete_organization(request: HttpRequest, org_id: ObjectId) -> Status[None]:
    """Its affiliations go too; child organizations lose their parent."""
    org = Organization.objects.get(pk=org_id)
    services.organization_delete(
        actor=_actor(request), org=org, expected_version=expected_version(request, org), via=VIA
    )
    return Status(204, None)


@organizations_router.get(
    "/{org_id}/chart",
    response={200: list[ChartNodeOut], **READ_ERRORS},
    summary="An organization's chart",
)
def organization_chart(request: HttpRequest, org_id: ObjectId) -> list[dict[str, Any]]:
    """Current people as reporting trees; the people nobody is above come first."""
    org = Organization.objects.get(pk=org_id)
    roots = selectors.organization_chart(actor=_actor(request), org=org)

    def node(n: selectors.ChartNode) -> dict[str, Any]:
        a = n.affiliation
        return {
            "affiliation_id": a.pk,
            "contact": _contact_ref(a.contact),
            "title": a.title,
            "department": a.department,
            "buying_role": a.buying_role,
            "reports": [node(r) for r in n.reports],
        }

    return [node(r) for r in roots]


@organizations_router.get(
    "/{org_id}/history",
    response={200: list[HistoryEntry], **READ_ERRORS},
    summary="An organization's change history",
)
def organization_history(request: HttpRequest, org_id: ObjectId) -> list[dict[str, Any]]:
    entries = selectors.history_for(
        actor=_actor(request), object_type="organization", object_id=org_id
    )
    if not entries:
        Organization.objects.only("pk").get(pk=org_id)
    return _history(entries)


# ---------------------------------------------------------------- affiliations

affiliations_router = Router(tags=["affiliations"])
_AFFILIATION_FIELDS = tuple(AffiliationIn.model_fields)


@affiliations_router.get(
    "", response={200: AffiliationPage, **READ_ERRORS}, summary="List affiliations"
)
def list_affiliations(request: HttpRequest, params: Query[AffiliationListParams]) -> dict[str, Any]:
    page = selectors.affiliation_list(
        actor=_actor(request),
        q=params.q,
        filters=selectors.AffiliationFilters(
            contact=params.contact,
            organization=params.organization,
            is_current=params.is_current,
        ),
        cursor=params.cursor,
        limit=params.limit,
    )
    return {"items": [affiliation_out(a) for a in page.items], "next_cursor": page.next_cursor}


def _affiliation(request: HttpRequest, affiliation_id: int) -> Affiliation:
    return selectors.affiliation_get(actor=_actor(request), affiliation_id=affiliation_id)


@affiliations_router.post(
    "", response={201: AffiliationOut, **WRITE_ERRORS}, summary="Link a person to an organization"
)
def create_affiliation(
    request: HttpRequest, payload: AffiliationIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    created = services.affiliation_create(actor=_actor(request), data=_input(payload), via=VIA)
    a = _affiliation(request, created.pk)
    return _created(request, response, a.pk, a.etag, affiliation_out(a))


@affiliations_router.get(
    "/{affiliation_id}",
    response={200: AffiliationOut, **READ_ERRORS},
    summary="Read an affiliation",
)
def get_affiliation(
    request: HttpRequest, affiliation_id: ObjectId, response: HttpResponse
) -> dict[str, Any]:
    a = _affiliation(request, affiliation_id)
    return _with_etag(response, a.etag, affiliation_out(a))


def _update_affiliation(
    request: HttpRequest, affiliation_id: int, data: dict[str, Any], response: HttpResponse
) -> dict[str, Any]:
    current = _affiliation(request, affiliation_id)
    services.affiliation_update(
        actor=_actor(request),
        affiliation=current,
        data=data,
        expected_version=expected_version(request, current),
        via=VIA,
    )
    a = _affiliation(request, affiliation_id)
    return _with_etag(response, a.etag, affiliation_out(a))


@affiliations_router.put(
    "/{affiliation_id}",
    response={200: AffiliationOut, **WRITE_ERRORS},
    summary="Replace an affiliation",
)
def replace_affiliation(
    request: HttpRequest, affiliation_id: ObjectId, payload: AffiliationIn, response: HttpResponse
) -> dict[str, Any]:
    return _update_affiliation(
        request, affiliation_id, _full(payload, _AFFILIATION_FIELDS), response
    )


@affiliations_router.patch(
    "/{affiliation_id}",
    response={200: AffiliationOut, **WRITE_ERRORS},
    summary="Change an affiliation",
)
def patch_affiliation(
    request: HttpRequest, affiliation_id: ObjectId, payload: AffiliationIn, response: HttpResponse
) -> dict[str, Any]:
    """Ending one (is_current false) moves the people who reported to them up a level."""
    return _update_affiliation(request, affiliation_id, _input(payload), response)


@affiliations_router.delete(
    "/{affiliation_id}", response={204: None, **WRITE_ERRORS}, summary="Delete an affiliation"
)
def delete_affiliation(request: HttpRequest, affiliation_id: ObjectId) -> Status[None]:
    current = _affiliation(request, affiliation_id)
    services.affiliation_delete(
        actor=_actor(request),
        affiliation=current,
        expected_version=expected_version(request, current),
        via=VIA,
    )
    return Status(204, None)


# ---------------------------------------------------------------- tags

tags_router = Router(tags=["tags"])


def _tag_etag(tag: Tag) -> str:
    return _content_etag(tag.pk, tag_out(tag))


@tags_router.get("", response={200: TagPage, **READ_ERRORS}, summary="List tags")
def list_tags(request: HttpRequest, params: Query[VocabularyListParams]) -> dict[str, Any]:
    """By name, ignoring case."""
    needle = params.q.strip().casefold()
    tags = [t for t in selectors.tag_list(actor=_actor(request)) if needle in t.name.casefold()]
    page, cursor = _page_in_memory(
        tags, lambda t: (t.name_key, t.pk), (str, int), params.cursor, params.limit
    )
    return {"items": [tag_out(t) for t in page], "next_cursor": cursor}


@tags_router.post("", response={201: TagOut, **WRITE_ERRORS}, summary="Create a tag")
def create_tag(
    request: HttpRequest, payload: TagIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    tag = services.tag_create(actor=_actor(request), data=_input(payload))
    return _created(request, response, tag.pk, _tag_etag(tag), tag_out(tag))


@tags_router.get("/{tag_id}", response={200: TagOut, **READ_ERRORS}, summary="Read a tag")
def get_tag(request: HttpRequest, tag_id: ObjectId, response: HttpResponse) -> dict[str, Any]:
    tag = selectors.tag_get(actor=_actor(request), tag_id=tag_id)
    return _with_etag(response, _tag_etag(tag), tag_out(tag))


def _update_tag(
    request: HttpRequest, tag_id: int, data: dict[str, Any], response: HttpResponse
) -> dict[str, Any]:
    tag = selectors.tag_get(actor=_actor(request), tag_id=tag_id)
    require_current(request, _tag_etag(tag))
    tag = services.tag_update(actor=_actor(request), tag=tag, data=data)
    return _with_etag(response, _tag_etag(tag), tag_out(tag))


@tags_router.put("/{tag_id}", response={200: TagOut, **WRITE_ERRORS}, summary="Replace a tag")
def replace_tag(
    request: HttpRequest, tag_id: ObjectId, payload: TagIn, response: HttpResponse
) -> dict[str, Any]:
    """Renaming a tag renames it on every contact and organization that carries it."""
    return _update_tag(request, tag_id, _full(payload, ("name", "color")), response)


@tags_router.patch("/{tag_id}", response={200: TagOut, **WRITE_ERRORS}, summary="Change a tag")
def patch_tag(
    request: HttpRequest, tag_id: ObjectId, payload: TagIn, response: HttpResponse
) -> dict[str, Any]:
    return _update_tag(request, tag_id, _input(payload), response)


@tags_router.delete("/{tag_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a tag")
def delete_tag(request: HttpRequest, tag_id: ObjectId) -> Status[None]:
    """The tag disappears from every record that carries it."""
    tag = selectors.tag_get(actor=_actor(request), tag_id=tag_id)
    require_current(request, _tag_etag(tag))
    services.tag_delete(actor=_actor(request), tag=tag)
    return Status(204, None)


# ---------------------------------------------------------------- custom fields

custom_fields_router = Router(tags=["custom fields"])
_CUSTOM_FIELD_FIELDS = tuple(CustomFieldIn.model_fields)


def _definition_etag(d: CustomFieldDefinition) -> str:
    return _content_etag(d.pk, custom_field_out(d))


@custom_fields_router.get(
    "", response={200: CustomFieldPage, **READ_ERRORS}, summary="List custom fields"
)
def list_custom_fields(
    request: HttpRequest, params: Query[CustomFieldListParams]
) -> dict[str, Any]:
    """In form order: by target, then position."""
    needle = params.q.strip().casefold()
    definitions = [
        d
        for d in selectors.custom_field_list(actor=_actor(request), target=params.target)
        if needle in d.label.casefold() or needle in d.key
    ]
    page, cursor = _page_in_memory(
        definitions,
        lambda d: (d.target, d.position, d.pk),
        (str, int, int),
        params.cursor,
        params.limit,
    )
    return {"items": [custom_field_out(d) for d in page], "next_cursor": cursor}


@custom_fields_router.post(
    "", response={201: CustomFieldOut, **WRITE_ERRORS}, summary="Define a custom field"
)
def create_custom_field(
    request: HttpRequest, payload: CustomFieldIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    d = services.custom_field_create(actor=_actor(request), data=_input(payload))
    return _created(request, response, d.pk, _definition_etag(d), custom_field_out(d))


@custom_fields_router.get(
    "/{definition_id}",
    response={200: CustomFieldOut, **READ_ERRORS},
    summary="Read a custom field definition",
)
def get_custom_field(
    request: HttpRequest, definition_id: ObjectId, response: HttpResponse
) -> dict[str, Any]:
    d = selectors.custom_field_get(actor=_actor(request), definition_id=definition_id)
    return _with_etag(response, _definition_etag(d), custom_field_out(d))


def _update_custom_field(
    request: HttpRequest, definition_id: int, data: dict[str, Any], response: HttpResponse
) -> dict[str, Any]:
    d = selectors.custom_field_get(actor=_actor(request), definition_id=definition_id)
    require_current(request, _definition_etag(d))
    d = services.custom_field_update(actor=_actor(request), definition=d, data=data)
    return _with_etag(response, _definition_etag(d), custom_field_out(d))


@custom_fields_router.put(
    "/{definition_id}",
    response={200: CustomFieldOut, **WRITE_ERRORS},
    summary="Replace a custom field definition",
)
def replace_custom_field(
    request: HttpRequest, definition_id: ObjectId, payload: CustomFieldIn, response: HttpResponse
) -> dict[str, Any]:
    """Send the whole definition; the key, target and type cannot change."""
    return _update_custom_field(
        request, definition_id, _full(payload, _CUSTOM_FIELD_FIELDS), response
    )


@custom_fields_router.patch(
    "/{definition_id}",
    response={200: CustomFieldOut, **WRITE_ERRORS},
    summary="Change a custom field definition",
)
def patch_custom_field(
    request: HttpRequest, definition_id: ObjectId, payload: CustomFieldIn, response: HttpResponse
) -> dict[str, Any]:
    return _update_custom_field(request, definition_id, _input(payload), response)


@custom_fields_router.delete(
    "/{definition_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a custom field definition",
)
def delete_custom_field(request: HttpRequest, definition_id: ObjectId) -> Status[None]:
    """Values already stored stay in the records' history."""
    d = selectors.custom_field_get(actor=_actor(request), definition_id=definition_id)
    require_current(request, _definition_etag(d))
    services.custom_field_delete(actor=_actor(request), definition=d)
    return Status(204, None)
