"""Keeping each contact's ReachProfile (where they are, their own hours) in step.

Called from the contact services through core.hooks (a contact created, changed,
imported, merged or loaded as demo data), from the preference services when a person's
own hours change, and — for any contact whose row lags its version — by the gate (for
its one contact), by the bulk decision (for contacts changed in the last
``RECENT_WRITES``) and by a periodic sweep of every contact (``SWEEP_EVERY``), which
catches writes that reached the database without the hooks. A refresh reads the contacts, their addresses,
phones and preferences in four queries per chunk and writes the rows in one upsert.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from rapport.contacts.models import Address, Contact, Phone
from rapport.outreach.models import ContactPreferences, ContactReach, ReachProfile
from rapport.outreach.models.reach import SWEEP_EVERY
from rapport.outreach.zones import Location, locate

CHUNK = 2_000
# The sweep compares every contact with its row (about a second at a million contacts),
# so the bulk decision only looks at what changed since shortly before the last sweep.
RECENT_WRITES = SWEEP_EVERY + dt.timedelta(minutes=5)

logger = logging.getLogger(__name__)


class _Point(NamedTuple):
    country: str
    region: str
    e164: str
    primary: bool


def _profile_fields(location: Location, prefs: dict[str, Any] | None) -> dict[str, Any]:
    hours = prefs["hours"] if prefs else None
    avoid = prefs["avoid_holidays"] if prefs else None
    channels = sorted(prefs["hours_channels"] or []) if prefs and (hours or avoid) else []
    return {
        "zones": list(location.zones),
        "zone_source": location.source,
        "zone_detail": location.detail[:200],
        "country": location.country,
        "subdivision": location.subdivision,
        "hours": hours or None,
        "hours_channels": channels,
        "avoid_holidays": avoid,
    }


def _key(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def profiles_for(specs: Iterable[dict[str, Any]]) -> dict[str, int]:
    """The ids of the profiles with these fields, created where missing; by key."""
    wanted = {_key(fields): fields for fields in specs}
    found = dict(ReachProfile.objects.filter(key__in=list(wanted)).values_list("key", "id"))
    missing = [ReachProfile(key=k, **f) for k, f in wanted.items() if k not in found]
    if missing:
        ReachProfile.objects.bulk_create(missing, ignore_conflicts=True, batch_size=500)
        found = dict(ReachProfile.objects.filter(key__in=list(wanted)).values_list("key", "id"))
    return found


def _locations(ids: Sequence[int]) -> tuple[dict[int, tuple[int, Location]], dict[int, Any]]:
    contacts = dict(
        (pk, (version, zone))
        for pk, version, zone in Contact.objects.filter(pk__in=ids).values_list(
            "id", "version", "time_zone"
        )
    )
    addresses: dict[int, list[_Point]] = {}
    for contact_id, country, region, primary in (
        Address.objects.filter(contact_id__in=list(contacts))
        .order_by("position", "id")
        .values_list("contact_id", "country", "region", "primary")
    ):
        addresses.setdefault(contact_id, []).append(_Point(country, region, "", primary))
    phones: dict[int, list[_Point]] = {}
    for contact_id, e164, primary in (
        Phone.objects.filter(contact_id__in=list(contacts))
        .order_by("position", "id")
        .values_list("contact_id", "e164", "primary")
    ):
        phones.setdefault(contact_id, []).append(_Point("", "", e164, primary))
    prefs = {
        row["contact_id"]: row
        for row in ContactPreferences.objects.filter(contact_id__in=list(contacts)).values(
            "contact_id", "hours", "hours_channels", "avoid_holidays"
        )
    }
    located = {
        pk: (
            version,
            locate(time_zone=zone, addresses=addresses.get(pk, []), phones=phones.get(pk, [])),
        )
        for pk, (version, zone) in contacts.items()
    }
    return located, prefs


def reach_refresh(contact_ids: Iterable[int]) -> dict[int, Location]:
    """Recompute the profile of these contacts (those that exist); returns where each is."""
    ids = sorted(set(contact_ids))
    result: dict[int, Location] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with transaction.atomic():
            located, prefs = _locations(chunk)
            fields = {pk: _profile_fields(loc, prefs.get(pk)) for pk, (_, loc) in located.items()}
            profile_ids = profiles_for(fields.values())
            rows = [
                ContactReach(
                    contact_id=pk, contact_version=version, profile_id=profile_ids[_key(fields[pk])]
                )
                for pk, (version, _) in located.items()
            ]
            ContactReach.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["contact"],
                update_fields=["contact_version", "profile"],
                batch_size=1_000,
            )
        result.update((pk, loc) for pk, (_, loc) in located.items())
    return result


def stale_contacts(changed_since: dt.datetime | None = None) -> Any:
    """Contacts whose profile is missing or older than the contact (a queryset of ids),
    only among those changed since ``changed_since`` when it is given."""
    qs = Contact.objects.all()
    if changed_since is not None:
        qs = qs.filter(updated_at__gte=changed_since)
    return qs.filter(
        Q(outreach_reach__isnull=True) | ~Q(outreach_reach__contact_version=F("version"))
    ).values_list("id", flat=True)


def reach_refresh_stale(changed_since: dt.datetime | None = None) -> int:
    """Refresh every contact whose profile lags (among those changed since
    ``changed_since``, when given); returns how many were refreshed."""
    ids = list(stale_contacts(changed_since))
    if ids:
        reach_refresh(ids)
    return len(ids)


def reach_refresh_recent() -> int:
    """What the bulk decision calls before it reads: contacts changed lately."""
    return reach_refresh_stale(timezone.now() - RECENT_WRITES)


def reach_sweep() -> None:
    """Periodic duty: bring every lagging profile in step (quiet when none lag)."""
    count = reach_refresh_stale()
    if count:
        logger.info("Brought where %s contacts are up to date", f"{count:,}")


def reach_locations(contact_ids: Sequence[int]) -> dict[int, Location]:
    """Where each contact is, from their profile, refreshed first where it lags."""
    found: dict[int, Location] = {}
    lagging: list[int] = []
    for pk, version, seen, zones, source, detail, country, subdivision in Contact.objects.filter(
        pk__in=list(contact_ids)
    ).values_list(
        "id",
        "version",
        "outreach_reach__contact_version",
        "outreach_reach__profile__zones",
        "outreach_reach__profile__zone_source",
        "outreach_reach__profile__zone_detail",
        "outreach_reach__profile__country",
        "outreach_reach__profile__subdivision",
    ):
        if seen != version:
            lagging.append(pk)
        else:
            found[pk] = Location(tuple(zones), source, detail, country, subdivision)
    if lagging:
        found.update(reach_refresh(lagging))
    return found


def reach_after_contacts_saved(contact_ids: Sequence[int]) -> None:
    """core.hooks listener: contacts created or changed (their addresses and phones may be)."""
    reach_refresh(contact_ids)


def reach_after_merge(survivor_id: int, other_ids: Sequence[int]) -> None:
    """core.hooks listener: the survivor of a merge (or an undone one) and the others."""
    reach_refresh([survivor_id, *other_ids])


def reach_after_demo(first_contact_id: int) -> None:
    """core.hooks listener: demo contacts from ``first_contact_id`` on were loaded."""
    ids = list(stale_contacts().filter(id__gte=first_contact_id))
    reach_refresh(ids)
