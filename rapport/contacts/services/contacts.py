"""Every write to a contact: create, update (full or partial), delete."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rapport.access.models import ChangeRecord
from rapport.access.services import change_record, diff
from rapport.contacts import normalize
from rapport.contacts.models import (
    Address,
    Affiliation,
    Contact,
    Email,
    ExternalId,
    Organization,
    Phone,
    Tag,
    WebLink,
)
from rapport.contacts.services import _common as v
from rapport.contacts.services import search_doc
from rapport.core import bulk, hooks, policy
from rapport.core.errors import FieldError, InvalidInput, NotAdmitted
from rapport.core.locking import retry_once_on_conflict
from rapport.core.text import fold
from rapport.duplicates import services as duplicates

NAME_FIELDS = ("prefix", "given_name", "middle_name", "family_name", "suffix", "nickname")
NAME_LIMITS = {"prefix": 30, "suffix": 30}
SCALAR_FIELDS = (
    *NAME_FIELDS,
    "birthday",
    "job_title",
    "time_zone",
    "language",
    "notes",
    "owner",
    "source",
    "lifecycle_stage",
)
LIST_FIELDS = ("emails", "phones", "addresses", "urls", "external_ids", "tags", "custom_fields")
KNOWN_FIELDS = frozenset({"full_name", *SCALAR_FIELDS, *LIST_FIELDS})


def contact_snapshot(
    contact: Contact,
    *,
    children: Mapping[str, list[dict[str, Any]]] | None = None,
    tags: list[Tag] | None = None,
) -> dict[str, Any]:
    """A JSON-ready picture of the contact, used for history diffs.

    ``children`` and ``tags`` give the rows just written, sparing a read-back.
    """
    if children is None:
        children = {
            "emails": [vars(e) for e in contact.emails.all()],
            "phones": [vars(p) for p in contact.phones.all()],
            "addresses": [vars(a) for a in contact.addresses.all()],
            "urls": [vars(w) for w in contact.links.all()],
            "external_ids": [vars(x) for x in contact.external_ids.all()],
        }
    owner = contact.owner.username if contact.owner_id and contact.owner else None
    return _snapshot(
        vars(contact),
        owner=owner,
        children=children,
        tag_names=[t.name for t in (contact.tags.all() if tags is None else tags)],
    )


def _snapshot(
    values: Mapping[str, Any],
    *,
    owner: str | None,
    children: Mapping[str, Sequence[Mapping[str, Any]]],
    tag_names: list[str],
) -> dict[str, Any]:
    birthday = values["birthday"]
    return {
        **{f: values[f] for f in NAME_FIELDS},
        "birthday": birthday.isoformat() if birthday else None,
        "job_title": values["job_title"],
        "time_zone": values["time_zone"],
        "language": values["language"],
        "notes": values["notes"],
        "owner": owner,
        "source": values["source"],
        "lifecycle_stage": values["lifecycle_stage"],
        "emails": [_point_text(e["address"], e) for e in children["emails"]],
        "phones": [
            _point_text(p["e164"] + (f" ext. {p['extension']}" if p["extension"] else ""), p)
            for p in children["phones"]
        ],
        "addresses": [
            _point_text(
                ", ".join(
                    x for x in (a["street"], a["locality"], a["postcode"], a["country"]) if x
                ),
                a,
                mark_primary=False,
            )
            for a in children["addresses"]
        ],
        "urls": [w["url"] for w in children["urls"]],
        "external_ids": [f"{x['source']}: {x['value']}" for x in children["external_ids"]],
        "tags": sorted(tag_names),
        # one entry per custom field, so history names each by its label
        **{f"custom_fields.{k}": v for k, v in (values["custom_fields"] or {}).items()},
    }


def _point_text(text: str, row: Mapping[str, Any], *, mark_primary: bool = True) -> str:
    """'ada@example.org (work) *': the value, its label, and a star on the primary one."""
    label = f" ({row['label']})" if row["label"] else ""
    return text + label + (" *" if mark_primary and row["primary"] else "")


def contact_values(contact: Contact | None) -> dict[str, Any]:
    """The contact's present values in input form, so a PATCH can fill what was not sent."""
    if contact is None:
        return {}
    return {
        **{f: getattr(contact, f) for f in NAME_FIELDS},
        "birthday": contact.birthday,
        "job_title": contact.job_title,
        "time_zone": contact.time_zone,
        "language": contact.language,
        "notes": contact.notes,
        "owner": contact.owner.username if contact.owner_id and contact.owner else None,
        "source": contact.source,
        "lifecycle_stage": contact.lifecycle_stage,
        "emails": [
            {"address": e.address, "label": e.label, "primary": e.primary}
            for e in contact.emails.all()
        ],
        "phones": [
            {
                "number": p.number
                + (f" ext. {p.extension}" if p.extension and "x" not in p.number.lower() else ""),
                "label": p.label,
                "primary": p.primary,
            }
            for p in contact.phones.all()
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
            for a in contact.addresses.all()
        ],
        "urls": [
            {"url": w.url, "kind": w.kind, "label": w.label, "primary": w.primary}
            for w in contact.links.all()
        ],
        "external_ids": [{"source": x.source, "id": x.value} for x in contact.external_ids.all()],
    }


def _validate(
    data: Mapping[str, Any],
    *,
    actor: Any,
    current: Contact | None,
    lookups: v.Lookups | None = None,
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]], Any]:
    """Check and normalise the whole input; raise InvalidInput listing every problem."""
    c = v.Collector()
    v.reject_control_characters(c, data)
    for key in data:
        if key not in KNOWN_FIELDS:
            c.add(key, "Unknown field.")
    merged: dict[str, Any] = {
        **contact_values(current),
        **{k: v_ for k, v_ in data.items() if k in KNOWN_FIELDS},
    }

    fields: dict[str, Any] = {}
    parts = _name_parts(v.text(c, data, "full_name", 300), data) if data.get("full_name") else None
    for name in NAME_FIELDS:
        explicit = v.text(c, merged, name, NAME_LIMITS.get(name, 100))
        value = explicit if (parts is None or name in data) else getattr(parts, name)
        # as typed, emoji included; one form only, so "é" typed two ways is one name
        value = unicodedata.normalize("NFC", value)
        if value and all(unicodedata.category(ch)[0] in "CZM" for ch in value):
            c.add(name if parts is None or name in data else "full_name",
                  "Must contain a visible character, not only spacing or joining marks.")  # fmt: skip
        fields[name] = value
    fields["job_title"] = v.text(c, merged, "job_title", 200)
    fields["notes"] = v.text(c, merged, "notes", 20_000)
    fields["source"] = v.text(c, merged, "source", 100)
    fields["time_zone"] = (
        c.check("time_zone", normalize.time_zone, merged.get("time_zone") or "") or ""
    )
    fields["language"] = c.check("language", normalize.language, merged.get("language") or "") or ""
    birthday = merged.get("birthday")
    fields["birthday"] = c.check("birthday", normalize.birthday, birthday) if birthday else None
    stage = merged.get("lifecycle_stage") or Contact.Lifecycle.LEAD
    if stage not in Contact.Lifecycle.values:
        c.add("lifecycle_stage", f"Must be one of: {', '.join(Contact.Lifecycle.values)}.")
    fields["lifecycle_stage"] = stage
    fields["owner"] = v.owner(c, merged, lookups)

    address_rows = v.addresses(c, merged)
    region = v.default_region(address_rows)
    email_rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(v.items(c, merged, "emails")):
        path = f"emails[{i}]"
        raw = v.item_text(c, item, path, "address", 254) or v.item_text(c, item, path, "value", 254)
        address = c.check(f"{path}.address", normalize.email, raw)
        if address is None:
            continue
        key = normalize.email_key(address)
        if key in seen:
            c.add(f"{path}.address", f"{address} is already listed as emails[{seen[key]}].")
            continue
        seen[key] = i
        email_rows.append(
            {
                "address": address,
                "address_key": key,
                "label": v.item_text(c, item, path, "label", 40),
                "primary": bool(item.get("primary")),
            }
        )
    v.primary_flags(c, email_rows, "emails")
    phone_rows = v.phones(c, merged, region)
    url_rows = []
    for i, item in enumerate(v.items(c, merged, "urls")):
        path = f"urls[{i}]"
        raw = v.item_text(c, item, path, "url", 500) or v.item_text(c, item, path, "value", 500)
        link = c.check(f"{path}.url", normalize.url, raw)
        kind = item.get("kind") or WebLink.Kind.WEBSITE
        if kind not in WebLink.Kind.values:
            c.add(f"{path}.kind", "Must be website or social.")
        if link:
            url_rows.append(
                {
                    "url": link,
                    "kind": kind,
                    "label": v.item_text(c, item, path, "label", 40),
                    "primary": bool(item.get("primary")),
                }
            )
    v.primary_flags(c, url_rows, "urls")
    external_rows = _external_ids(c, merged, current, lookups)

    fields["custom_fields"] = v.custom_fields(
        c,
        data,
        target="contact",
        current=current.custom_fields if current else {},
        region=region,
        lookups=lookups,
    )
    tags = v.tags(c, data, actor, lookups)

    parts_ = normalize.NameParts(**{n: fields[n] for n in NAME_FIELDS})
    display = normalize.display_name(parts_)
    if not display:
        display = (
            fields["nickname"]
            or (email_rows[0]["address"] if email_rows else "")
            or (normalize.phone_display(phone_rows[0]["e164"]) if phone_rows else "")
        )
    if not display:
        c.add("given_name", "Enter a name, an email address or a phone number.")
    fields["display_name"] = display[:300]
    if c.errors:
        raise InvalidInput(c.errors)
    children = {
        "emails": email_rows,
        "phones": phone_rows,
        "addresses": address_rows,
        "urls": url_rows,
        "external_ids": external_rows,
    }
    return fields, children, tags


def _name_parts(full_name: str, data: Mapping[str, Any]) -> normalize.NameParts:
    """Split a full name, unless it only repeats the given, middle and family names sent with it.

    Files such as Google's carry both "Name" and its parts; the parts win, so parsing
    the full name again would add nothing (and could only misplace a word).
    """
    explicit = [
        str(data.get(n) or "").strip() for n in ("given_name", "middle_name", "family_name")
    ]
    if any(explicit) and full_name.split() == " ".join(p for p in explicit if p).split():
        return normalize.NameParts(
            given_name=explicit[0], middle_name=explicit[1], family_name=explicit[2]
        )
    return normalize.split_full_name(full_name)


def _external_ids(
    c: v.Collector,
    data: Mapping[str, Any],
    current: Contact | None,
    lookups: v.Lookups | None = None,
) -> list[dict[str, Any]]:
    """One id per source system, and no id claimed by another contact."""
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(v.items(c, data, "external_ids")):
        path = f"external_ids[{i}]"
        source = v.item_text(c, item, path, "source", 100)
        value = v.item_text(c, item, path, "id", 200)
        if not source:
            c.add(f"{path}.source", "Name the system this id comes from.")
        if not value:
            c.add(f"{path}.id", "Enter the id.")
        if not source or not value:
            continue
        if source.casefold() in seen:
            c.add(
                f"{path}.source",
                f"Only one id per source; {source} is already external_ids[{seen[source.casefold()]}].",
            )
            continue
        seen[source.casefold()] = i
        known = lookups.external_owner(source, value) if lookups is not None else False
        if known is False:
            owner = (
                ExternalId.objects.filter(source=source, value=value)
                .exclude(contact_id=current.pk if current else 0)
                .values_list("contact_id", flat=True)
                .first()
            )
        else:
            owner = known if known != (current.pk if current else 0) else None
        if owner:
            c.add(f"{path}.id", f"{source} id {value} already belongs to contact {owner}.")
            continue
        rows.append({"source": source, "value": value})
    return rows


def _write_children(
    contact: Contact,
    children: Mapping[str, list[dict[str, Any]]],
    replace: set[str],
    *,
    fresh: bool = False,
) -> None:
    models = {
        "emails": Email,
        "phones": Phone,
        "addresses": Address,
        "urls": WebLink,
        "external_ids": ExternalId,
    }
    for key in replace:
        v.replace_rows(models[key], {"contact": contact}, children[key], fresh=fresh)


def contact_clean(
    *, actor: Any, data: Mapping[str, Any], contact: Contact | None = None
) -> dict[str, Any]:
    """Validate and normalise without saving anything: the values as they would be stored.

    Raises InvalidInput exactly as contact_create/contact_update would (NotAdmitted
    included).
    """
    fields, children, tags = _validate(data, actor=actor, current=contact)
    _admit([newcomer(children, known=contact)])
    owner = fields.pop("owner")
    return {
        **fields,
        **children,
        "owner": owner.username if owner else None,
        "tags": [t if isinstance(t, str) else t.name for t in tags or []],
    }


def contact_refresh_search(*, contact: Contact) -> None:
    """Rebuild the contact's sort key and search text from its current rows."""
    organizations = [
        a.organization.name
        for a in contact.affiliations.select_related("organization").filter(is_current=True)
    ]
    doc = search_doc.build(
        names=[contact.display_name, contact.nickname],
        emails=contact.emails.values_list("address", flat=True),
        phones=contact.phones.values_list("e164", flat=True),
        organizations=organizations,
        places=contact.addresses.values_list("locality", flat=True),
        tags=contact.tags.values_list("name", flat=True),
        extra=[contact.job_title],
    )
    Contact.objects.filter(pk=contact.pk).update(
        search_doc=doc, sort_name=_sort_key(vars(contact)), family_key=fold(contact.family_name)
    )
    contact.search_doc = doc


def _sort_key(fields: Mapping[str, Any]) -> str:
    """Names sort by what people call them: the display name without a prefix like 'Dr.'."""
    display = str(fields["display_name"])
    prefix = str(fields.get("prefix") or "")
    if prefix and display.startswith(prefix + " "):
        display = display[len(prefix) + 1 :]
    return fold(display)[:300]


def _load(contact_id: int) -> Contact:
    return (
        Contact.objects.select_related("owner")
        .prefetch_related("emails", "phones", "addresses", "links", "external_ids", "tags")
        .get(pk=contact_id)
    )


def newcomer(
    children: Mapping[str, Sequence[Mapping[str, Any]]], *, known: Contact | None = None
) -> hooks.Newcomer:
    """The email addresses and numbers of validated input that ``known`` (a contact
    being changed) does not have yet, with their input paths, for ``hooks.contacts_admitting``."""
    have_emails: set[str] = set()
    have_phones: set[str] = set()
    if known is not None:
        have_emails = set(Email.objects.filter(contact=known).values_list("address_key", flat=True))
        have_phones = set(Phone.objects.filter(contact=known).values_list("e164", flat=True))
    emails = [
        (row["address_key"], f"emails[{i}].address")
        for i, row in enumerate(children.get("emails", []))
        if row["address_key"] not in have_emails
    ]
    phones = [
        (row["e164"], f"phones[{i}].number")
        for i, row in enumerate(children.get("phones", []))
        if row["e164"] not in have_phones
    ]
    return hooks.Newcomer(
        emails=tuple(e for e, _ in emails),
        phones=tuple(p for p, _ in phones),
        email_paths=tuple(path for _, path in emails),
        phone_paths=tuple(path for _, path in phones),
    )


def _admit(
    newcomers: Sequence[hooks.Newcomer], *, prefix: Callable[[int], str] | None = None
) -> None:
    """Raise NotAdmitted (nothing saved) when a listener refuses one of ``newcomers``."""
    refusals = hooks.contacts_admitting(newcomers)
    if refusals:
        raise NotAdmitted(
            [FieldError((prefix(r.index) if prefix else "") + r.path, r.message) for r in refusals]
        )


@retry_once_on_conflict
@transaction.atomic
def contact_create(*, actor: Any, data: Mapping[str, Any], via: str = "ui") -> Contact:
    """Validate and save a new contact with its emails, phones, addresses, links and tags.

    Raises NotPermitted when the actor may not add contacts, InvalidInput (nothing saved)
    listing every invalid field by path, NotAdmitted (an InvalidInput) when an email
    address or number belongs to someone on the suppression list.
    """
    policy.require(actor, "contacts.add")
    fields, children, tags = _validate(data, actor=actor, current=None)
    _admit([newcomer(children)])
    if fields["owner"] is None and getattr(actor, "pk", None):
        fields["owner"] = actor
    tag_objects = v.ensure_tags(tags) if tags else []
    # Everything derived is computed from the validated input, so a new contact costs
    # one insert per table and no read-back.
    doc = search_doc.build(
        names=[fields["display_name"], fields["nickname"]],
        emails=[row["address"] for row in children["emails"]],
        phones=[row["e164"] for row in children["phones"]],
        places=[row["locality"] for row in children["addresses"]],
        tags=[t.name for t in tag_objects],
        extra=[fields["job_title"]],
    )
    contact = Contact.objects.create(
        **fields,
        sort_name=_sort_key(fields),
        family_key=fold(fields["family_name"]),
        search_doc=doc,
    )
    _write_children(contact, children, {key for key, rows in children.items() if rows}, fresh=True)
    if tag_objects:
        contact.tags.set(tag_objects)
    duplicates.match_keys_add(
        [(contact.pk, duplicates.draft_features(fields=fields, children=children))]
    )
    hooks.contacts_saved([contact.pk])
    snapshot = contact_snapshot(contact, children=children, tags=tag_objects)
    change_record(
        actor=actor,
        object_type="contact",
        object_id=contact.pk,
        object_repr=contact.display_name,
        action="create",
        changes=diff({}, snapshot),
        via=via,
    )
    return contact


@retry_once_on_conflict
@transaction.atomic
def contact_update(
    *,
    actor: Any,
    contact: Contact,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    partial: bool = True,
    via: str = "ui",
) -> Contact:
    """Change a contact. ``partial`` keeps fields that were not sent; a full update clears them.

    Raises Conflict when ``expected_version`` no longer matches (someone else saved
    first), NotAdmitted when a new email address or number belongs to someone on the
    suppression list.
    """
    policy.require(actor, "contacts.change", contact)
    v.lock_version(Contact, contact.pk, expected_version)
    before_obj = _load(contact.pk)
    before = contact_snapshot(before_obj)
    if not partial:
        # a full name sent without its parts is parsed into them, not cleared by them
        parsed = set(NAME_FIELDS) if data.get("full_name") else set()
        data = {
            **{f: None for f in SCALAR_FIELDS if f not in parsed},
            **{f: [] for f in LIST_FIELDS if f != "custom_fields"},
            "custom_fields": {k: None for k in before_obj.custom_fields},
            **data,
        }
    fields, children, tags = _validate(data, actor=actor, current=before_obj)
    if "emails" in data or "phones" in data:
        _admit([newcomer(children, known=before_obj)])
    for key, value in fields.items():
        setattr(before_obj, key, value)
    before_obj.sort_name = _sort_key(fields)
    before_obj.family_key = fold(fields["family_name"])
    before_obj.version = F("version") + 1
    before_obj.save()
    _write_children(before_obj, children, {k for k in children if k in data})
    if tags is not None:
        before_obj.tags.set(v.ensure_tags(tags))
    updated = _load(contact.pk)
    contact_refresh_search(contact=updated)
    duplicates.match_keys_refresh(contact_ids=[updated.pk])
    hooks.contacts_saved([updated.pk])
    changes = diff(before, contact_snapshot(updated))
    if changes:
        change_record(
            actor=actor,
            object_type="contact",
            object_id=updated.pk,
            object_repr=updated.display_name,
            action="update",
            changes=changes,
            via=via,
        )
    return updated


@retry_once_on_conflict
@transaction.atomic
def contact_delete(
    *, actor: Any, contact: Contact, expected_version: int | None = None, via: str = "ui"
) -> None:
    """Delete a contact and its emails, phones, addresses and affiliations; keep its history."""
    policy.require(actor, "contacts.delete", contact)
    v.lock_version(Contact, contact.pk, expected_version)
    current = _load(contact.pk)
    snapshot = contact_snapshot(current)
    change_record(
        actor=actor,
        object_type="contact",
        object_id=current.pk,
        object_repr=current.display_name,
        action="delete",
        changes=diff(snapshot, {}),
        via=via,
    )
    current.delete()


@dataclass
class ContactDraft:
    """A new contact that passed validation and is not saved yet (see ``contacts_create``).

    ``organization`` with ``role_title`` and ``role_department`` make the person a
    current member of that organization when the draft is saved.
    """

    fields: dict[str, Any]
    children: dict[str, list[dict[str, Any]]]
    tags: list[Tag | str]
    organization: Organization | None = None
    role_title: str = ""
    role_department: str = ""
    contact_id: int | None = None  # set once saved

    @property
    def email_keys(self) -> list[str]:
        return [row["address_key"] for row in self.children["emails"]]

    @property
    def phone_numbers(self) -> list[str]:
        return [row["e164"] for row in self.children["phones"]]

    @property
    def external_ids(self) -> list[tuple[str, str]]:
        return [(row["source"], row["value"]) for row in self.children["external_ids"]]

    @property
    def newcomer(self) -> hooks.Newcomer:
        return newcomer(self.children)


def contact_draft(
    *,
    actor: Any,
    data: Mapping[str, Any],
    lookups: v.Lookups | None = None,
    role: Mapping[str, str] | None = None,
) -> ContactDraft:
    """Validate a new contact exactly as ``contact_create`` does, without saving it.

    ``role`` (``title``, ``department``) is checked as an affiliation's would be, under
    the paths ``affiliation.title`` and ``affiliation.department``. Raises InvalidInput.
    """
    c = v.Collector()
    role_title = v.text(c, role or {}, "title", 200)
    role_department = v.text(c, role or {}, "department", 100)
    try:
        fields, children, tags = _validate(data, actor=actor, current=None, lookups=lookups)
    except InvalidInput as exc:
        c.errors[:0] = exc.errors
    if c.errors:
        raise InvalidInput(
            [
                error
                if error.path not in ("title", "department")
                else type(error)(f"affiliation.{error.path}", error.message)
                for error in c.errors
            ]
        )
    return ContactDraft(
        fields, children, tags or [], role_title=role_title, role_department=role_department
    )


@transaction.atomic
def contacts_create(
    *,
    actor: Any,
    drafts: Sequence[ContactDraft],
    lookups: v.Lookups | None = None,
    via: str = "import",
) -> list[int]:
    """Save many validated drafts at once: a few inserts per table, not per contact.

    The result is what ``contact_create`` (and ``affiliation_create`` for a draft's
    organization) would have stored, history included, one entry per contact; returns
    the new contacts' ids in the drafts' order (each draft's ``contact_id``). Drafts
    must not claim the same external id as each other; raises NotPermitted, or
    InvalidInput when they do, NotAdmitted (``drafts[i].emails[j].address``) when one
    draft's address or number is on the suppression list (importers ask
    ``hooks.contacts_admitting`` about ``ContactDraft.newcomer`` first).
    """
    policy.require(actor, "contacts.add")
    _admit([d.newcomer for d in drafts], prefix=lambda i: f"drafts[{i}].")
    if any(d.organization is not None for d in drafts):
        policy.require(actor, "affiliations.change")
    claimed: dict[tuple[str, str], int] = {}
    for i, draft in enumerate(drafts):
        for pair in draft.external_ids:
            if claimed.setdefault(pair, i) != i:
                raise InvalidInput.single(
                    "external_ids", f"{pair[0]} id {pair[1]} is given to two new contacts."
                )
    # Tag names validation accepted as new are created once for all drafts.
    new_tags = {fold(t): t for d in drafts for t in d.tags if isinstance(t, str)}
    created_tags = {t.name_key: t for t in v.ensure_tags(list(new_tags.values()))}
    if lookups is not None:
        lookups.remember_tags(list(created_tags.values()))
    owner = actor if getattr(actor, "pk", None) else None
    ids = bulk.reserve_ids(Contact, len(drafts))
    contact_rows: list[dict[str, Any]] = []
    children: dict[type[Any], list[dict[str, Any]]] = {
        model: [] for model in _CHILD_MODELS.values()
    }
    tag_links: list[dict[str, Any]] = []
    affiliations: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for contact_id, draft in zip(ids, drafts, strict=True):
        draft.tags = [created_tags[fold(t)] if isinstance(t, str) else t for t in draft.tags]
        tags = [t for t in draft.tags if isinstance(t, Tag)]
        fields = {**draft.fields, "owner": draft.fields["owner"] or owner}
        doc = search_doc.build(
            names=[fields["display_name"], fields["nickname"]],
            emails=[row["address"] for row in draft.children["emails"]],
            phones=draft.phone_numbers,
            organizations=[draft.organization.name] if draft.organization else [],
            places=[row["locality"] for row in draft.children["addresses"]],
            tags=[t.name for t in tags],
            extra=[fields["job_title"]],
        )
        draft.contact_id = contact_id
        row = {k: x for k, x in fields.items() if k != "owner"}
        row.update(
            id=contact_id,
            owner_id=fields["owner"].pk if fields["owner"] else None,
            sort_name=_sort_key(fields),
            family_key=fold(fields["family_name"]),
            search_doc=doc,
        )
        contact_rows.append(row)
        for key, model in _CHILD_MODELS.items():
            children[model] += [{**x, "contact_id": contact_id} for x in draft.children[key]]
        tag_links += [{"contact_id": contact_id, "tag_id": t.pk} for t in tags]
        changes = diff(
            {},
            _snapshot(
                fields,
                owner=fields["owner"].username if fields["owner"] else None,
                children=draft.children,
                tag_names=[t.name for t in tags],
            ),
        )
        if draft.organization is not None:
            role = {
                "contact_id": contact_id,
                "organization_id": draft.organization.pk,
                "title": draft.role_title,
                "department": draft.role_department,
                "is_current": True,
            }
            affiliations.append(role)
            changes["affiliations"] = [
                None,
                v.describe_role(draft.role_title, draft.organization.name),
            ]
        history.append(
            {
                "actor_id": owner.pk if owner else None,
                "object_type": "contact",
                "object_id": contact_id,
                "object_repr": fields["display_name"][:300],
                "action": ChangeRecord.Action.CREATE,
                "changes": changes,
                "via": via,
            }
        )
    bulk.insert_rows(Contact, contact_rows)
    for model, rows in children.items():
        bulk.insert_rows(model, rows)
    bulk.insert_rows(Contact.tags.through, tag_links)
    bulk.insert_rows(Affiliation, affiliations)
    bulk.insert_rows(ChangeRecord, history)
    duplicates.match_keys_add(
        (
            draft.contact_id or 0,
            duplicates.draft_features(fields=draft.fields, children=draft.children),
        )
        for draft in drafts
    )
    hooks.contacts_saved(ids)
    return ids


_CHILD_MODELS: dict[str, type[Any]] = {
    "emails": Email,
    "phones": Phone,
    "addresses": Address,
    "urls": WebLink,
    "external_ids": ExternalId,
}


@transaction.atomic
def contacts_delete(
    *, actor: Any, contact_ids: Sequence[int], versions: Mapping[int, int] | None = None, via: str
) -> list[int]:
    """Delete many contacts as ``contact_delete`` would, history kept, a few queries per 500.

    With ``versions`` (id → version), a contact whose version differs was changed by
    someone meanwhile and is left alone. Returns the ids deleted. Raises NotPermitted
    (nothing deleted) when the actor may not delete one of them.
    """
    deleted: list[int] = []
    for start in range(0, len(contact_ids), 500):
        contacts = list(
            Contact.objects.select_for_update(of=("self",))
            .select_related("owner")
            .prefetch_related("emails", "phones", "addresses", "links", "external_ids", "tags")
            .filter(pk__in=contact_ids[start : start + 500])
            .order_by("pk")
        )
        if versions is not None:
            contacts = [c for c in contacts if versions.get(c.pk) == c.version]
        for contact in contacts:
            policy.require(actor, "contacts.delete", contact)
        bulk.insert_rows(
            ChangeRecord,
            [
                {
                    "actor_id": actor.pk if getattr(actor, "pk", None) else None,
                    "object_type": "contact",
                    "object_id": contact.pk,
                    "object_repr": contact.display_name[:300],
                    "action": ChangeRecord.Action.DELETE,
                    "changes": diff(contact_snapshot(contact), {}),
                    "via": via,
                }
                for contact in contacts
            ],
        )
        ids = [c.pk for c in contacts]
        Contact.objects.filter(pk__in=ids).delete()
        deleted += ids
    return deleted


def contact_touch(*, contact_id: int) -> None:
    """Bump the version and the "Updated" time after a change to something shown with the
    contact (its roles at organizations)."""
    Contact.objects.filter(pk=contact_id).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
