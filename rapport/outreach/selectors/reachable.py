"""The gate in bulk: which contacts of a queryset may be reached now, in SQL.

``contacts_reachable`` answers what ``contact_gate`` answers for each contact, without
one Python call per contact:

- do not contact and channel refusals (a person's own, and their current organizations'
  firm or overridable defaults, or those of the nearest organization above with
  defaults) are subqueries on the preference tables;
- everything that depends on the clock is evaluated per ReachProfile (zones, country,
  subdivision, own hours — a few thousand serve a million contacts) with the gate's own
  time rules, and per (organization with default hours, profile) pair; the queryset
  keeps the profiles (and pairs) that allow ``at``;
- frequency caps, legal attempt limits and silences after a refusal are aggregates over
  the attempt log since the longest period that matters;
- consent is one call the consent app replaces (gate/consent.py).

Every piece is a condition on the queryset, so it stays lazy: count it, page it, chain
more filters, export it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from rapport.contacts.models import Affiliation, Contact
from rapport.core.errors import InvalidInput
from rapport.outreach.gate import check_request, consent
from rapport.outreach.gate.decide import time_rules
from rapport.outreach.gate.inputs import Preferences, active_rules, cached_hours
from rapport.outreach.gate.timing import all_allow, zones_of
from rapport.outreach.models import (
    ContactAttempt,
    ContactPreferences,
    ContactReach,
    FrequencyCap,
    OrganizationPreferences,
    ReachProfile,
)
from rapport.outreach.services.reach import reach_refresh_recent
from rapport.outreach.zones import Location

_LIFTS = ("allowed", "preferred")


def governed_organizations() -> dict[int, list[int]]:
    """Each organization with defaults → the organizations whose people follow them:
    itself and every descendant without defaults of its own nearer to it (the same
    climb as the single decision's, from the other end)."""
    from django.db import connection

    from rapport.outreach.gate.inputs import MAX_TREE_DEPTH

    sql = (
        "WITH RECURSIVE down(org_id, source_id, depth) AS ("
        "SELECT organization_id, organization_id, 0 FROM outreach_organizationpreferences "
        "UNION ALL "
        "SELECT o.id, down.source_id, down.depth + 1 FROM contacts_organization o "
        "JOIN down ON o.parent_id = down.org_id "
        f"WHERE down.depth < {MAX_TREE_DEPTH} AND NOT EXISTS ("
        "SELECT 1 FROM outreach_organizationpreferences x WHERE x.organization_id = o.id)"
        ") SELECT source_id, org_id FROM down"
    )
    governed: dict[int, list[int]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        for source_id, org_id in cursor.fetchall():
            governed[source_id].append(org_id)
    return governed


def _members(org_ids: list[int], governed: dict[int, list[int]]) -> QuerySet[Any]:
    """The people who follow the defaults of ``org_ids``: current members of them and of
    the organizations below them that follow them."""
    followers = sorted({o for source in org_ids for o in governed.get(source, [source])})
    return Affiliation.objects.filter(is_current=True, organization_id__in=followers).values(
        "contact_id"
    )


def _profile_location(profile: ReachProfile) -> Location:
    return Location(
        tuple(profile.zones),
        profile.zone_source,
        profile.zone_detail,
        profile.country,
        profile.subdivision,
    )


def _profile_own(profile: ReachProfile) -> Preferences:
    return Preferences(
        hours=cached_hours(profile.hours),
        hours_channels=tuple(profile.hours_channels or ()),
        avoid_holidays=profile.avoid_holidays,
    )


def contacts_reachable(
    queryset: QuerySet[Contact], *, channel: str, purpose: str, at: dt.datetime
) -> QuerySet[Contact]:
    """The contacts of ``queryset`` that ``contact_gate`` would let through on
    ``channel`` for ``purpose`` at ``at`` — the same answer for each, as one lazy
    queryset. ``purpose`` "" leaves consent out (list filters have no purpose; sending
    paths always give one). Profiles of contacts changed lately that lag them are
    refreshed first (older ones by the periodic sweep, see services.reach). Raises
    InvalidInput for an unknown channel, a malformed purpose or a naive ``at``."""
    check_request(channel=channel, purpose=purpose, at=at, purpose_required=False)
    at = at.astimezone(dt.UTC)
    reach_refresh_recent()
    qs = queryset
    if purpose:
        qs = consent.contacts_consenting(qs, purpose=purpose, channel=channel, at=at)
    defaults = list(OrganizationPreferences.objects.all())
    governed = governed_organizations() if defaults else {}
    qs = _without_refusals(qs, defaults, governed, channel)
    profiles = {
        p.pk: p
        for p in ReachProfile.objects.filter(
            pk__in=ContactReach.objects.order_by().values("profile_id").distinct()
        )
    }
    rules = active_rules()
    allowed: list[int] = []
    for pk, profile in profiles.items():
        found = time_rules(
            location=_profile_location(profile),
            own=_profile_own(profile),
            organizations=(),
            rules=rules,
            channel=channel,
            purpose=purpose,
        )
        if all_allow(found, at, zones_of(profile.zones)):
            allowed.append(pk)
    qs = qs.filter(pk__in=ContactReach.objects.filter(profile_id__in=allowed).values("contact_id"))
    qs = _within_organization_hours(qs, defaults, governed, profiles, channel, purpose, at)
    qs = _within_caps(qs, channel, purpose, at)
    for rule in rules:
        if not rule.covers(channel, purpose):
            continue
        here = [
            pk for pk, profile in profiles.items() if rule.applies_at(_profile_location(profile))
        ]
        if not here:
            continue
        in_place = ContactReach.objects.filter(profile_id__in=here).values("contact_id")
        attempts = ContactAttempt.objects.filter(channel__in=rule.channels, at__lte=at)
        if rule.purposes:
            attempts = attempts.filter(purpose__in=rule.purposes)
        if rule.max_attempts and rule.attempts_period_days:
            over = (
                attempts.filter(
                    outcome__in=ContactAttempt.COUNTED,
                    at__gt=at - dt.timedelta(days=rule.attempts_period_days),
                    contact_id__in=in_place,
                )
                .values("contact_id")
                .annotate(made=Count("id"))
                .filter(made__gte=rule.max_attempts)
                .values("contact_id")
            )
            qs = qs.exclude(pk__in=over)
        if rule.refusal_silence_days:
            refused = attempts.filter(
                outcome=ContactAttempt.Outcome.REFUSED,
                at__gt=at - dt.timedelta(days=rule.refusal_silence_days),
                contact_id__in=in_place,
            ).values("contact_id")
            qs = qs.exclude(pk__in=refused)
    return qs


def _without_refusals(
    qs: QuerySet[Contact],
    defaults: list[OrganizationPreferences],
    governed: dict[int, list[int]],
    channel: str,
) -> QuerySet[Contact]:
    """Leave out do-not-contact and refused channels, with organization inheritance."""
    qs = qs.exclude(
        pk__in=ContactPreferences.objects.filter(do_not_contact=True).values("contact_id")
    )
    firm = [
        d.organization_id for d in defaults if d.do_not_contact and not d.do_not_contact_overridable
    ]
    soft = [
        d.organization_id for d in defaults if d.do_not_contact and d.do_not_contact_overridable
    ]
    if firm:
        qs = qs.exclude(pk__in=_members(firm, governed))
    if soft:
        exceptions = ContactPreferences.objects.filter(do_not_contact=False).values("contact_id")
        qs = qs.exclude(Q(pk__in=_members(soft, governed)) & ~Q(pk__in=exceptions))
    qs = qs.exclude(
        pk__in=ContactPreferences.objects.filter(**{channel: "refused"}).values("contact_id")
    )
    refusing = [d for d in defaults if d.status_of(channel) == "refused"]
    firm = [d.organization_id for d in refusing if not d.channels_overridable]
    soft = [d.organization_id for d in refusing if d.channels_overridable]
    if firm:
        qs = qs.exclude(pk__in=_members(firm, governed))
    if soft:
        lifted = ContactPreferences.objects.filter(**{f"{channel}__in": _LIFTS}).values(
            "contact_id"
        )
        qs = qs.exclude(Q(pk__in=_members(soft, governed)) & ~Q(pk__in=lifted))
    return qs


def _within_organization_hours(
    qs: QuerySet[Contact],
    defaults: list[OrganizationPreferences],
    governed: dict[int, list[int]],
    profiles: dict[int, ReachProfile],
    channel: str,
    purpose: str,
    at: dt.datetime,
) -> QuerySet[Contact]:
    """Leave out members of organizations whose default hours (or holidays) apply to
    them and do not allow ``at`` — checked per (organization, profile) pair."""
    timed = {
        d.organization_id: Preferences.of(d)
        for d in defaults
        if channel in (d.hours_channels or ()) and (d.hours or d.avoid_holidays)
    }
    if not timed:
        return qs
    source_of = {org_id: source for source in timed for org_id in governed.get(source, [source])}
    pairs = (
        Affiliation.objects.filter(is_current=True, organization_id__in=sorted(source_of))
        .order_by()
        .values_list("organization_id", "contact__outreach_reach__profile_id")
        .distinct()
    )
    seen: set[tuple[int, int]] = set()
    blocked: dict[int, list[int]] = defaultdict(list)
    for member_of, profile_id in pairs:
        org_id = source_of[member_of]
        if (org_id, profile_id) in seen:
            continue
        seen.add((org_id, profile_id))
        profile = profiles.get(profile_id)
        if profile is None:
            continue
        origin = f"org:{org_id}"
        found = [
            r
            for r in time_rules(
                location=_profile_location(profile),
                own=_profile_own(profile),
                organizations=[timed[org_id]],
                rules=(),
                channel=channel,
                purpose=purpose,
            )
            if r.origin == origin
        ]
        if not all_allow(found, at, zones_of(profile.zones)):
            blocked[org_id].append(profile_id)
    if not blocked:
        return qs
    condition = Q()
    for org_id, profile_ids in blocked.items():
        condition |= Q(
            organization_id__in=governed.get(org_id, [org_id]),
            contact__outreach_reach__profile_id__in=profile_ids,
        )
    return qs.exclude(
        pk__in=Affiliation.objects.filter(is_current=True).filter(condition).values("contact_id")
    )


def _within_caps(
    qs: QuerySet[Contact], channel: str, purpose: str, at: dt.datetime
) -> QuerySet[Contact]:
    """Leave out contacts whose own frequency caps are reached at ``at``."""
    combos = (
        FrequencyCap.objects.filter(channel__in=["", channel], purpose__in=["", purpose])
        .order_by()
        .values_list("channel", "purpose", "max_count", "period_days")
        .distinct()
    )
    for cap_channel, cap_purpose, max_count, period_days in combos:
        capped = FrequencyCap.objects.filter(
            channel=cap_channel,
            purpose=cap_purpose,
            max_count=max_count,
            period_days=period_days,
        ).values("contact_id")
        attempts = ContactAttempt.objects.filter(
            outcome__in=ContactAttempt.COUNTED,
            at__gt=at - dt.timedelta(days=period_days),
            at__lte=at,
            contact_id__in=capped,
        )
        if cap_channel:
            attempts = attempts.filter(channel=cap_channel)
        if cap_purpose:
            attempts = attempts.filter(purpose=cap_purpose)
        over = (
            attempts.values("contact_id")
            .annotate(made=Count("id"))
            .filter(made__gte=max_count)
            .values("contact_id")
        )
        qs = qs.exclude(pk__in=over)
    return qs


def contacts_reachable_filter(queryset: QuerySet[Any], value: str) -> QuerySet[Any]:
    """The contact list's "reachable now by <channel>" filter (core.listing)."""
    from rapport.outreach.channels import CHANNELS

    if value not in CHANNELS:
        raise InvalidInput.single("reachable", f"Must be one of: {', '.join(CHANNELS)}.")
    return contacts_reachable(queryset, channel=value, purpose="", at=timezone.now())


def contacts_for_campaign(
    queryset: QuerySet[Contact], *, purpose: str, channel: str, at: dt.datetime
) -> QuerySet[Contact]:
    """The audience filter exports call (``core.audiences``): ``contacts_reachable`` for
    a purpose that exists; an unknown purpose or channel is an InvalidInput naming it."""
    from rapport.consent.models import Purpose
    from rapport.core.errors import FieldError, InvalidInput
    from rapport.outreach.channels import CHANNELS

    errors = []
    if channel not in CHANNELS:
        errors.append(FieldError("channel", f"Must be one of: {', '.join(CHANNELS)}."))
    if not isinstance(purpose, str) or not Purpose.objects.filter(key=purpose).exists():
        errors.append(FieldError("purpose", f"There is no purpose “{purpose}”."))
    if errors:
        raise InvalidInput(errors)
    return contacts_reachable(queryset, channel=channel, purpose=purpose, at=at)
