"""Where a contact is: the time zones they may be in, their country and subdivision.

In order (docs/outreach.md "Time zones"):

1. the contact's own time zone (``Contact.time_zone``);
2. else their address (the primary one, else the first): a country with one zone is
   that zone; for the US, Canada, Australia, Spain and Portugal the region (state,
   province…) picks its zones from the tz database's own region notes (zone.tab; a
   state split between zones, such as Florida or Indiana, keeps all of its zones); any
   other multi-zone country keeps all of its zones, narrowed to the phone number's when
   the number is in the same country and its zones are among them;
   (with only their own time zone, its country is the zone's, per zone.tab);
3. else their phone number (the primary one, else the first): the zones of its prefix
   (phonenumbers), all of them when a prefix spans several;
4. else nothing is known, and the gate says "not now" with that reason.

When several zones remain, windows are checked in every one of them (only times safe
in all of them pass). The country and subdivision, used for legal rules and public
holidays, come from the address, else from the phone number (its region, and for North
American numbers the state or province its area code belongs to).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from rapport.core.text import fold


@dataclass(frozen=True)
class Location:
    """``zones`` (IANA names, sorted; empty when unknown), how they were found
    (``source``: own, address, phone, unknown) and said for people (``detail``), and the
    ``country`` (ISO alpha-2) and ``subdivision`` (ISO 3166-2 suffix) for rules."""

    zones: tuple[str, ...]
    source: str
    detail: str
    country: str = ""
    subdivision: str = ""

    @property
    def known(self) -> bool:
        return bool(self.zones)


UNKNOWN = Location((), "unknown", "No time zone, address or phone number to tell where they are.")

# Regions of multi-zone countries, from the comments of the tz database's zone.tab:
# each subdivision lists every zone some part of it keeps.
_REGION_ZONES: dict[str, dict[str, tuple[str, ...]]] = {
    "US": {
        **dict.fromkeys(
            ("CT", "DE", "DC", "GA", "ME", "MD", "MA", "NH", "NJ", "NY", "NC", "OH", "PA")
            + ("RI", "SC", "VT", "VA", "WV"),
            ("America/New_York",),
        ),
        "MI": ("America/Detroit", "America/Menominee"),
        "IN": ("America/Indiana/Indianapolis", "America/Chicago"),
        "KY": ("America/Kentucky/Louisville", "America/Chicago"),
        "TN": ("America/Chicago", "America/New_York"),
        "FL": ("America/New_York", "America/Chicago"),
        **dict.fromkeys(
            ("AL", "AR", "IL", "IA", "LA", "MN", "MS", "MO", "OK", "WI"), ("America/Chicago",)
        ),
        "TX": ("America/Chicago", "America/Denver"),
        "KS": ("America/Chicago", "America/Denver"),
        "NE": ("America/Chicago", "America/Denver"),
        "SD": ("America/Chicago", "America/Denver"),
        "ND": ("America/Chicago", "America/North_Dakota/Center", "America/Denver"),
        **dict.fromkeys(("CO", "MT", "NM", "UT", "WY"), ("America/Denver",)),
        "AZ": ("America/Phoenix", "America/Denver"),
        "ID": ("America/Boise", "America/Los_Angeles"),
        "OR": ("America/Los_Angeles", "America/Boise"),
        **dict.fromkeys(("CA", "WA", "NV"), ("America/Los_Angeles",)),
        "AK": ("America/Anchorage", "America/Adak"),
        "HI": ("Pacific/Honolulu",),
        "PR": ("America/Puerto_Rico",),
        "GU": ("Pacific/Guam",),
        "VI": ("America/St_Thomas",),
        "AS": ("Pacific/Pago_Pago",),
        "MP": ("Pacific/Saipan",),
    },
    "CA": {
        "BC": ("America/Vancouver", "America/Fort_Nelson", "America/Edmonton"),
        "AB": ("America/Edmonton",),
        "SK": ("America/Regina",),
        "MB": ("America/Winnipeg",),
        "ON": ("America/Toronto", "America/Winnipeg"),
        "QC": ("America/Toronto", "America/Blanc-Sablon"),
        **dict.fromkeys(("NB", "NS", "PE"), ("America/Halifax",)),
        "NL": ("America/St_Johns", "America/Goose_Bay"),
        "YT": ("America/Whitehorse",),
        "NT": ("America/Edmonton",),
        "NU": ("America/Iqaluit", "America/Winnipeg", "America/Edmonton"),
    },
    "AU": {
        "NSW": ("Australia/Sydney", "Australia/Broken_Hill", "Australia/Lord_Howe"),
        "ACT": ("Australia/Sydney",),
        "VIC": ("Australia/Melbourne",),
        "QLD": ("Australia/Brisbane",),
        "SA": ("Australia/Adelaide",),
        "WA": ("Australia/Perth", "Australia/Eucla"),
        "TAS": ("Australia/Hobart",),
        "NT": ("Australia/Darwin",),
    },
    "ES": {"CN": ("Atlantic/Canary",), "CE": ("Africa/Ceuta",), "ML": ("Africa/Ceuta",)},
    "PT": {"20": ("Atlantic/Azores",), "30": ("Atlantic/Madeira",)},
}
# Where a country's regions table does not list a region, its main zone (Spain and
# Portugal apart from their islands).
_MAINLAND = {"ES": ("Europe/Madrid",), "PT": ("Europe/Lisbon",)}


@cache
def country_zones() -> dict[str, tuple[str, ...]]:
    """Every zone of every country, from the tz database's zone.tab."""
    text = ""
    try:
        text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        for base in zoneinfo.TZPATH:
            try:
                with open(f"{base}/zone.tab", encoding="utf-8") as handle:  # noqa: PTH123
                    text = handle.read()
                break
            except OSError:
                continue
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            found.setdefault(parts[0], []).append(parts[2])
    return {code: tuple(sorted(zones)) for code, zones in found.items()}


@cache
def zone_country() -> dict[str, str]:
    """The country of each zone that belongs to exactly one (zone.tab)."""
    owners: dict[str, set[str]] = {}
    for country, zones in country_zones().items():
        for zone in zones:
            owners.setdefault(zone, set()).add(country)
    return {zone: next(iter(found)) for zone, found in owners.items() if len(found) == 1}


@lru_cache(maxsize=512)
def zone_named(name: str) -> zoneinfo.ZoneInfo | None:
    """The IANA zone called ``name``, or None when there is no such zone."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


@cache
def _subdivision_index(country: str) -> dict[str, str]:
    """Folded names and codes of a country's subdivisions -> code suffix ("FL")."""
    import pycountry

    index: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code=country) or []:
        suffix = str(sub.code).split("-", 1)[1]
        index[fold(sub.name)] = suffix
        index[fold(suffix)] = suffix
        index[fold(str(sub.code))] = suffix
    for suffix in _REGION_ZONES.get(country, {}):
        index.setdefault(fold(suffix), suffix)
    return index


def subdivision_code(country: str, region: str) -> str:
    """ "Florida", "FL" or "US-FL" in the US -> "FL"; "" when it names no subdivision."""
    if not country or not region.strip():
        return ""
    return _subdivision_index(country.upper()).get(fold(region.strip()), "")


def _address_zones(country: str, subdivision: str) -> tuple[tuple[str, ...], bool]:
    """The zones an address in ``country``/``subdivision`` may be in, and whether the
    region decided them (False: the whole country's zones)."""
    regions = _REGION_ZONES.get(country)
    if regions and subdivision in regions:
        return tuple(sorted(regions[subdivision])), True
    if country in _MAINLAND and subdivision:
        return _MAINLAND[country], True
    return country_zones().get(country, ()), False


_NANP_STATE = re.compile(r",\s*([A-Z]{2})$")


def phone_location(e164: str) -> tuple[tuple[str, ...], str, str]:
    """Zones, region and subdivision of a phone number (E.164); empty when unknown.

    Numbers that share all but their last four digits share the answer: the zone and
    place data of phonenumbers is keyed by shorter prefixes (area code and exchange for
    North America), and looking a number up costs a quarter of a millisecond, which a
    million-contact import would feel.
    """
    key = e164[:-4] if len(e164) > 9 else e164
    found = _by_prefix.get(key)
    if found is None:
        if len(_by_prefix) > 200_000:
            _by_prefix.clear()
        found = _by_prefix[key] = _phone_location(e164)
    return found


_by_prefix: dict[str, tuple[tuple[str, ...], str, str]] = {}


def _phone_location(e164: str) -> tuple[tuple[str, ...], str, str]:
    import phonenumbers
    from phonenumbers import geocoder
    from phonenumbers import timezone as phone_zones

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return (), "", ""
    zones = tuple(
        sorted(z for z in phone_zones.time_zones_for_number(number) if zone_named(z) is not None)
    )
    region = phonenumbers.region_code_for_number(number) or ""
    subdivision = ""
    if region in ("US", "CA"):
        place = geocoder.description_for_number(number, "en", region=region)
        found = _NANP_STATE.search(place)
        subdivision = found.group(1) if found else subdivision_code(region, place)
    return zones, region, subdivision


def locate(
    *,
    time_zone: str,
    addresses: Sequence[Any],
    phones: Sequence[Any],
) -> Location:
    """Where a contact is, from their own zone, addresses and phones (model instances or
    anything with ``country``/``region``/``primary`` and ``e164``/``primary``)."""
    address = _first(a for a in addresses if (a.country or "").strip())
    phone = _first(p for p in phones if (p.e164 or "").startswith("+"))
    country = subdivision = ""
    if address is not None:
        country = address.country.upper()
        subdivision = subdivision_code(country, address.region or "")
    phone_zones: tuple[str, ...] = ()
    phone_region = phone_sub = ""
    if phone is not None:
        phone_zones, phone_region, phone_sub = phone_location(phone.e164)
        if not country:
            country, subdivision = phone_region, phone_sub
        elif phone_region == country and not subdivision:
            subdivision = phone_sub
    own = zone_named(time_zone.strip()) if time_zone else None
    if own is not None:
        if not country:
            country = zone_country().get(own.key, "")
        return Location((own.key,), "own", f"Their own time zone, {own.key}.", country, subdivision)
    if address is not None:
        zones, by_region = _address_zones(country, subdivision)
        where = f"{country}-{subdivision}" if by_region and subdivision else country
        if zones and len(zones) > 1 and not by_region and phone_region == country:
            narrower = tuple(z for z in phone_zones if z in zones)
            if narrower and len(narrower) < len(zones):
                detail = f"The address is in {country}; the phone number narrows it to "
                return Location(
                    narrower, "phone", detail + ", ".join(narrower) + ".", country, subdivision
                )
        if zones:
            detail = f"From the address ({where}): " + (
                zones[0] if len(zones) == 1 else f"{len(zones)} zones, safe hours in all of them"
            )
            return Location(zones, "address", detail + ".", country, subdivision)
    if phone_zones:
        detail = f"From the phone number ({phone_region or 'unknown region'}): " + (
            phone_zones[0]
            if len(phone_zones) == 1
            else f"{len(phone_zones)} zones, safe hours in all of them"
        )
        return Location(phone_zones, "phone", detail + ".", country, subdivision)
    if country:
        return Location(
            (),
            "unknown",
            f"No time zone is known for {country} from what is on record.",
            country,
            subdivision,
        )
    return UNKNOWN


def _first(items: Any) -> Any:
    """The primary one, else the first in order."""
    listed = list(items)
    for item in listed:
        if getattr(item, "primary", False):
            return item
    return listed[0] if listed else None
