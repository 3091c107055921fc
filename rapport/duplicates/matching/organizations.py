"""Organizations: features, blocking keys, comparisons and a Fellegi–Sunter score.

Two organizations are compared on their web domains, their names (legal form,
punctuation, case and ``&``/``and`` left out: "Smith & Sons, Inc." is "Smith and Sons"),
their phone numbers and their addresses. Organizations are few next to people, so the
weights are fixed defaults rather than learned. Without domains, the keys pair the
name's sound and its first letters with the postcode and the locality, and the house
number with the street, so a mistyped name or address still meets its twin.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import JaroWinkler

from rapport.duplicates.matching import normal
from rapport.duplicates.matching.comparisons import MISSING, same_area, same_street


@dataclass(frozen=True, slots=True)
class OrganizationFeatures:
    id: int
    names: frozenset[str]  # name and legal name, as organization_key
    domains: frozenset[str]
    phones: frozenset[str]
    # (postcode key, locality, house number, street words)
    addresses: tuple[tuple[str, str, str, str], ...]


def organization_features(
    *,
    id: int = 0,  # noqa: A002 - the organization's id
    name: str = "",
    legal_name: str = "",
    domains: Iterable[str] = (),
    website: str = "",
    phones: Iterable[str] = (),
    addresses: Iterable[tuple[str, str, str]] = (),
) -> OrganizationFeatures:
    """``phones`` are E.164 numbers; ``addresses`` are (street, locality, postcode)."""
    hosts = {d.lower().removeprefix("www.") for d in domains if d}
    if website:
        host = website.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
        if host:
            hosts.add(host.removeprefix("www."))
    rows = []
    for street, locality, postcode in addresses:
        number, words = normal.street_key(street or "")
        row = (normal.postcode_key(postcode or ""), normal.fold(locality or ""), number, words)
        if any(row):
            rows.append(row)
    return OrganizationFeatures(
        id=id,
        names=frozenset(k for k in map(normal.organization_key, (name, legal_name)) if k),
        domains=frozenset(hosts),
        phones=frozenset(p for p in phones if p),
        addresses=tuple(rows),
    )


def organization_keys(f: OrganizationFeatures) -> set[str]:
    keys = {"d:" + d for d in f.domains} | {"p:" + p for p in f.phones}
    starts: set[str] = set()
    for name in f.names:
        keys.add("n:" + name[:150])
        sound = normal.phonetic(name)
        keys.add("s:" + sound + "|" + name.split(" ", 1)[0][:40])
        starts |= {sound, name.replace(" ", "")[:4]}
    starts.discard("")
    for postcode, locality, number, street in f.addresses:
        for kind, area in (("z", postcode), ("t", locality)):
            if not area:
                continue
            if number:
                keys.add("a" + kind + ":" + area + "|" + number)
            for start in starts:
                keys.add("w" + kind + ":" + area + "|" + start)
        if number and street:
            keys.add("h:" + number + "|" + street.replace(" ", "")[:4])
    return keys


def _name(a: OrganizationFeatures, b: OrganizationFeatures) -> int:
    if not a.names or not b.names:
        return MISSING
    if a.names & b.names:
        return 0
    for x in a.names:
        for y in b.names:
            if JaroWinkler.normalized_similarity(x, y) >= 0.9:
                return 1
            if x.replace(" ", "") == y.replace(" ", ""):
                return 1
            shorter, longer = sorted((set(x.split()), set(y.split())), key=len)
            if shorter < longer:  # "Globex" and "Globex Holdings"
                return 1
    return 2


def _domain(a: OrganizationFeatures, b: OrganizationFeatures) -> int:
    if not a.domains or not b.domains:
        return MISSING
    return 0 if a.domains & b.domains else 1


def _phone(a: OrganizationFeatures, b: OrganizationFeatures) -> int:
    if not a.phones or not b.phones:
        return MISSING
    return 0 if a.phones & b.phones else 1


def _address(a: OrganizationFeatures, b: OrganizationFeatures) -> int:
    if not a.addresses or not b.addresses:
        return MISSING
    best = 2
    for post_a, town_a, number_a, street_a in a.addresses:
        for post_b, town_b, number_b, street_b in b.addresses:
            if not same_area(post_a, town_a, post_b, town_b):
                continue
            if number_a and number_a == number_b and same_street(street_a, street_b):
                return 0
            best = 1
    return best


# (name, label, comparison, level names, m, u)
_COMPARISONS: tuple[tuple[str, str, Any, tuple[str, ...], tuple[float, ...], tuple[float, ...]], ...] = (
    ("name", "Name", _name, ("same", "similar", "different"), (0.85, 0.10, 0.05), (1e-4, 1e-3, 0.9989)),
    ("domain", "Web domain", _domain, ("same", "different"), (0.80, 0.20), (1e-5, 0.99999)),
    ("phone", "Phone", _phone, ("same", "different"), (0.60, 0.40), (1e-5, 0.99999)),
    ("address", "Address", _address, ("same", "same area", "different"), (0.60, 0.20, 0.20), (1e-4, 5e-3, 0.9949)),
)  # fmt: skip
# Two organizations picked at random are rarely one: about one in this many pairs.
_PRIOR_BITS = math.log2(1 / 5_000)


def organization_score(
    a: OrganizationFeatures, b: OrganizationFeatures
) -> tuple[float, list[dict[str, Any]]]:
    """The probability that two organizations are one, and the weight of each field."""
    bits = _PRIOR_BITS
    explanation = []
    for name, label, compare, levels, m, u in _COMPARISONS:
        level = compare(a, b)
        if level == MISSING:
            explanation.append({"field": name, "label": label, "level": "missing",
                                "outcome": "missing", "weight": 0.0})  # fmt: skip
            continue
        weight = math.log2(m[level] / u[level])
        bits += weight
        explanation.append(
            {
                "field": name,
                "label": label,
                "level": levels[level],
                "outcome": "agree" if weight > 0 else "disagree",
                "weight": round(weight, 2),
            }
        )
    probability = 1.0 / (1.0 + 2.0 ** (-bits)) if bits > -60 else 0.0
    return probability, explanation
