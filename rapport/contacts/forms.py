"""Translate HTML form posts into the plain dicts the services accept, and back.

The services validate everything; this module only reshapes input and routes the
service's field errors (``emails[1].address``) to the input that produced them. Rows
left blank in a repeating group are dropped before the service sees them, so an
index map remembers which form row each submitted item came from.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.utils import timezone

from rapport.contacts import normalize
from rapport.contacts.models import (
    Affiliation,
    Contact,
    CustomFieldDefinition,
    Organization,
)
from rapport.contacts.selectors import ContactFilters, OrganizationFilters
from rapport.core import listing
from rapport.core.errors import FieldError, InvalidInput
from rapport.core.labels import label_for

# Repeating groups: the keys of one row, and the keys whose content makes a row count.
GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "emails": (("address", "label"), ("address",)),
    "phones": (("number", "label"), ("number",)),
    "addresses": (
        ("street", "locality", "region", "postcode", "country", "label"),
        ("street", "locality", "region", "postcode", "country"),
    ),
    "urls": (("url", "kind", "label"), ("url",)),
}

CONTACT_FIELDS = (
    "full_name",
    "prefix",
    "given_name",
    "middle_name",
    "family_name",
    "suffix",
    "nickname",
    "birthday",
    "job_title",
    "time_zone",
    "language",
    "notes",
    "owner",
    "source",
    "lifecycle_stage",
    "tags",
)
NAME_PARTS = ("prefix", "given_name", "middle_name", "family_name", "suffix", "nickname")
ORGANIZATION_FIELDS = (
    "name",
    "legal_name",
    "domains",
    "industry",
    "size_band",
    "website",
    "notes",
    "owner",
    "parent",
    "tags",
)
AFFILIATION_FIELDS = (
    "contact",
    "organization",
    "title",
    "department",
    "start_date",
    "end_date",
    "reports_to",
    "buying_role",
)

_ITEM = re.compile(r"^(?P<group>\w+)\[(?P<index>\d+)\](?:\.(?P<key>\w+))?$")
_ROW_KEY = re.compile(r"^(?P<group>\w+)-(?P<index>\d+)-(?P<key>\w+)$")
_PICKED_ID = re.compile(r"#(\d+)\s*$")


@dataclass
class Field:
    """One input as the template draws it."""

    name: str
    value: Any = ""
    errors: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"f-{self.name}"


@dataclass
class Row:
    """One row of a repeating group (an email, a phone, …)."""

    group: str
    index: int | str
    values: dict[str, str]
    primary: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def field(self, key: str) -> Field:
        return Field(
            f"{self.group}-{self.index}-{key}", self.values.get(key, ""), self.errors.get(key, [])
        )

    @property
    def inputs(self) -> dict[str, Field]:
        return {key: self.field(key) for key in GROUPS[self.group][0]}

    @property
    def blank(self) -> bool:
        return not any(self.values.get(k) for k in GROUPS[self.group][1])


@dataclass
class CustomInput:
    """A custom field's input, drawn according to its definition's type."""

    definition: CustomFieldDefinition
    value: Any = ""
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"cf-{self.definition.key}"

    @property
    def id(self) -> str:
        return f"f-cf-{self.definition.key}"

    @property
    def selected(self) -> list[str]:
        return self.value if isinstance(self.value, list) else []


@dataclass
class FormState:
    """Values and errors of a whole form; built from a record or from a post."""

    fields: dict[str, Field] = field(default_factory=dict)
    rows: dict[str, list[Row]] = field(default_factory=dict)
    custom: list[CustomInput] = field(default_factory=list)
    index_maps: dict[str, list[int]] = field(default_factory=dict)
    summary: list[tuple[str, str, str]] = field(default_factory=list)
    conflict: str = ""
    version: str = ""

    @property
    def new_rows(self) -> dict[str, Row]:
        """A blank row per group, numbered ``__i__``, for the "Add another" template."""
        return {g: Row(g, "__i__", {k: "" for k in GROUPS[g][0]}) for g in self.rows}  # type: ignore[arg-type]

    @property
    def has_errors(self) -> bool:
        return bool(self.summary or self.conflict)

    def add_errors(self, errors: Iterable[FieldError]) -> None:
        """Attach each service error to its input and to the summary at the top."""
        custom = {c.definition.key: c for c in self.custom}
        for error in errors:
            anchor = self._route(error, custom)
            self.summary.append((label_for(error.path), error.message, anchor))

    def _route(self, error: FieldError, custom: Mapping[str, CustomInput]) -> str:
        match = _ITEM.match(error.path)
        if match and match["group"] in self.rows:
            group, index, key = match["group"], int(match["index"]), match["key"]
            index_map = self.index_maps.get(group, [])
            rows = self.rows[group]
            row_index = index_map[index] if index < len(index_map) else min(index, len(rows) - 1)
            if row_index < 0:
                return ""
            row = rows[row_index]
            key = {"value": GROUPS[group][1][0]}.get(key or "", key)
            if key in GROUPS[group][0]:
                row.errors.setdefault(key, []).append(error.message)
                return row.field(key).id
            row.problems.append(error.message)
            return row.field(GROUPS[group][1][0]).id
        name = match["group"] if match else error.path
        if name.startswith("custom_fields."):
            target = custom.get(name.split(".", 1)[1])
            if target is not None:
                target.errors.append(error.message)
                return target.id
        if name in self.fields:
            self.fields[name].errors.append(error.message)
            return self.fields[name].id
        if name in self.rows and self.rows[name]:
            self.rows[name][0].problems.append(error.message)
            return self.rows[name][0].field(GROUPS[name][1][0]).id
        return ""


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# ---------------------------------------------------------------- repeating rows


def _rows_from_post(post: QueryDict, group: str) -> list[Row]:
    keys, _ = GROUPS[group]
    found: dict[int, dict[str, str]] = {}
    for name in post:
        match = _ROW_KEY.match(name)
        if match and match["group"] == group and match["key"] in keys:
            found.setdefault(int(match["index"]), {})[match["key"]] = post.get(name, "").strip()
    primary = post.get(f"{group}-primary", "")
    return [
        Row(group, i, {k: found[i].get(k, "") for k in keys}, primary=str(n) == primary)
        for i, n in enumerate(sorted(found))
    ]


def _renumber(rows: list[Row]) -> list[Row]:
    for i, row in enumerate(rows):
        row.index = i
    return rows


def _with_blank(rows: list[Row], group: str) -> list[Row]:
    """Existing rows plus one empty row to type into."""
    if not rows or not rows[-1].blank:
        rows.append(Row(group, len(rows), {k: "" for k in GROUPS[group][0]}))
    return _renumber(rows)


def _submitted(rows: list[Row]) -> tuple[list[dict[str, Any]], list[int]]:
    items, index_map = [], []
    for row in rows:
        if row.blank and not row.values.get("label"):
            continue
        items.append({**row.values, "primary": row.primary})
        index_map.append(row.index)
    return items, index_map


def email_rows(contact: Contact) -> list[Row]:
    return [
        Row("emails", 0, {"address": e.address, "label": e.label}, primary=e.primary)
        for e in contact.emails.all()
    ]


def phone_rows(owner: Contact | Organization) -> list[Row]:
    return [
        Row(
            "phones",
            0,
            {
                "number": p.number
                + (f" ext. {p.extension}" if p.extension and "x" not in p.number.lower() else ""),
                "label": p.label,
            },
            primary=p.primary,
        )
        for p in owner.phones.all()
    ]


def address_rows(owner: Contact | Organization) -> list[Row]:
    return [
        Row(
            "addresses",
            0,
            {
                "street": a.street,
                "locality": a.locality,
                "region": a.region,
                "postcode": a.postcode,
                "country": normalize.country_name(a.country),
                "label": a.label,
            },
            primary=a.primary,
        )
        for a in owner.addresses.all()
    ]


def url_rows(contact: Contact) -> list[Row]:
    return [
        Row("urls", 0, {"url": w.url, "kind": w.kind, "label": w.label}, primary=w.primary)
        for w in contact.links.all()
    ]


# ---------------------------------------------------------------- custom fields


def _custom_display_value(definition: CustomFieldDefinition, value: Any) -> Any:
    if value is None:
        return [] if definition.field_type == "multi_choice" else ""
    if definition.field_type == "boolean":
        return "yes" if value else "no"
    if definition.field_type == "multi_choice":
        return list(value) if isinstance(value, list) else [str(value)]
    return _text(value)


def _custom_from_record(
    definitions: Iterable[CustomFieldDefinition], values: Mapping[str, Any]
) -> list[CustomInput]:
    return [CustomInput(d, _custom_display_value(d, values.get(d.key))) for d in definitions]


def _custom_from_post(
    post: QueryDict, definitions: Iterable[CustomFieldDefinition]
) -> tuple[list[CustomInput], dict[str, Any]]:
    inputs, data = [], {}
    for d in definitions:
        name = f"cf-{d.key}"
        if d.field_type == "multi_choice":
            chosen = [x for x in post.getlist(name) if x]
            inputs.append(CustomInput(d, chosen))
            data[d.key] = chosen
        else:
            value = post.get(name, "").strip()
            inputs.append(CustomInput(d, value))
            data[d.key] = value
    return inputs, data


def _tag_text(tags: Iterable[Any]) -> str:
    return ", ".join(t.name for t in tags)


def _tag_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


# ---------------------------------------------------------------- contacts


def contact_form(
    contact: Contact | None, definitions: Iterable[CustomFieldDefinition]
) -> FormState:
    """The contact form filled from a saved contact (or blank for a new one)."""
    form = FormState()
    for name in CONTACT_FIELDS:
        value: Any = ""
        if contact is not None and name not in ("full_name", "tags"):
            value = getattr(contact, name)
            if name == "owner":
                value = contact.owner.username if contact.owner else ""
            elif name == "birthday":
                value = value.isoformat() if value else ""
        elif contact is not None and name == "tags":
            value = _tag_text(contact.tags.all())
        elif name == "lifecycle_stage":
            value = Contact.Lifecycle.LEAD
        form.fields[name] = Field(name, _text(value))
    form.rows = {
        "emails": _with_blank(email_rows(contact) if contact else [], "emails"),
        "phones": _with_blank(phone_rows(contact) if contact else [], "phones"),
        "addresses": _with_blank(address_rows(contact) if contact else [], "addresses"),
        "urls": _with_blank(url_rows(contact) if contact else [], "urls"),
    }
    form.custom = _custom_from_record(definitions, contact.custom_fields if contact else {})
    form.version = str(contact.version) if contact else ""
    return form


def contact_post(
    post: QueryDict, definitions: Iterable[CustomFieldDefinition]
) -> tuple[FormState, dict[str, Any]]:
    """The form as posted, and the dict to hand to contact_create / contact_update.

    A typed full name is split by the service; then only the name parts the user
    filled in are sent, so they win over the split while empty ones do not blank it.
    """
    form = FormState()
    data: dict[str, Any] = {}
    for name in CONTACT_FIELDS:
        value = post.get(name, "").strip()
        form.fields[name] = Field(name, value)
        data[name] = value
    if data["full_name"]:
        for part in NAME_PARTS:
            if not data[part]:
                del data[part]
    else:
        del data["full_name"]
    data["birthday"] = data["birthday"] or None
    data["owner"] = data["owner"] or None
    data["tags"] = _tag_list(data["tags"])
    for group in ("emails", "phones", "addresses", "urls"):
        rows = _rows_from_post(post, group)
        data[group], form.index_maps[group] = _submitted(rows)
        form.rows[group] = rows
    form.custom, data["custom_fields"] = _custom_from_post(post, definitions)
    form.version = post.get("version", "")
    return form, data


def finish_rows(form: FormState) -> FormState:
    """After a failed post: keep the rows as typed, plus one blank row."""
    for group, rows in form.rows.items():
        form.rows[group] = _with_blank(rows, group)
    return form


def expected_version(form: FormState) -> int | None:
    return int(form.version) if form.version.isdecimal() and len(form.version) < 10 else None


# ---------------------------------------------------------------- organizations


def organization_form(
    org: Organization | None, definitions: Iterable[CustomFieldDefinition]
) -> FormState:
    form = FormState()
    for name in ORGANIZATION_FIELDS:
        value: Any = ""
        if org is not None:
            if name == "tags":
                value = _tag_text(org.tags.all())
            elif name == "owner":
                value = org.owner.username if org.owner else ""
            elif name == "parent":
                value = f"{org.parent.name} #{org.parent_id}" if org.parent else ""
            elif name == "domains":
                value = ", ".join(org.domains)
            else:
                value = getattr(org, name)
        form.fields[name] = Field(name, _text(value))
    form.rows = {
        "phones": _with_blank(phone_rows(org) if org else [], "phones"),
        "addresses": _with_blank(address_rows(org) if org else [], "addresses"),
    }
    form.custom = _custom_from_record(definitions, org.custom_fields if org else {})
    form.version = str(org.version) if org else ""
    return form


def picked_id(text: str) -> str:
    """The id chosen in a picker input: ``Acme Ltd #12`` or ``12`` → ``12``."""
    text = text.strip()
    if text.isdecimal():
        return text
    match = _PICKED_ID.search(text)
    return match.group(1) if match else text


def organization_post(
    post: QueryDict, definitions: Iterable[CustomFieldDefinition]
) -> tuple[FormState, dict[str, Any]]:
    form = FormState()
    data: dict[str, Any] = {}
    for name in ORGANIZATION_FIELDS:
        value = post.get(name, "").strip()
        form.fields[name] = Field(name, value)
        data[name] = value
    data["owner"] = data["owner"] or None
    data["parent"] = picked_id(data["parent"]) or None
    data["tags"] = _tag_list(data["tags"])
    data["domains"] = [d for d in re.split(r"[\s,]+", data["domains"]) if d]
    for group in ("phones", "addresses"):
        rows = _rows_from_post(post, group)
        data[group], form.index_maps[group] = _submitted(rows)
        form.rows[group] = rows
    form.custom, data["custom_fields"] = _custom_from_post(post, definitions)
    form.version = post.get("version", "")
    return form, data


# ---------------------------------------------------------------- affiliations


def _picker_text(obj: Contact | Organization | None) -> str:
    return f"{obj} #{obj.pk}" if obj is not None else ""


def affiliation_form(
    affiliation: Affiliation | None,
    *,
    contact: Contact | None = None,
    organization: Organization | None = None,
) -> FormState:
    form = FormState()
    a = affiliation
    values = {
        "contact": _picker_text(a.contact if a else contact),
        "organization": _picker_text(a.organization if a else organization),
        "title": a.title if a else "",
        "department": a.department if a else "",
        "start_date": a.start_date.isoformat() if a and a.start_date else "",
        "end_date": a.end_date.isoformat() if a and a.end_date else "",
        "reports_to": _picker_text(a.reports_to) if a else "",
        "buying_role": a.buying_role if a else "",
    }
    form.fields = {name: Field(name, values[name]) for name in AFFILIATION_FIELDS}
    form.version = str(a.version) if a else ""
    return form


def affiliation_post(post: QueryDict) -> tuple[FormState, dict[str, Any]]:
    form = FormState()
    data: dict[str, Any] = {}
    for name in AFFILIATION_FIELDS:
        value = post.get(name, "").strip()
        form.fields[name] = Field(name, value)
        data[name] = value
    for name in ("contact", "organization", "reports_to"):
        data[name] = picked_id(data[name]) or None
    for name in ("start_date", "end_date"):
        data[name] = data[name] or None
    data["is_current"] = (
        data["end_date"] is None
        or (normalize_date(data["end_date"]) or dt.date.max) > timezone.localdate()
    )
    form.version = post.get("version", "")
    return form, data


def normalize_date(value: str) -> dt.date | None:
    try:
        return normalize.parse_date(value)
    except ValueError:
        return None


# ---------------------------------------------------------------- tags and custom fields


def simple_form(names: Iterable[str], values: Mapping[str, Any] | None = None) -> FormState:
    values = values or {}
    return FormState(fields={n: Field(n, _text(values.get(n, ""))) for n in names})


CUSTOM_FIELD_FIELDS = (
    "target",
    "key",
    "label",
    "field_type",
    "required",
    "choices",
    "help_text",
    "position",
)


def custom_field_form(definition: CustomFieldDefinition | None) -> FormState:
    if definition is None:
        return simple_form(CUSTOM_FIELD_FIELDS, {"target": "contact", "field_type": "text"})
    return simple_form(
        CUSTOM_FIELD_FIELDS,
        {
            "target": definition.target,
            "key": definition.key,
            "label": definition.label,
            "field_type": definition.field_type,
            "required": "on" if definition.required else "",
            "choices": "\n".join(definition.choices),
            "help_text": definition.help_text,
            "position": definition.position,
        },
    )


def custom_field_post(post: QueryDict) -> tuple[FormState, dict[str, Any]]:
    form = simple_form(
        CUSTOM_FIELD_FIELDS, {n: post.get(n, "").strip() for n in CUSTOM_FIELD_FIELDS}
    )
    data: dict[str, Any] = {n: post.get(n, "").strip() for n in CUSTOM_FIELD_FIELDS}
    data["required"] = bool(post.get("required"))
    data["choices"] = [c.strip() for c in data["choices"].splitlines() if c.strip()]
    data["position"] = data["position"] or 0
    return form, data


# ---------------------------------------------------------------- list filters


def _day(params: QueryDict, name: str, errors: list[FieldError], *, end: bool) -> Any:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        day = normalize.parse_date(raw)
    except ValueError as exc:
        errors.append(FieldError(name, str(exc)))
        return None
    moment = dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time.min)
    return timezone.make_aware(moment)


def _custom_params(params: QueryDict) -> dict[str, str]:
    return {
        name.split(".", 1)[1]: params.get(name, "").strip()
        for name in params
        if name.startswith("custom.") and params.get(name, "").strip()
    }


NEXT_STEP_FILTERS = ("any", "none", "overdue")


def contact_filters(params: QueryDict) -> ContactFilters:
    """The contact list's filters from the query string; raises InvalidInput for bad ones."""
    errors: list[FieldError] = []
    organization = params.get("organization", "").strip()
    if organization and not (organization.isdecimal() and len(organization) < 19):
        errors.append(FieldError("organization", "Choose an organization from the list."))
    country = params.get("country", "").strip()
    if country:
        try:
            country = normalize.country(country)
        except ValueError as exc:
            errors.append(FieldError("country", str(exc)))
    stage = params.get("lifecycle_stage", "").strip()
    if stage and stage not in Contact.Lifecycle.values:
        errors.append(FieldError("lifecycle_stage", "There is no such lifecycle stage."))
    next_step = params.get("next_step", "").strip()
    if next_step and next_step not in NEXT_STEP_FILTERS:
        errors.append(FieldError("next_step", f"Must be one of: {', '.join(NEXT_STEP_FILTERS)}."))
    filters = ContactFilters(
        tags=[t for t in params.getlist("tag") if t.strip()],
        owner=params.get("owner", "").strip() or None,
        organization=int(organization) if organization.isdecimal() else None,
        lifecycle_stage=stage or None,
        country=country or None,
        created_after=_day(params, "created_after", errors, end=False),
        created_before=_day(params, "created_before", errors, end=True),
        updated_after=_day(params, "updated_after", errors, end=False),
        updated_before=_day(params, "updated_before", errors, end=True),
        contacted_after=_day(params, "contacted_after", errors, end=False),
        not_contacted_since=_day(params, "not_contacted_since", errors, end=False),
        next_step=next_step or None,
        reach_out_due=params.get("reach_out_due", "") in ("1", "true", "on"),
        custom=_custom_params(params),
        extra=extra_filter_params(params),
    )
    if errors:
        raise InvalidInput(errors)
    return filters


def extra_filter_params(params: QueryDict) -> dict[str, str]:
    """The values of the filters other areas added to the contact list (core.listing)."""
    return {
        f.key: params[f.key].strip()
        for f in listing.filters_for("contacts")
        if params.get(f.key, "").strip()
    }


def organization_filters(params: QueryDict) -> OrganizationFilters:
    errors: list[FieldError] = []
    country = params.get("country", "").strip()
    if country:
        try:
            country = normalize.country(country)
        except ValueError as exc:
            errors.append(FieldError("country", str(exc)))
    parent = params.get("parent", "").strip()
    if parent and not (parent.isdecimal() and len(parent) < 19):
        errors.append(FieldError("parent", "Choose an organization from the list."))
    filters = OrganizationFilters(
        tags=[t for t in params.getlist("tag") if t.strip()],
        owner=params.get("owner", "").strip() or None,
        parent=int(parent) if parent.isdecimal() else None,
        industry=params.get("industry", "").strip() or None,
        country=country or None,
        custom=_custom_params(params),
    )
    if errors:
        raise InvalidInput(errors)
    return filters
