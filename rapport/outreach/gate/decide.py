"""The decision itself: pure, over inputs already loaded (gate/inputs.py).

Every step is checked and reported, in this order, whether it passes or not: consent,
do not contact, channel, contact hours, legal hours, holiday, frequency cap, cool-off.
Steps that no waiting can change (a refused channel, do not contact, a time zone
nobody knows) make the answer "never" (``next_allowed_at`` None) until the data
changes; caps, cool-offs and consent with an end date move the search's start; then
the time rules give the first instant all of them allow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from rapport.outreach.channels import CHANNEL_LABELS, ChannelStatus
from rapport.outreach.gate import consent
from rapport.outreach.gate.inputs import Attempt, Cap, GateInputs, Preferences, Rule
from rapport.outreach.gate.timing import TimeRule, next_allowed, zones_of
from rapport.outreach.hours import WeeklyHours
from rapport.outreach.zones import Location

STEPS = (
    "consent",
    "do_not_contact",
    "channel",
    "contact_hours",
    "legal_hours",
    "holiday",
    "frequency_cap",
    "cool_off",
)
NEVER_OPEN = WeeklyHours.of(())


@dataclass(frozen=True)
class Reason:
    """One step's verdict: ``step`` (one of STEPS), a ``code`` for programs, whether it
    ``allowed``, ``text`` for people, and ``until`` (UTC) when waiting ends its block
    (None: it allows, or waiting alone will not)."""

    step: str
    code: str
    allowed: bool
    text: str
    until: dt.datetime | None = None


@dataclass(frozen=True)
class GateDecision:
    """May we reach this contact on this channel for this purpose at ``at``?

    ``allowed``; ``reasons``, one per step in STEPS order; ``next_allowed_at`` — ``at``
    itself when allowed, the first later instant (UTC) when everything allows, None
    when no time will (``never``); ``next_allowed_local`` the same on the contact's
    wall clock in ``time_zone`` (the first of ``zones`` when several must all agree).
    """

    allowed: bool
    contact_id: int
    channel: str
    purpose: str
    at: dt.datetime
    reasons: tuple[Reason, ...]
    next_allowed_at: dt.datetime | None
    next_allowed_local: dt.datetime | None
    time_zone: str
    zones: tuple[str, ...] = ()
    location: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def never(self) -> bool:
        return self.next_allowed_at is None

    @property
    def blocking(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if not r.allowed)

    def as_dict(self) -> dict[str, Any]:
        zone = ZoneInfo(self.time_zone) if self.time_zone else None
        return {
            "contact_id": self.contact_id,
            "channel": self.channel,
            "purpose": self.purpose,
            "at": self.at.isoformat(),
            "allowed": self.allowed,
            "never": self.never,
            "next_allowed_at": self.next_allowed_at.isoformat() if self.next_allowed_at else None,
            "next_allowed_local": self.next_allowed_local.isoformat()
            if self.next_allowed_local
            else None,
            "time_zone": self.time_zone or None,
            "zones": list(self.zones),
            "location": self.location,
            "reasons": [
                {
                    "step": r.step,
                    "code": r.code,
                    "allowed": r.allowed,
                    "text": r.text,
                    "until": r.until.isoformat() if r.until else None,
                    "until_local": r.until.astimezone(zone).isoformat()
                    if r.until and zone
                    else None,
                }
                for r in self.reasons
            ],
        }


# -- time rules --------------------------------------------------------------------------


def time_rules(
    *,
    location: Location,
    own: Preferences,
    organizations: Sequence[Preferences],
    rules: Sequence[Rule],
    channel: str,
    purpose: str,
) -> list[TimeRule]:
    """Every time-based rule that applies to this channel and purpose (see inputs.py for
    how own and organization hours combine). Each stands alone: a time passes when every
    one allows it, which is what lets the bulk decision check them separately."""
    found: list[TimeRule] = []
    if channel in own.hours_channels:
        if own.hours is not None:
            found.append(TimeRule("contact_hours", "own", "their contact hours", hours=own.hours))
        if own.avoid_holidays:
            found.append(
                TimeRule(
                    "holiday",
                    "own",
                    "they keep public holidays free",
                    holidays_of=(location.country, location.subdivision),
                )
            )
    for org in organizations:
        if channel not in org.hours_channels:
            continue
        firm = not org.hours_overridable
        origin = f"org:{org.organization_id}"
        if org.hours is not None and (firm or own.hours is None):
            label = f"{org.name}'s contact hours" + (" (firm)" if firm else "")
            found.append(TimeRule("contact_hours", origin, label, hours=org.hours))
        if org.avoid_holidays and (firm or own.avoid_holidays is None):
            found.append(
                TimeRule(
                    "holiday",
                    origin,
                    f"{org.name} keeps public holidays free",
                    holidays_of=(location.country, location.subdivision),
                )
            )
    covering = [rule for rule in rules if rule.covers(channel, purpose)]
    if covering and not location.country:
        found.append(
            TimeRule(
                "legal_hours",
                "unknown_country",
                "their country is unknown, so which calling law applies is too",
                hours=NEVER_OPEN,
            )
        )
    for rule in covering:
        if not rule.applies_at(location):
            continue
        origin = f"rule:{rule.id}"
        if rule.hours is not None:
            found.append(
                TimeRule("legal_hours", origin, f"{rule.name} ({rule.place})", hours=rule.hours)
            )
        if rule.no_public_holidays:
            found.append(
                TimeRule(
                    "holiday",
                    origin,
                    f"{rule.name} ({rule.place}) forbids public holidays",
                    holidays_of=(location.country, location.subdivision),
                )
            )
    return found


# -- the steps ------------------------------------------------------------------------------


def _do_not_contact(own: Preferences, orgs: Sequence[Preferences]) -> Reason:
    if own.do_not_contact:
        note = f" ({own.note})" if own.note else ""
        return Reason("do_not_contact", "do_not_contact", False, f"Marked do not contact{note}.")
    for org in orgs:
        if not org.do_not_contact:
            continue
        note = f": {org.note}" if org.note else ""
        if not org.do_not_contact_overridable:
            return Reason(
                "do_not_contact",
                "organization_do_not_contact",
                False,
                f"{org.name} says do not contact its people{note}.",
            )
        if own.do_not_contact is not False:
            return Reason(
                "do_not_contact",
                "organization_do_not_contact",
                False,
                f"{org.name} says do not contact its people{note} "
                "(this person may be marked as an exception).",
            )
    if own.do_not_contact is False and any(o.do_not_contact for o in orgs):
        return Reason(
            "do_not_contact",
            "exception",
            True,
            "May be contacted, as an exception to their organization's default.",
        )
    return Reason("do_not_contact", "ok", True, "Not marked do not contact.")


def channel_status(own: Preferences, orgs: Sequence[Preferences], channel: str) -> tuple[str, str]:
    """The effective status of a channel and who set it ("own", an organization's name,
    or "" for nobody)."""
    mine = own.statuses.get(channel, "")
    if mine == ChannelStatus.REFUSED:
        return mine, "own"
    for org in orgs:
        if org.statuses.get(channel) == ChannelStatus.REFUSED and not org.channels_overridable:
            return ChannelStatus.REFUSED, org.name
    if mine:
        return mine, "own"
    for org in orgs:
        if org.statuses.get(channel) == ChannelStatus.REFUSED:
            return ChannelStatus.REFUSED, org.name
    for org in orgs:
        if org.statuses.get(channel):
            return org.statuses[channel], org.name
    return ChannelStatus.ALLOWED, ""


def _channel(own: Preferences, orgs: Sequence[Preferences], channel: str) -> Reason:
    label = CHANNEL_LABELS.get(channel, channel)
    label = label if label.isupper() else label.lower()  # "SMS" stays as it is
    status, who = channel_status(own, orgs, channel)
    if status == ChannelStatus.REFUSED:
        if who == "own":
            return Reason("channel", "refused", False, f"They refuse {label}.")
        return Reason(
            "channel",
            "refused_by_organization",
            False,
            f"{who} refuses {label} for its people.",
        )
    if status == ChannelStatus.PREFERRED:
        text = f"{label} is {'their' if who == 'own' else who + chr(39) + 's'} preferred channel."
        return Reason("channel", "preferred", True, text)
    if who and who != "own":
        return Reason("channel", "allowed", True, f"{label} allowed ({who}'s default).")
    return Reason("channel", "allowed", True, f"{label} allowed.")


def _caps(
    caps: Sequence[Cap],
    rules: Sequence[Rule],
    attempts: Sequence[Attempt],
    location: Location,
    channel: str,
    purpose: str,
    at: dt.datetime,
) -> Reason:
    worst: tuple[dt.datetime, str] | None = None
    limits = 0
    for cap in caps:
        if cap.channel not in ("", channel) or cap.purpose not in ("", purpose):
            continue
        limits += 1
        since = at - dt.timedelta(days=cap.period_days)
        times = sorted(
            (
                a.at
                for a in attempts
                if since < a.at <= at
                and (not cap.channel or a.channel == cap.channel)
                and (not cap.purpose or a.purpose == cap.purpose)
            ),
            reverse=True,
        )
        if len(times) >= cap.max_count:
            until = times[cap.max_count - 1] + dt.timedelta(days=cap.period_days)
            scope = " ".join(
                x for x in (cap.purpose, cap.channel and CHANNEL_LABELS[cap.channel].lower()) if x
            )
            text = (
                f"Their cap of {cap.max_count} {scope + ' ' if scope else ''}"
                f"message{'s' if cap.max_count != 1 else ''} per {cap.period_days} days "
                f"is reached ({len(times)} sent)."
            )
            if worst is None or until > worst[0]:
                worst = (until, text)
    for rule in rules:
        if not (
            rule.max_attempts
            and rule.attempts_period_days
            and rule.covers(channel, purpose)
            and rule.applies_at(location)
        ):
            continue
        limits += 1
        since = at - dt.timedelta(days=rule.attempts_period_days)
        times = sorted(
            (
                a.at
                for a in attempts
                if since < a.at <= at
                and a.channel in rule.channels
                and (not rule.purposes or a.purpose in rule.purposes)
            ),
            reverse=True,
        )
        if len(times) >= rule.max_attempts:
            until = times[rule.max_attempts - 1] + dt.timedelta(days=rule.attempts_period_days)
            text = (
                f"{rule.name} ({rule.place}) allows at most {rule.max_attempts} attempts per "
                f"{rule.attempts_period_days} days; {len(times)} were made."
            )
            if worst is None or until > worst[0]:
                worst = (until, text)
    if worst is not None:
        return Reason("frequency_cap", "cap_reached", False, worst[1], worst[0])
    if limits:
        return Reason("frequency_cap", "ok", True, "Within every frequency cap.")
    return Reason("frequency_cap", "none", True, "No frequency cap applies.")


def _cool_off(
    rules: Sequence[Rule],
    attempts: Sequence[Attempt],
    location: Location,
    channel: str,
    purpose: str,
    at: dt.datetime,
) -> Reason:
    worst: tuple[dt.datetime, str] | None = None
    for rule in rules:
        if not (
            rule.refusal_silence_days
            and rule.covers(channel, purpose)
            and rule.applies_at(location)
        ):
            continue
        since = at - dt.timedelta(days=rule.refusal_silence_days)
        refusals = [
            a.at
            for a in attempts
            if a.outcome == "refused"
            and since < a.at <= at
            and a.channel in rule.channels
            and (not rule.purposes or a.purpose in rule.purposes)
        ]
        if refusals:
            until = max(refusals) + dt.timedelta(days=rule.refusal_silence_days)
            text = (
                f"They refused on {max(refusals):%d %b %Y}; {rule.name} ({rule.place}) requires "
                f"{rule.refusal_silence_days} days of silence after a refusal."
            )
            if worst is None or until > worst[0]:
                worst = (until, text)
    if worst is not None:
        return Reason("cool_off", "silence_after_refusal", False, worst[1], worst[0])
    return Reason("cool_off", "ok", True, "No silence period running.")


def _time_step(
    step: str,
    rules: Sequence[TimeRule],
    zones: Sequence[ZoneInfo],
    location: Location,
    at: dt.datetime,
) -> Reason:
    mine = [r for r in rules if r.step == step]
    nothing = {
        "contact_hours": "No contact hours set.",
        "legal_hours": "No legal calling hours apply.",
        "holiday": "No holiday rule applies.",
    }[step]
    if not mine:
        return Reason(step, "none", True, nothing)
    labels = "; ".join(
        r.label + (f": {r.hours.describe()}" if r.hours is not None and r.hours.windows else "")
        for r in mine
    )
    if not zones:
        return Reason(
            step,
            "time_zone_unknown",
            False,
            f"Their time zone is unknown ({location.detail.rstrip('.')}), so {labels} "
            "cannot be checked.",
        )
    blocking = [r for r in mine if not r.allows(at, zones)]
    if not blocking:
        word = {"contact_hours": "Inside", "legal_hours": "Inside", "holiday": "Not a holiday:"}
        return Reason(step, "ok", True, f"{word[step]} {labels}.")
    until = next_allowed(mine, zones, at)
    if step == "holiday":
        name = next((h for r in blocking if (h := r.holiday_on(at, zones))), "a public holiday")
        text = f"It is {name} ({location.country}); {blocking[0].label}."
        code = "public_holiday"
    elif any(r.origin == "unknown_country" for r in blocking):
        text = "Their country is unknown, so which calling law applies is too."
        code = "country_unknown"
    else:
        text = "Outside " + "; ".join(
            r.label + (f" ({r.hours.describe()})" if r.hours is not None else "") for r in blocking
        )
        text += "."
        code = "outside_hours"
    if until is None:
        text += " No time in the coming year is inside them."
    return Reason(step, code, False, text, until)


def decide(
    inputs: GateInputs, *, channel: str, purpose: str, at: dt.datetime, check_consent: bool = True
) -> GateDecision:
    """The gate's answer for loaded inputs (see GateDecision). ``check_consent`` False
    (at-a-glance views, which have no purpose) reports consent as not checked."""
    location = inputs.location
    zones = zones_of(location.zones)
    own, orgs = inputs.own, inputs.organizations
    reasons: list[Reason] = []
    if check_consent and purpose:
        verdict = (
            inputs.consent
            if inputs.consent_for == (purpose, channel)
            else consent.consent_verdict(
                contact_id=inputs.contact_id, purpose=purpose, channel=channel, at=at
            )
        )
        reasons.append(
            Reason(
                "consent",
                str(verdict.rule),
                bool(verdict.allowed),
                str(verdict.reason),
                None if verdict.allowed else verdict.until,
            )
        )
    else:
        reasons.append(
            Reason("consent", "not_checked", True, "Consent is checked per purpose; none given.")
        )
    reasons.append(_do_not_contact(own, orgs))
    reasons.append(_channel(own, orgs, channel))
    rules = time_rules(
        location=location,
        own=own,
        organizations=orgs,
        rules=inputs.rules,
        channel=channel,
        purpose=purpose,
    )
    for step in ("contact_hours", "legal_hours", "holiday"):
        reasons.append(_time_step(step, rules, zones, location, at))
    reasons.append(
        _caps(inputs.caps, inputs.rules, inputs.attempts, location, channel, purpose, at)
    )
    reasons.append(_cool_off(inputs.rules, inputs.attempts, location, channel, purpose, at))
    allowed = all(r.allowed for r in reasons)
    next_at: dt.datetime | None
    if allowed:
        next_at = at
    else:
        waits = [
            r
            for r in reasons
            if not r.allowed and r.step in ("consent", "frequency_cap", "cool_off")
        ]
        final = [
            r
            for r in reasons
            if not r.allowed
            and (
                r.step in ("do_not_contact", "channel") or (r.step == "consent" and r.until is None)
            )
        ]
        if final or (rules and not zones):
            next_at = None
        else:
            start = max([at, *(r.until for r in waits if r.until is not None)])
            next_at = next_allowed(rules, zones, start)
    zone = zones[0] if zones else None
    return GateDecision(
        allowed=allowed,
        contact_id=inputs.contact_id,
        channel=channel,
        purpose=purpose,
        at=at,
        reasons=tuple(reasons),
        next_allowed_at=next_at,
        next_allowed_local=next_at.astimezone(zone) if next_at and zone else None,
        time_zone=zone.key if zone else "",
        zones=location.zones,
        location=location.detail,
    )
