"""Preferences, organization defaults, the gate, attempts and calling rules over HTTP.

Preferences carry an ETag (``"preferences-<contact id>-<version>"``; version 0 before any
are saved); a PUT with a stale If-Match gets 412 and changes nothing. A PUT replaces
everything: fields left out take their defaults ("nothing said").
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel, ConfigDict

from rapport.contacts.api._http import (
    READ_ERRORS,
    VIA,
    WRITE_ERRORS,
    ObjectId,
    actor,
    aware,
)
from rapport.contacts.models import Contact, Organization
from rapport.core import policy
from rapport.core.errors import Conflict
from rapport.outreach.gate import contact_gate
from rapport.outreach.models import CallingRule, ContactAttempt
from rapport.outreach.selectors.preferences import (
    contact_preferences_get,
    organization_preferences_get,
)
from rapport.outreach.services import attempts as attempt_services
from rapport.outreach.services import preferences as services
from rapport.outreach.services import rules as rule_services

router = Router(tags=["outreach"])
Channel = Literal["email", "call", "sms", "messaging", "post", "in_person"]


class PreferencesIn(Schema):
    model_config = ConfigDict(extra="forbid")

    channels: Any = Field(
        None, description="Channel → allowed, preferred, refused or null (nothing said)."
    )
    hours: Any = Field(
        None,
        description="Contact hours: a list of {day: mon…sun or 1-7, start: HH:MM, end: HH:MM} "
        "in the person's time zone; an end before the start runs past midnight; null: none.",
    )
    hours_channels: Any = Field(None, description="Channels the hours apply to (default all).")
    avoid_holidays: Any = Field(None, description="Keep public holidays free (null: not said).")
    do_not_contact: Any = Field(
        None,
        description="true: do not contact; false (people only): may be contacted even where "
        "their organization's overridable default says not; null: not said.",
    )
    note: Any = None
    language: Any = Field(None, description="Preferred language tag (fr, en-GB).")
    caps: Any = Field(
        None,
        description="People only: [{channel, purpose, max_count, period_days}]; channel or "
        "purpose empty for every one.",
    )
    channels_overridable: Any = Field(None, description="Organizations only.")
    do_not_contact_overridable: Any = Field(None, description="Organizations only.")
    hours_overridable: Any = Field(None, description="Organizations only.")


class WindowOut(BaseModel):
    day: str
    start: str
    end: str


class CapOut(BaseModel):
    channel: str
    purpose: str
    max_count: int
    period_days: int


class PreferencesOut(BaseModel):
    channels: dict[str, str | None]
    hours: list[WindowOut] | None
    hours_channels: list[str]
    avoid_holidays: bool | None
    do_not_contact: bool | None
    note: str
    language: str
    caps: list[CapOut] | None = None
    channels_overridable: bool | None = None
    do_not_contact_overridable: bool | None = None
    hours_overridable: bool | None = None
    version: int


def _sent(payload: PreferencesIn) -> dict[str, Any]:
    return payload.model_dump(exclude_unset=True)


def _expected(request: HttpRequest, prefix: str, object_id: int) -> int | None:
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        head, _, version = tag.rpartition("-")
        if head == f"{prefix}-{object_id}" and version.isdecimal():
            return int(version)
    raise Conflict("If-Match does not match these preferences; fetch them again.")


@router.get(
    "/contacts/{contact_id}/preferences",
    response={200: PreferencesOut, **READ_ERRORS},
    summary="A contact's communication preferences",
)
def get_preferences(
    request: HttpRequest, contact_id: ObjectId, response: HttpResponse
) -> dict[str, Any]:
    Contact.objects.only("pk").get(pk=contact_id)
    data, version = contact_preferences_get(actor=actor(request), contact_id=contact_id)
    response["ETag"] = f'"preferences-{contact_id}-{version}"'
    return {**data, "version": version}


@router.put(
    "/contacts/{contact_id}/preferences",
    response={200: PreferencesOut, **WRITE_ERRORS},
    summary="Replace a contact's communication preferences",
)
def put_preferences(
    request: HttpRequest, contact_id: ObjectId, payload: PreferencesIn, response: HttpResponse
) -> dict[str, Any]:
    """Send the ETag of your last read as If-Match: a stale one gets 412. Every bad field
    is named in a 422 and nothing is saved."""
    contact = Contact.objects.get(pk=contact_id)
    services.contact_preferences_set(
        actor=actor(request),
        contact=contact,
        data=_sent(payload),
        expected_version=_expected(request, "preferences", contact_id),
        via=VIA,
    )
    return get_preferences(request, contact_id, response)


@router.get(
    "/organizations/{organization_id}/preferences",
    response={200: PreferencesOut, **READ_ERRORS},
    summary="The contact defaults an organization's people inherit",
)
def get_organization_preferences(
    request: HttpRequest, organization_id: ObjectId, response: HttpResponse
) -> dict[str, Any]:
    Organization.objects.only("pk").get(pk=organization_id)
    data, version = organization_preferences_get(
        actor=actor(request), organization_id=organization_id
    )
    response["ETag"] = f'"org-preferences-{organization_id}-{version}"'
    return {**data, "version": version}


@router.put(
    "/organizations/{organization_id}/preferences",
    response={200: PreferencesOut, **WRITE_ERRORS},
    summary="Replace an organization's contact defaults",
)
def put_organization_preferences(
    request: HttpRequest, organization_id: ObjectId, payload: PreferencesIn, response: HttpResponse
) -> dict[str, Any]:
    organization = Organization.objects.get(pk=organization_id)
    services.organization_preferences_set(
        actor=actor(request),
        organization=organization,
        data=_sent(payload),
        expected_version=_expected(request, "org-preferences", organization_id),
        via=VIA,
    )
    return get_organization_preferences(request, organization_id, response)


# -- the gate ------------------------------------------------------------------------------


class GateParams(Schema):
    channel: Channel
    purpose: str = Field(..., min_length=1, max_length=50, description="The purpose's key.")
    at: dt.datetime | None = Field(None, description="When (default: now).")


class ReasonOut(BaseModel):
    step: str
    code: str
    allowed: bool
    text: str
    until: str | None
    until_local: str | None


class DecisionOut(BaseModel):
    contact_id: int
    channel: str
    purpose: str
    at: str
    allowed: bool
    never: bool
    next_allowed_at: str | None
    next_allowed_local: str | None
    time_zone: str | None
    zones: list[str]
    location: str
    reasons: list[ReasonOut]


@router.get(
    "/contacts/{contact_id}/gate",
    response={200: DecisionOut, **READ_ERRORS},
    summary="May we reach this contact now, and if not, when?",
)
def gate(request: HttpRequest, contact_id: ObjectId, params: Query[GateParams]) -> dict[str, Any]:
    """The contact gate's decision: allowed, the reasons step by step, and the next
    allowed time in UTC and on the contact's wall clock (null: never, until what the
    reasons name changes)."""
    policy.require(actor(request), "contacts.view")
    at = aware(params.at) or timezone.now()
    return contact_gate(
        contact=contact_id, channel=params.channel, purpose=params.purpose, at=at
    ).as_dict()


# -- attempts --------------------------------------------------------------------------------


class AttemptIn(Schema):
    model_config = ConfigDict(extra="forbid")

    channel: Any = None
    purpose: Any = ""
    outcome: Any = Field(None, description="attempted, sent, refused or blocked.")
    at: dt.datetime | None = Field(None, description="When (default: now; not in the future).")
    note: Any = ""


class AttemptOut(BaseModel):
    id: int
    contact_id: int
    channel: str
    purpose: str
    outcome: str
    at: dt.datetime
    via: str
    note: str
    actor: str | None


class AttemptPage(BaseModel):
    items: list[AttemptOut]


def _attempt_out(a: ContactAttempt) -> dict[str, Any]:
    return {
        "id": a.pk,
        "contact_id": a.contact_id,
        "channel": a.channel,
        "purpose": a.purpose,
        "outcome": a.outcome,
        "at": a.at,
        "via": a.via,
        "note": a.note,
        "actor": a.actor.get_username() if a.actor else None,
    }


@router.get(
    "/contacts/{contact_id}/attempts",
    response={200: AttemptPage, **READ_ERRORS},
    summary="A contact's outbound attempts, newest first",
)
def list_attempts(
    request: HttpRequest, contact_id: ObjectId, limit: int = Query(50, ge=1, le=200)
) -> dict[str, Any]:
    policy.require(actor(request), "contacts.view")
    Contact.objects.only("pk").get(pk=contact_id)
    rows = ContactAttempt.objects.filter(contact_id=contact_id).select_related("actor")[:limit]
    return {"items": [_attempt_out(a) for a in rows]}


@router.post(
    "/contacts/{contact_id}/attempts",
    response={201: AttemptOut, **WRITE_ERRORS},
    summary="Log an outbound attempt",
)
def log_attempt(
    request: HttpRequest, contact_id: ObjectId, payload: AttemptIn
) -> Status[dict[str, Any]]:
    contact = Contact.objects.get(pk=contact_id)
    attempt = attempt_services.attempt_log(
        actor=actor(request),
        contact=contact,
        channel=payload.channel,
        purpose=payload.purpose or "",
        outcome=payload.outcome,
        at=aware(payload.at),
        note=payload.note or "",
        via=VIA,
    )
    return Status(201, _attempt_out(attempt))


# -- calling rules ---------------------------------------------------------------------------


class RuleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Any = None
    country: Any = None
    subdivision: Any = None
    channels: Any = None
    purposes: Any = None
    hours: Any = Field(None, description="Same form as contact hours; null: no hour limit.")
    no_public_holidays: Any = False
    max_attempts: Any = None
    attempts_period_days: Any = None
    refusal_silence_days: Any = None
    source: Any = None
    active: Any = True


class RuleOut(BaseModel):
    id: int
    name: str
    country: str
    subdivision: str
    channels: list[str]
    purposes: list[str]
    hours: list[WindowOut] | None
    no_public_holidays: bool
    max_attempts: int | None
    attempts_period_days: int | None
    refusal_silence_days: int | None
    source: str
    active: bool
    version: int


class RulePage(BaseModel):
    items: list[RuleOut]


def _rule_out(rule: CallingRule) -> dict[str, Any]:
    windows = [
        {"day": day, "start": span.split("-")[0], "end": span.split("-")[1]}
        for day, spans in (rule.hours or {}).items()
        for span in spans
    ]
    return {
        "id": rule.pk,
        "name": rule.name,
        "country": rule.country,
        "subdivision": rule.subdivision,
        "channels": rule.channels,
        "purposes": rule.purposes,
        "hours": windows or None,
        "no_public_holidays": rule.no_public_holidays,
        "max_attempts": rule.max_attempts,
        "attempts_period_days": rule.attempts_period_days,
        "refusal_silence_days": rule.refusal_silence_days,
        "source": rule.source,
        "active": rule.active,
        "version": rule.version,
    }


@router.get("/calling-rules", response={200: RulePage, **READ_ERRORS}, summary="Calling rules")
def list_rules(request: HttpRequest) -> dict[str, Any]:
    policy.require(actor(request), "contacts.view")
    return {"items": [_rule_out(r) for r in CallingRule.objects.all()]}


@router.post(
    "/calling-rules", response={201: RuleOut, **WRITE_ERRORS}, summary="Add a calling rule"
)
def create_rule(request: HttpRequest, payload: RuleIn, response: HttpResponse) -> Status[Any]:
    """Admins only. An overlap with an active rule of the same place is a 422 naming
    ``channels``."""
    rule = rule_services.calling_rule_create(
        actor=actor(request), data=payload.model_dump(exclude_unset=True)
    )
    response["ETag"] = rule.etag
    response["Location"] = f"{request.path.rstrip('/')}/{rule.pk}"
    return Status(201, _rule_out(rule))


@router.get(
    "/calling-rules/{rule_id}", response={200: RuleOut, **READ_ERRORS}, summary="A calling rule"
)
def get_rule(request: HttpRequest, rule_id: ObjectId, response: HttpResponse) -> dict[str, Any]:
    policy.require(actor(request), "contacts.view")
    rule = CallingRule.objects.get(pk=rule_id)
    response["ETag"] = rule.etag
    return _rule_out(rule)


@router.put(
    "/calling-rules/{rule_id}",
    response={200: RuleOut, **WRITE_ERRORS},
    summary="Replace a calling rule",
)
def put_rule(
    request: HttpRequest, rule_id: ObjectId, payload: RuleIn, response: HttpResponse
) -> dict[str, Any]:
    rule = CallingRule.objects.get(pk=rule_id)
    updated = rule_services.calling_rule_update(
        actor=actor(request),
        rule=rule,
        data=payload.model_dump(exclude_unset=True),
        expected_version=_expected(request, "rule", rule_id),
    )
    response["ETag"] = updated.etag
    return _rule_out(updated)


@router.delete(
    "/calling-rules/{rule_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a rule"
)
def delete_rule(request: HttpRequest, rule_id: ObjectId) -> Status[None]:
    rule = CallingRule.objects.get(pk=rule_id)
    rule_services.calling_rule_delete(
        actor=actor(request), rule=rule, expected_version=_expected(request, "rule", rule_id)
    )
    return Status(204, None)
