"""Adding, changing and removing legal calling rules (admins only).

A rule is checked whole (every bad field named, nothing saved), and may not overlap an
active rule of the same place: two rules for the same country and subdivision that
share a channel and a purpose would leave it unclear which one an admin meant to
change, so the second is refused naming the first. Rules of different places (US and
US-FL) do overlap on purpose: both apply, together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pycountry
from django.db import transaction

from rapport.core import policy
from rapport.core.errors import Conflict, FieldError, InvalidInput
from rapport.outreach.channels import CHANNELS
from rapport.outreach.gate.calendars import calendar_known
from rapport.outreach.gate.inputs import forget_rules
from rapport.outreach.hours import hours_from_input
from rapport.outreach.models import CallingRule

RULE_FIELDS = frozenset(
    {
        "name",
        "country",
        "subdivision",
        "channels",
        "purposes",
        "hours",
        "no_public_holidays",
        "max_attempts",
        "attempts_period_days",
        "refusal_silence_days",
        "source",
        "active",
    }
)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")


def _number(data: Mapping[str, Any], key: str, errors: list[FieldError]) -> int | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
        errors.append(FieldError(key, "Give a whole number from 1 to 3650, or nothing."))
        return None
    return value


def _check(data: Mapping[str, Any], current: CallingRule | None) -> dict[str, Any]:
    errors: list[FieldError] = []
    for key in data:
        if key not in RULE_FIELDS:
            errors.append(FieldError(str(key), "Unknown field."))
    fields: dict[str, Any] = {}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        errors.append(FieldError("name", "Give the rule a name (at most 100 characters)."))
    else:
        fields["name"] = name.strip()
    country = data.get("country")
    code = ""
    if not isinstance(country, str) or not country.strip():
        errors.append(FieldError("country", "Give the country's ISO code, e.g. FR."))
    else:
        found = pycountry.countries.get(alpha_2=country.strip().upper())
        if found is None:
            errors.append(FieldError("country", f"“{country[:20]}” is not an ISO country code."))
        else:
            code = str(found.alpha_2)
    fields["country"] = code
    subdivision = str(data.get("subdivision") or "").strip().upper()
    if subdivision.startswith(f"{code}-"):
        subdivision = subdivision[len(code) + 1 :]
    if subdivision and code:
        known = {
            str(s.code).split("-", 1)[1]
            for s in pycountry.subdivisions.get(country_code=code) or []
        }
        if subdivision not in known:
            errors.append(
                FieldError("subdivision", f"{code} has no subdivision “{subdivision[:10]}”.")
            )
    fields["subdivision"] = subdivision
    channels = data.get("channels")
    if not isinstance(channels, list) or not channels:
        errors.append(FieldError("channels", "Give the channels the rule covers."))
        channels = []
    for i, channel in enumerate(channels):
        if channel not in CHANNELS:
            errors.append(FieldError(f"channels[{i}]", "There is no such channel."))
    fields["channels"] = [c for c in CHANNELS if c in channels]
    purposes = data.get("purposes") or []
    if not isinstance(purposes, list):
        errors.append(FieldError("purposes", "Give a list of purpose keys (empty: every one)."))
        purposes = []
    for i, purpose in enumerate(purposes):
        if not isinstance(purpose, str) or not _SLUG.match(purpose):
            errors.append(FieldError(f"purposes[{i}]", "Give the purpose's key, e.g. sales."))
    fields["purposes"] = sorted(set(p for p in purposes if isinstance(p, str)))
    try:
        hours = hours_from_input(data.get("hours"))
        fields["hours"] = hours.stored() if hours is not None else None
    except InvalidInput as exc:
        errors += exc.errors
    holidays = data.get("no_public_holidays", False)
    if not isinstance(holidays, bool):
        errors.append(FieldError("no_public_holidays", "Give true or false."))
        holidays = False
    if holidays and code and not calendar_known(code):
        errors.append(
            FieldError("no_public_holidays", f"No public holiday calendar is known for {code}.")
        )
    fields["no_public_holidays"] = holidays
    fields["max_attempts"] = _number(data, "max_attempts", errors)
    fields["attempts_period_days"] = _number(data, "attempts_period_days", errors)
    if (fields["max_attempts"] is None) != (fields["attempts_period_days"] is None):
        errors.append(
            FieldError("attempts_period_days", "Give both a number of attempts and a period.")
        )
    fields["refusal_silence_days"] = _number(data, "refusal_silence_days", errors)
    source = data.get("source") or ""
    if not isinstance(source, str) or len(source) > 300:
        errors.append(FieldError("source", "At most 300 characters."))
        source = ""
    fields["source"] = source.strip()
    active = data.get("active", True)
    if not isinstance(active, bool):
        errors.append(FieldError("active", "Give true or false."))
        active = True
    fields["active"] = active
    if not errors and not (
        fields["hours"] or holidays or fields["max_attempts"] or fields["refusal_silence_days"]
    ):
        errors.append(
            FieldError(
                "hours", "A rule must limit something: hours, holidays, attempts or a silence."
            )
        )
    if not errors and active:
        errors += _overlap(fields, current)
    if errors:
        raise InvalidInput(errors)
    return fields


def _overlap(fields: dict[str, Any], current: CallingRule | None) -> list[FieldError]:
    others = CallingRule.objects.filter(
        active=True, country=fields["country"], subdivision=fields["subdivision"]
    )
    if current is not None:
        others = others.exclude(pk=current.pk)
    for other in others:
        shared = [c for c in fields["channels"] if c in other.channels]
        purposes_meet = (
            not fields["purposes"]
            or not other.purposes
            or set(fields["purposes"]) & set(other.purposes)
        )
        if shared and purposes_meet:
            place = other.place
            return [
                FieldError(
                    "channels",
                    f"“{other.name}” already covers {', '.join(shared)} in {place} for "
                    "these purposes; change that rule, or narrow this one's channels or "
                    "purposes.",
                )
            ]
    return []


@transaction.atomic
def calling_rule_create(*, actor: Any, data: Mapping[str, Any]) -> CallingRule:
    """Add a legal rule. Raises InvalidInput naming every bad field (an overlap with an
    active rule of the same place names ``channels``), NotPermitted for non-admins."""
    policy.require(actor, "calling_rules.manage")
    rule = CallingRule.objects.create(**_check(data, None))
    transaction.on_commit(forget_rules)
    forget_rules()
    return rule


@transaction.atomic
def calling_rule_update(
    *, actor: Any, rule: CallingRule, data: Mapping[str, Any], expected_version: int | None = None
) -> CallingRule:
    """Replace a rule's fields with ``data``; Conflict when ``expected_version`` is stale."""
    policy.require(actor, "calling_rules.manage")
    current = CallingRule.objects.select_for_update().filter(pk=rule.pk).first()
    if current is None:
        raise Conflict("This rule has been deleted.")
    if expected_version is not None and current.version != expected_version:
        raise Conflict("This rule was changed by someone else since you loaded it.")
    for key, value in _check(data, current).items():
        setattr(current, key, value)
    current.version += 1
    current.save()
    transaction.on_commit(forget_rules)
    forget_rules()
    return current


@transaction.atomic
def calling_rule_delete(
    *, actor: Any, rule: CallingRule, expected_version: int | None = None
) -> None:
    """Remove a rule (deactivating keeps it for reference; deleting forgets it)."""
    policy.require(actor, "calling_rules.manage")
    current = CallingRule.objects.select_for_update().filter(pk=rule.pk).first()
    if current is None:
        return
    if expected_version is not None and current.version != expected_version:
        raise Conflict("This rule was changed by someone else since you loaded it.")
    current.delete()
    transaction.on_commit(forget_rules)
    forget_rules()
