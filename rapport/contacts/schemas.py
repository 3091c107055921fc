"""The public shape of contacts, organizations, affiliations, tags and custom fields in the API.

Field names are a public contract (close to vCard / JSContact). Input schemas are
deliberately lenient about values the services validate themselves (emails, phones,
countries, dates, choices), so a client sees the same messages as the UI; they are strict
about unknown fields and about JSON types, and they document every field in OpenAPI.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema
from pydantic import BaseModel, ConfigDict

from rapport.contacts.limits import (
    MAX_CHOICES,
    MAX_CUSTOM_FIELDS,
    MAX_DOMAINS,
    MAX_ENTRIES,
    MAX_TAG_FILTERS,
    MAX_TAGS,
)
from rapport.contacts.models import Affiliation, Contact, CustomFieldDefinition, Organization
from rapport.contacts.selectors import CONTACT_SORTS, SORTS
from rapport.duplicates.schemas import CandidateOut

# The largest id a database row can have (a signed 64-bit integer).
MAX_ID = 2**63 - 1


def _choices(values: list[str] | tuple[str, ...], description: str, **extra: Any) -> Any:
    """A text field documented with its allowed values, checked by the service."""
    return Field(None, description=description, json_schema_extra={"enum": list(values), **extra})


def _id(description: str) -> Any:
    return Field(None, ge=1, le=MAX_ID, description=description, examples=[42])


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid")


class OutputSchema(BaseModel):
    """A response shape. The handlers build plain dicts (api/_out.py), so a plain pydantic
    model validates them in pydantic's core; ninja's Schema would wrap every nested
    object in a Python attribute getter, which cost about 3 ms for a page of 25 contacts."""


# ---------------------------------------------------------------- contact points


class EmailIn(InputSchema):
    address: str = Field(description="An email address.", examples=["ada@example.com"])
    label: str | None = Field(None, description="Free text such as work or home.")
    primary: bool | None = Field(None, description="The preferred address (one per contact).")


class EmailOut(OutputSchema):
    address: str = Field(examples=["ada@example.com"])
    label: str
    primary: bool


class PhoneIn(InputSchema):
    number: str = Field(
        description=(
            "A phone number as typed. Without a +country code it is read in the country "
            "of the primary address (or the server's default region). 'x123' or 'ext. 123' "
            "adds an extension."
        ),
        examples=["+1 415-555-2671"],
    )
    label: str | None = Field(None, description="Free text such as mobile or office.")
    primary: bool | None = Field(None, description="The preferred number (one per record).")


class PhoneOut(OutputSchema):
    number: str = Field(description="The number as it was typed.", examples=["(415) 555-2671"])
    e164: str = Field(description="The number in E.164 form.", examples=["+14155552671"])
    extension: str
    label: str
    primary: bool


class AddressIn(InputSchema):
    street: str | None = Field(None, examples=["1 Market St, Suite 300"])
    locality: str | None = Field(None, description="City or town.", examples=["San Francisco"])
    region: str | None = Field(None, description="State, province or county.", examples=["CA"])
    postcode: str | None = Field(None, examples=["94105"])
    country: str | None = Field(
        None,
        description="An ISO 3166-1 code (alpha-2 or alpha-3) or a country name; stored as alpha-2.",
        examples=["US"],
    )
    label: str | None = Field(None, description="Free text such as work or home.")
    primary: bool | None = Field(None, description="The preferred address (one per record).")


class AddressOut(OutputSchema):
    street: str
    locality: str
    region: str
    postcode: str
    country: str = Field(description="ISO 3166-1 alpha-2 code, or empty.", examples=["US"])
    label: str
    primary: bool


class UrlIn(InputSchema):
    url: str = Field(description="A web address.", examples=["https://example.com"])
    kind: str | None = _choices(
        ["website", "social"], "website (default) or social (then label names the network)."
    )
    label: str | None = Field(None, examples=["LinkedIn"])
    primary: bool | None = None


class UrlOut(OutputSchema):
    url: str
    kind: str
    label: str
    primary: bool


class ExternalIdIn(InputSchema):
    source: Any = Field(None, description="The system the id comes from, e.g. “Old CRM”.")
    id: Any = Field(None, description="The contact's id in that system.")


class ExternalIdOut(OutputSchema):
    source: str
    id: str


class Ref(OutputSchema):
    """A link to another record: its id and the name to show."""

    id: int
    name: str


class ContactRef(OutputSchema):
    id: int
    display_name: str


# ---------------------------------------------------------------- contacts


class ContactIn(InputSchema):
    """A contact as a client writes it. On PATCH every field is optional; on PUT and POST
    a field that is left out is empty."""

    full_name: str | None = Field(
        None,
        description="A whole name, split into prefix, given, middle, family name, suffix and "
        "nickname; parts sent explicitly win.",
        examples=["Dr. Ada King Lovelace"],
    )
    prefix: str | None = Field(None, examples=["Dr."])
    given_name: str | None = Field(None, examples=["Ada"])
    middle_name: str | None = Field(None, examples=["King"])
    family_name: str | None = Field(None, examples=["Lovelace"])
    suffix: str | None = Field(None, examples=["PhD"])
    nickname: str | None = None
    emails: list[EmailIn] | None = Field(
        None, max_length=MAX_ENTRIES, description="Replaces every email address."
    )
    phones: list[PhoneIn] | None = Field(
        None, max_length=MAX_ENTRIES, description="Replaces every phone number."
    )
    addresses: list[AddressIn] | None = Field(
        None, max_length=MAX_ENTRIES, description="Replaces every address."
    )
    urls: list[UrlIn] | None = Field(
        None, max_length=MAX_ENTRIES, description="Replaces every website and profile."
    )
    external_ids: list[ExternalIdIn] | None = Field(
        None,
        max_length=MAX_ENTRIES,
        description="Ids in other systems, one per source; replaces them all.",
    )
    birthday: str | None = Field(
        None,
        description="YYYY-MM-DD, not in the future.",
        examples=["1815-12-10"],
        json_schema_extra={"format": "date"},
    )
    job_title: str | None = Field(None, examples=["Analyst"])
    time_zone: str | None = Field(
        None, description="An IANA time zone.", examples=["Europe/London"]
    )
    language: str | None = Field(None, description="A BCP 47 language tag.", examples=["en-GB"])
    notes: str | None = None
    owner: str | None = Field(
        None, description="Username of the owner; defaults to the creator.", examples=["alice"]
    )
    source: str | None = Field(None, description="Where the contact came from.", examples=["event"])
    lifecycle_stage: str | None = _choices(
        Contact.Lifecycle.values, "Where the relationship stands; lead by default."
    )
    tags: list[str] | None = Field(
        None,
        max_length=MAX_TAGS,
        description="Tag names (ignoring case). Unknown tags are created for members; "
        "replaces every tag.",
        examples=[["vip", "newsletter"]],
    )
    custom_fields: dict[str, Any] | None = Field(
        None,
        max_length=MAX_CUSTOM_FIELDS,
        description="Values of admin-defined custom fields by key; null or empty removes a "
        "value. On PATCH, keys not sent keep their values.",
        examples=[{"tier": "gold"}],
    )


class AffiliationSummary(OutputSchema):
    id: int
    organization: Ref
    title: str
    department: str
    start_date: dt.date | None
    end_date: dt.date | None
    is_current: bool
    reports_to: ContactRef | None
    buying_role: str


class ContactOut(OutputSchema):
    id: int
    display_name: str = Field(examples=["Dr. Ada King Lovelace"])
    prefix: str
    given_name: str
    middle_name: str
    family_name: str
    suffix: str
    nickname: str
    emails: list[EmailOut]
    phones: list[PhoneOut]
    addresses: list[AddressOut]
    urls: list[UrlOut]
    external_ids: list[ExternalIdOut]
    birthday: dt.date | None
    job_title: str
    time_zone: str
    language: str
    notes: str
    owner: str | None = Field(description="Username of the owner.")
    source: str
    lifecycle_stage: str = Field(json_schema_extra={"enum": list(Contact.Lifecycle.values)})
    affiliations: list[AffiliationSummary]
    tags: list[str]
    custom_fields: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = Field(description="Increases with every change; the ETag carries it.")
    last_contacted_at: dt.datetime | None = Field(
        None, description="The last two-way interaction with them, by anyone (read-only)."
    )
    next_step: str | None = Field(None, description="The open task due first (read-only).")
    next_step_at: dt.datetime | None = Field(None, description="When that task is due.")
    reach_out_by: dt.date | None = Field(
        None, description="With a keep-in-touch cadence: the day to be in touch by."
    )
    photo_url: str | None = Field(
        None, description="Where the photo (a JPEG of at most 512 px) is served, if there is one."
    )


class ContactWriteOut(ContactOut):
    duplicates: list[CandidateOut] = Field(
        default_factory=list,
        description="Saved contacts that are likely the same person (checked before saving).",
    )


COUNT_DESCRIPTION = (
    "With `with_count=true`: how many records match the search and filters (all "
    "pages). Counting stops at 10,000: then this is 10000 and `count_capped` is true (say "
    '"10,000+"). Null without `with_count`, or when counting took too long.'
)
WITH_COUNT_DESCRIPTION = (
    "Also count the matches (`count`, `count_capped`). Off by default: a count of a "
    "common search costs more than the page itself, so ask for it once, not per keystroke."
)


class ContactPage(OutputSchema):
    items: list[ContactOut]
    next_cursor: str | None = Field(
        description="Pass as cursor= for the next page; null at the end."
    )
    count: int | None = Field(description=COUNT_DESCRIPTION)
    count_capped: bool = Field(description="True when more than `count` records match.")


class ContactListParams(Schema):
    q: str = Field(
        "",
        description="Search names, emails, phone numbers (in any format), organizations, "
        "cities and tags.",
        examples=["lovelace"],
    )
    tag: list[str] = Field(
        [],
        max_length=MAX_TAG_FILTERS,
        description="Only contacts with this tag; repeat for all of several tags.",
    )
    owner: str | None = Field(None, description="Username of the owner.")
    organization: int | None = _id("Only people affiliated with this organization.")
    lifecycle_stage: str | None = _choices(Contact.Lifecycle.values, "Only this lifecycle stage.")
    country: str | None = Field(None, description="ISO alpha-2 country of any address.")
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    contacted_after: dt.datetime | None = Field(
        None, description="Only contacts with a two-way interaction since then."
    )
    not_contacted_since: dt.datetime | None = Field(
        None, description="Only contacts with no two-way interaction since then (or ever)."
    )
    next_step: str | None = _choices(
        ["any", "none", "overdue"], "Only contacts with an open task, none, or one overdue."
    )
    reach_out_due: bool = Field(False, description="Only contacts due to be reached out to.")
    with_count: bool = Field(False, description=WITH_COUNT_DESCRIPTION)
    sort: str | None = _choices(
        list(CONTACT_SORTS),
        "Sort order. Default: best matches first when searching, else by name.",
    )
    cursor: str | None = Field(None, description="next_cursor from the previous page.")
    limit: int = Field(25, description="Page size, 1 to 200.")


class HistoryEntry(Schema):
    id: int
    at: dt.datetime
    action: str = Field(json_schema_extra={"enum": ["create", "update", "delete"]})
    actor: str | None = Field(description="Username of who made the change.")
    via: str = Field(description="ui, api, cli or import.")
    changes: dict[str, Any] = Field(description="Each changed field: [old, new].")


# ---------------------------------------------------------------- organizations


class OrganizationIn(InputSchema):
    name: str | None = Field(None, examples=["Analytical Engines Ltd"])
    legal_name: str | None = None
    domains: list[str] | None = Field(None, max_length=MAX_DOMAINS, examples=[["example.com"]])
    industry: str | None = Field(None, examples=["Software"])
    size_band: str | None = _choices(Organization.SizeBand.values, "Number of employees.")
    website: str | None = Field(None, examples=["https://example.com"])
    notes: str | None = None
    owner: str | None = Field(None, description="Username of the owner.")
    parent: int | None = _id("Id of the parent organization (the hierarchy cannot loop).")
    phones: list[PhoneIn] | None = Field(None, max_length=MAX_ENTRIES)
    addresses: list[AddressIn] | None = Field(None, max_length=MAX_ENTRIES)
    tags: list[str] | None = Field(None, max_length=MAX_TAGS)
    custom_fields: dict[str, Any] | None = Field(None, max_length=MAX_CUSTOM_FIELDS)


class OrganizationOut(Schema):
    id: int
    name: str
    legal_name: str
    domains: list[str]
    industry: str
    size_band: str
    website: str
    notes: str
    owner: str | None
    parent: Ref | None
    phones: list[PhoneOut]
    addresses: list[AddressOut]
    tags: list[str]
    custom_fields: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class OrganizationWriteOut(OrganizationOut):
    duplicates: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Saved organizations that are likely the same one (checked before saving).",
    )


class OrganizationPage(Schema):
    items: list[OrganizationOut]
    next_cursor: str | None
    count: int | None = Field(description=COUNT_DESCRIPTION)
    count_capped: bool = Field(description="True when more than `count` records match.")


class OrganizationListParams(Schema):
    q: str = Field("", description="Search names, domains, phone numbers, cities and tags.")
    tag: list[str] = Field(
        [], max_length=MAX_TAG_FILTERS, description="Repeat for all of several tags."
    )
    owner: str | None = None
    parent: int | None = _id("Only direct children of this organization.")
    industry: str | None = None
    country: str | None = None
    with_count: bool = Field(False, description=WITH_COUNT_DESCRIPTION)
    sort: str | None = _choices(list(SORTS), "Sort order; by name by default.")
    cursor: str | None = None
    limit: int = Field(25, description="Page size, 1 to 200.")


class ChartNodeOut(Schema):
    affiliation_id: int
    contact: ContactRef
    title: str
    department: str
    buying_role: str
    reports: list[ChartNodeOut]


ChartNodeOut.model_rebuild()


# ---------------------------------------------------------------- affiliations


class AffiliationIn(InputSchema):
    contact: int | None = _id("The person.")
    organization: int | None = _id("Where they work.")
    title: str | None = Field(None, examples=["Head of Research"])
    department: str | None = None
    start_date: str | None = Field(None, json_schema_extra={"format": "date"})
    end_date: str | None = Field(None, json_schema_extra={"format": "date"})
    is_current: bool | None = Field(None, description="Defaults to true unless end_date is set.")
    reports_to: int | None = _id("Contact id of their manager at the same organization.")
    buying_role: str | None = _choices(Affiliation.BuyingRole.values, "Role in buying decisions.")


class AffiliationOut(Schema):
    id: int
    contact: ContactRef
    organization: Ref
    title: str
    department: str
    start_date: dt.date | None
    end_date: dt.date | None
    is_current: bool
    reports_to: ContactRef | None
    buying_role: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class AffiliationPage(Schema):
    items: list[AffiliationOut]
    next_cursor: str | None


class AffiliationListParams(Schema):
    q: str = Field("", description="Title, department, person or organization name contains.")
    contact: int | None = _id("Only this person's affiliations.")
    organization: int | None = _id("Only this organization's people.")
    is_current: bool | None = None
    cursor: str | None = None
    limit: int = Field(25, description="Page size, 1 to 200.")


# ---------------------------------------------------------------- tags and custom fields


class TagIn(InputSchema):
    name: str | None = Field(None, examples=["vip"])
    color: str | None = Field(None, description="A colour like #1d4ed8.", examples=["#1d4ed8"])


class TagOut(Schema):
    id: int
    name: str
    color: str


class TagPage(Schema):
    items: list[TagOut]
    next_cursor: str | None


class VocabularyListParams(Schema):
    q: str = Field("", description="Name contains.")
    cursor: str | None = None
    limit: int = Field(100, description="Page size, 1 to 200.")


class CustomFieldIn(InputSchema):
    target: str | None = _choices(CustomFieldDefinition.Target.values, "What the field is for.")
    key: str | None = Field(
        None,
        description="The key in custom_fields (lower case, digits, underscores); from the label "
        "when left out. Cannot change later.",
        examples=["tier"],
    )
    label: str | None = Field(None, examples=["Tier"])
    field_type: str | None = _choices(
        CustomFieldDefinition.FieldType.values, "Kind of value. Cannot change later."
    )
    required: bool | None = None
    choices: list[str] | None = Field(None, max_length=MAX_CHOICES, examples=[["gold", "silver"]])
    help_text: str | None = None
    position: int | None = Field(None, ge=0, le=1_000_000)


class CustomFieldOut(Schema):
    id: int
    target: str
    key: str
    label: str
    field_type: str
    required: bool
    choices: list[str]
    help_text: str
    position: int


class CustomFieldPage(Schema):
    items: list[CustomFieldOut]
    next_cursor: str | None


class CustomFieldListParams(VocabularyListParams):
    target: str | None = _choices(CustomFieldDefinition.Target.values, "Only fields for this.")
