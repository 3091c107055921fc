"""Every write to an organization: create, update, delete; the hierarchy never cycles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F

from rapport.access.models import ChangeRecord
from rapport.access.services import change_record, diff
from rapport.contacts import normalize
from rapport.contacts.limits import MAX_DOMAINS
from rapport.contacts.models import Address, Contact, Organization, Phone, Tag
from rapport.contacts.services import _common as v
from rapport.contacts.services import search_doc
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.core.locking import retry_once_on_conflict
from rapport.core.text import fold
from rapport.duplicates import services as duplicates

SCALAR_FIELDS = (
    "name",
    "legal_name",
    "industry",
    "size_band",
    "website",
    "notes",
    "owner",
    "parent",
)
LIST_FIELDS = ("domains", "phones", "addresses", "tags", "custom_fields")
KNOWN_FIELDS = frozenset({*SCALAR_FIELDS, *LIST_FIELDS})


def organization_snapshot(
    org: Organization,
    *,
    children: Mapping[str, list[dict[str, Any]]] | None = None,
    tags: list[Tag] | None = None,
) -> dict[str, Any]:
    """A JSON-ready picture of the organization for history diffs.

    ``children`` and ``tags`` give the rows just written, sparing a read-back.
    """
    if children is None:
        phones, addresses = list(org.phones.all()), list(org.addresses.all())
    else:
        phones = [Phone(**row) for row in children["phones"]]
        addresses = [Address(**row) for row in children["addresses"]]
    return {
        "name": org.name,
        "legal_name": org.legal_name,
        "industry": org.industry,
        "size_band": org.size_band,
        "website": org.website,
        "notes": org.notes,
        "owner": org.owner.username if org.owner_id and org.owner else None,
        "parent": org.parent.name if org.parent_id and org.parent else None,
        "domains": list(org.domains),
        "phones": [str(p) + (f" ({p.label})" if p.label else "") for p in phones],
        "addresses": [str(a) for a in addresses],
        "tags": sorted(t.name for t in (org.tags.all() if tags is None else tags)),
        # one entry per custom field, so history names each by its label
        **{f"custom_fields.{k}": v for k, v in (org.custom_fields or {}).items()},
    }


def _current(org: Organization | None) -> dict[str, Any]:
    if org is None:
        return {}
    return {
        "name": org.name,
        "legal_name": org.legal_name,
        "industry": org.industry,
        "size_band": org.size_band,
        "website": org.website,
        "notes": org.notes,
        "owner": org.owner.username if org.owner_id and org.owner else None,
        "parent": org.parent_id,
        "domains": list(org.domains),
        "phones": [
            {"number": p.number, "label": p.label, "primary": p.primary} for p in org.phones.all()
        ],
        "addresses": [
            {
                "street": a.street,
                "locality": a.locality,
                "region": a.region,
                "postcode": a.postcode,
                "country": a.country,
                "label": a.label,
                "primary": a.primary,
            }
            for a in org.addresses.all()
        ],
    }


def _ancestors(org_id: int) -> set[int]:
    seen: set[int] = set()
    current: int | None = org_id
    while current is not None and current not in seen:
        seen.add(current)
        current = (
            Organization.objects.filter(pk=current).values_list("parent_id", flat=True).first()
        )
    return seen


def _validate(
    data: Mapping[str, Any],
    *,
    actor: Any,
    current: Organization | None,
    lookups: v.Lookups | None = None,
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]], Any]:
    c = v.Collector()
    v.reject_control_characters(c, data)
    for key in data:
        if key not in KNOWN_FIELDS:
            c.add(key, "Unknown field.")
    merged = {**_current(current), **{k: x for k, x in data.items() if k in KNOWN_FIELDS}}
    fields: dict[str, Any] = {
        "name": v.text(c, merged, "name", 200),
        "legal_name": v.text(c, merged, "legal_name", 200),
        "industry": v.text(c, merged, "industry", 100),
        "notes": v.text(c, merged, "notes", 20_000),
        "owner": v.owner(c, merged, lookups),
    }
    if not fields["name"]:
        c.add("name", "An organization needs a name.")
    size = merged.get("size_band") or ""
    if size and size not in Organization.SizeBand.values:
        c.add("size_band", f"Must be one of: {', '.join(Organization.SizeBand.values)}.")
    fields["size_band"] = size
    website = merged.get("website") or ""
    fields["website"] = (c.check("website", normalize.url, str(website)) or "") if website else ""
    domains: list[str] = []
    raw_domains = merged.get("domains") or []
    if isinstance(raw_domains, str):
        raw_domains = [d for d in raw_domains.replace(",", " ").split() if d]
    if not isinstance(raw_domains, list):
        c.add("domains", "Must be a list of domain names.")
        raw_domains = []
    if len(raw_domains) > MAX_DOMAINS:
        c.add("domains", f"At most {MAX_DOMAINS} domains are allowed (got {len(raw_domains):,}).")
        raw_domains = []
    for i, raw in enumerate(raw_domains):
        found = c.check(f"domains[{i}]", normalize.domain, str(raw))
        if found and found not in domains:
            domains.append(found)
    fields["domains"] = domains
    parent_id = merged.get("parent")
    if isinstance(parent_id, Organization):
        parent_id = parent_id.pk
    fields["parent"] = None
    if parent_id not in (None, ""):
        parent = Organization.objects.filter(pk=pk).first() if (pk := v.as_id(parent_id)) else None
        if parent is None:
            c.add("parent", f"There is no organization with id {parent_id}.")
        elif current is not None and current.pk in _ancestors(parent.pk):
            c.add(
                "parent",
                f"“{parent.name}” is part of this organization; the hierarchy cannot loop.",
            )
        else:
            fields["parent"] = parent
    address_rows = v.addresses(c, merged)
    region = v.default_region(address_rows)
    phone_rows = v.phones(c, merged, region)
    fields["custom_fields"] = v.custom_fields(
        c,
        data,
        target="organization",
        current=current.custom_fields if current else {},
        region=region,
        lookups=lookups,
    )
    tags = v.tags(c, data, actor, lookups)
    if c.errors:
        raise InvalidInput(c.errors)
    return fields, {"phones": phone_rows, "addresses": address_rows}, tags


@dataclass
class OrganizationDraft:
    """A new organization that passed validation and is not saved yet."""

    fields: dict[str, Any]
    children: dict[str, list[dict[str, Any]]]
    tags: list[Tag | str]
    organization: Organization | None = field(default=None, repr=False)


def organization_draft(
    *, actor: Any, data: Mapping[str, Any], lookups: v.Lookups | None = None
) -> OrganizationDraft:
    """Validate a new organization exactly as ``organization_create`` does, without saving it.

    Raises InvalidInput.
    """
    fields, children, tags = _validate(data, actor=actor, current=None, lookups=lookups)
    return OrganizationDraft(fields, children, tags or [])


@transaction.atomic
def organizations_create(
    *,
    actor: Any,
    drafts: Sequence[OrganizationDraft],
    lookups: v.Lookups | None = None,
    via: str = "import",
) -> list[Organization]:
    """Save many validated drafts at once, history included; raises NotPermitted."""
    policy.require(actor, "organizations.add")
    tag_objects = v.ensure_tags([t for d in drafts for t in d.tags if isinstance(t, str)])
    by_key = {t.name_key: t for t in tag_objects}
    if lookups is not None:
        lookups.remember_tags(tag_objects)
    owner = actor if getattr(actor, "pk", None) else None
    for draft in drafts:
        draft.tags = [by_key[fold(t)] if isinstance(t, str) else t for t in draft.tags]
        fields = {**draft.fields, "owner": draft.fields["owner"] or owner}
        draft.organization = Organization(
            **fields,
            sort_name=fold(fields["name"]),
            search_doc=_search_text(
                fields,
                phones=[row["e164"] for row in draft.children["phones"]],
                places=[row["locality"] for row in draft.children["addresses"]],
                tags=[t.name for t in draft.tags if isinstance(t, Tag)],
            ),
        )
    orgs = [d.organization for d in drafts if d.organization is not None]
    Organization.objects.bulk_create(orgs, batch_size=500)
    phones, addresses, links, history = [], [], [], []
    for draft in drafts:
        org = draft.organization
        assert org is not None
        phones += [Phone(organization=org, **row) for row in draft.children["phones"]]
        addresses += [Address(organization=org, **row) for row in draft.children["addresses"]]
        tags = [t for t in draft.tags if isinstance(t, Tag)]
        links += [Organization.tags.through(organization_id=org.pk, tag_id=t.pk) for t in tags]
        history.append(
            ChangeRecord(
                actor_id=owner.pk if owner else None,
                object_type="organization",
                object_id=org.pk,
                object_repr=org.name[:300],
                action=ChangeRecord.Action.CREATE,
                changes=diff({}, organization_snapshot(org, children=draft.children, tags=tags)),
                via=via,
            )
        )
    Phone.objects.bulk_create(phones, batch_size=1000)
    Address.objects.bulk_create(addresses, batch_size=1000)
    Organization.tags.through.objects.bulk_create(links, batch_size=1000)
    ChangeRecord.objects.bulk_create(history, batch_size=500)
    duplicates.organization_keys_refresh(organization_ids=[org.pk for org in orgs])
    return orgs


def _search_text(
    fields: Mapping[str, Any], *, phones: Iterable[str], places: Iterable[str], tags: Iterable[str]
) -> str:
    return search_doc.build(
        names=[fields["name"], fields["legal_name"]],
        emails=[f"@{d}" for d in fields["domains"]],
        phones=phones,
        places=places,
        tags=tags,
        extra=[fields["industry"]],
    )


def organization_refresh_search(*, org: Organization) -> None:
    doc = _search_text(
        vars(org),
        phones=org.phones.values_list("e164", flat=True),
        places=org.addresses.values_list("locality", flat=True),
        tags=org.tags.values_list("name", flat=True),
    )
    Organization.objects.filter(pk=org.pk).update(search_doc=doc, sort_name=fold(org.name))


def _load(org_id: int) -> Organization:
    return (
        Organization.objects.select_related("owner", "parent")
        .prefetch_related("phones", "addresses", "tags")
        .get(pk=org_id)
    )


def _write_children(
    org: Organization, children: Mapping[str, list[dict[str, Any]]], replace: set[str]
) -> None:
    models = {"phones": Phone, "addresses": Address}
    for key in replace:
        v.replace_rows(models[key], {"organization": org}, children[key])


@retry_once_on_conflict
@transaction.atomic
def organization_create(*, actor: Any, data: Mapping[str, Any], via: str = "ui") -> Organization:
    """Validate and save a new organization. Raises NotPermitted or InvalidInput."""
    policy.require(actor, "organizations.add")
    fields, children, tags = _validate(data, actor=actor, current=None)
    if fields["owner"] is None and getattr(actor, "pk", None):
        fields["owner"] = actor
    org = Organization.objects.create(**fields, sort_name=fold(fields["name"]))
    _write_children(org, children, set(children))
    if tags:
        org.tags.set(v.ensure_tags(tags))
    organization_refresh_search(org=org)
    duplicates.organization_keys_refresh(organization_ids=[org.pk])
    org = _load(org.pk)
    change_record(
        actor=actor,
        object_type="organization",
        object_id=org.pk,
        object_repr=org.name,
        action="create",
        changes=diff({}, organization_snapshot(org)),
        via=via,
    )
    return org


@retry_once_on_conflict
@transaction.atomic
def organization_update(
    *,
    actor: Any,
    org: Organization,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    partial: bool = True,
    via: str = "ui",
) -> Organization:
    """Change an organization; raises Conflict on a stale ``expected_version``."""
    policy.require(actor, "organizations.change", org)
    v.lock_version(Organization, org.pk, expected_version)
    current = _load(org.pk)
    before = organization_snapshot(current)
    if not partial:
        data = {
            **{f: None for f in SCALAR_FIELDS},
            "domains": [],
            "phones": [],
            "addresses": [],
            "tags": [],
            "custom_fields": {k: None for k in current.custom_fields},
            **data,
        }
    fields, children, tags = _validate(data, actor=actor, current=current)
    renamed = fields["name"] != current.name
    for key, value in fields.items():
        setattr(current, key, value)
    current.sort_name = fold(fields["name"])
    current.version = F("version") + 1
    current.save()
    _write_children(current, children, {k for k in children if k in data})
    if tags is not None:
        current.tags.set(v.ensure_tags(tags))
    updated = _load(org.pk)
    organization_refresh_search(org=updated)
    duplicates.organization_keys_refresh(organization_ids=[updated.pk])
    if renamed:
        _refresh_people(updated)
    changes = diff(before, organization_snapshot(updated))
    if changes:
        change_record(
            actor=actor,
            object_type="organization",
            object_id=updated.pk,
            object_repr=updated.name,
            action="update",
            changes=changes,
            via=via,
        )
    return updated


def _refresh_people(org: Organization) -> None:
    from rapport.contacts.services.contacts import contact_refresh_search

    people = Contact.objects.filter(
        affiliations__organization=org, affiliations__is_current=True
    ).distinct()
    for person in people.iterator(chunk_size=500):
        contact_refresh_search(contact=person)


@retry_once_on_conflict
@transaction.atomic
def organization_delete(
    *, actor: Any, org: Organization, expected_version: int | None = None, via: str = "ui"
) -> None:
    """Delete an organization and its affiliations; child organizations lose their parent."""
    policy.require(actor, "organizations.delete", org)
    v.lock_version(Organization, org.pk, expected_version)
    current = _load(org.pk)
    people = list(Contact.objects.filter(affiliations__organization=current).distinct())
    change_record(
        actor=actor,
        object_type="organization",
        object_id=current.pk,
        object_repr=current.name,
        action="delete",
        changes=diff(organization_snapshot(current), {}),
        via=via,
    )
    current.delete()
    from rapport.contacts.services.contacts import contact_refresh_search

    for person in people:
        contact_refresh_search(contact=person)


@transaction.atomic
def organizations_delete(*, actor: Any, organization_ids: Sequence[int], via: str) -> list[int]:
    """Delete many organizations as ``organization_delete`` would, history kept.

    Ids that no longer exist are skipped. Returns the ids deleted. Raises NotPermitted
    (nothing deleted) when the actor may not delete one of them.
    """
    orgs = list(Organization.objects.filter(pk__in=organization_ids).order_by("pk"))
    for org in orgs:
        policy.require(actor, "organizations.delete", org)
    for org in orgs:
        organization_delete(actor=actor, org=org, via=via)
    return [org.pk for org in orgs]
