"""The bulk search: candidate pairs by blocking, a model learned from them, clusters.

Works on features in memory (about 1 KB a contact): every record's blocking keys are
hashed, then grouped into blocks a part of the hashes at a time. A block of up to
``FULL_BLOCK`` records gives all its pairs; a larger one of a name, email or phone key (a
switchboard number, a very common name) is sorted by name and gives each record's
``WINDOW`` neighbours; a weak key (one that pairs two common values to survive a typo)
gives pairs only in blocks of up to ``WEAK_BLOCK``. So the number of pairs grows about
linearly with the records. Each pair is compared once; the comparison patterns teach
the model (model.py) and the pairs at or above the review threshold are joined into
clusters.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from rapport.duplicates.matching.comparisons import Context, compare, people_among
from rapport.duplicates.matching.features import PersonFeatures
from rapport.duplicates.matching.keys import (
    STORED_KINDS,
    WINDOWED_KINDS,
    name_key,
    person_keys,
)
from rapport.duplicates.matching.model import MatchModel, estimate_m, estimate_u

T = TypeVar("T")

FULL_BLOCK = 40
WEAK_BLOCK = 12
WINDOW = 8
BUCKETS = 16
KEY_PARTS = 64
# How a block of each kind of key gives pairs: all pairs up to FULL_BLOCK records, then
# each record with its WINDOW neighbours by name (windowed), or none (kept); a weak
# key's block gives all its pairs up to WEAK_BLOCK records and none beyond.
_WINDOWED, _KEPT, _WEAK = 0, 1, 2
_RULES = {kind: _WINDOWED if kind in WINDOWED_KINDS else _KEPT for kind in STORED_KINDS}

Progress = Callable[[str, int, int], None]


def _no_progress(phase: str, done: int, total: int) -> None:
    return None


@dataclass
class ScoredPair:
    a: int  # positions in the records
    b: int
    probability: float
    levels: tuple[int, ...]
    name_holders: int
    area_holders: int = 0


@dataclass
class ScanResult:
    model: MatchModel
    pairs_compared: int
    pairs: list[ScoredPair]  # at or above the threshold, highest first


def candidate_pairs(
    records: Sequence[PersonFeatures], progress: Progress = _no_progress
) -> tuple[array[int], dict[int, int], dict[str, int]]:
    """The blocked candidate pairs as one array of ``a * n + b`` (a < b) without repeats;
    how many records share each record's name key (by position); and how many people
    (told apart by given name) hold each phone number held by more than one.

    Each record's keys are hashed into one of ``KEY_PARTS`` compact arrays of (hash,
    record) by the hash's value; the blocks of one part at a time are then built, give
    their pairs and are freed, so no dictionary ever holds every key (a million contacts
    have some twenty million keys, nearly all held by one record alone)."""
    n = len(records)
    parts = max(1, min(KEY_PARTS, n // 10_000))
    hashes = [array("q") for _ in range(parts)]
    owners = [array("i") for _ in range(parts)]
    # per number, the given names of its holders: a person's own duplicates share a
    # number; people with other given names behind it make it a shared line
    phone_names: dict[str, str | set[str]] = {}
    # the records whose name key falls in each part, with that key's hash
    named: list[list[tuple[int, int]]] = [[] for _ in range(parts)]
    for i, record in enumerate(records):
        for key in person_keys(record):
            # the lowest two bits of the hash say how a large block is treated (below)
            h = (hash(key) & ~3) | _RULES.get(key[: key.index(":")], _WEAK)
            hashes[h % parts].append(h)
            owners[h % parts].append(i)
            if key[0] == "p":
                _note_holder(phone_names, key[2:], record.given.split(" ", 1)[0])
        key = name_key(record)
        if key:
            h = (hash(key) & ~3) | _WINDOWED  # a name key, as made above
            named[h % parts].append((i, h))
        if i % 20_000 == 0:
            progress("blocking", i, n)
    name_holders: dict[int, int] = {}
    # Pairs go to buckets by their first record, duplicates included (8 bytes each);
    # each bucket is then deduplicated on its own, so no set ever holds every pair.
    count = max(1, min(BUCKETS, n))
    buckets = [array("q") for _ in range(count)]

    def emit(a: int, b: int) -> None:
        if a > b:
            a, b = b, a
        buckets[a * count // n].append(a * n + b)

    for part in range(parts):
        blocks: dict[int, list[int] | int] = {}
        for h, i in zip(hashes[part], owners[part], strict=True):
            members = blocks.get(h)
            if members is None:
                blocks[h] = i  # most keys stay single: no list for them
            elif isinstance(members, int):
                if members != i:
                    blocks[h] = [members, i]
            elif members[-1] != i:
                members.append(i)
        hashes[part], owners[part] = array("q"), array("i")
        for i, h in named[part]:
            held = blocks.get(h)
            name_holders[i] = len(held) if isinstance(held, list) else 1
        for h, members in blocks.items():
            if isinstance(members, int):
                continue
            rule = h & 3
            if rule == _WEAK and len(members) > WEAK_BLOCK:
                # A weak key (a name part by area, a birthday by house number …) pairs
                # two common values to catch a typo elsewhere; shared by more records
                # it finds nothing the name keys' own windows do not.
                continue
            if len(members) <= FULL_BLOCK:
                for x in range(len(members)):
                    a = members[x]
                    for b in members[x + 1 :]:
                        emit(a, b)
            elif rule == _WINDOWED:
                ordered = sorted(members, key=lambda i: (records[i].family, records[i].given, i))
                for x, a in enumerate(ordered):
                    for b in ordered[x + 1 : x + 1 + WINDOW]:
                        emit(a, b)
    pairs = array("q")
    for k in range(count):
        pairs.extend(sorted(set(buckets[k])))
        buckets[k] = array("q")  # free it before the next one is deduplicated
    phone_people = {k: people_among(v) for k, v in phone_names.items() if isinstance(v, set)}
    return pairs, name_holders, phone_people


def _note_holder(names: dict[str, str | set[str]], e164: str, given: str) -> None:
    held = names.get(e164)
    if held is None:
        names[e164] = given
    elif isinstance(held, str):
        if held != given:
            names[e164] = {held, given}
    else:
        held.add(given)


def scan(
    records: Sequence[PersonFeatures],
    *,
    model: MatchModel,
    threshold: float,
    learn: bool = True,
    excluded: set[tuple[int, int]] | None = None,
    progress: Progress = _no_progress,
) -> ScanResult:
    """Score every candidate pair of ``records``; learn the model first when ``learn``.
    ``excluded`` holds (lower id, higher id) contact pairs never to propose."""
    n = len(records)
    pairs, name_holders, phone_counts = candidate_pairs(records, progress)
    ctx = Context(phone_holders=lambda e164: phone_counts.get(e164, 1))
    total = len(pairs)
    patterns: list[tuple[int, ...]] = []
    pattern_ids: dict[tuple[int, ...], int] = {}
    pair_patterns = array("I")
    for done, packed in enumerate(pairs):
        a, b = divmod(packed, n)
        levels = compare(records[a], records[b], ctx)
        pid = pattern_ids.get(levels)
        if pid is None:
            pid = pattern_ids[levels] = len(patterns)
            patterns.append(levels)
        pair_patterns.append(pid)
        if done % 50_000 == 0:
            progress("comparing", done, total)
    if learn and n >= 2:
        progress("learning", 0, 1)
        model = estimate_u(model, records)
        counts = Counter({patterns[pid]: 0 for pid in range(len(patterns))})
        for pid in pair_patterns:
            counts[patterns[pid]] += 1
        model = estimate_m(model, counts, candidate_pairs=total)
        progress("learning", 1, 1)
    bits = [model.bits(levels) for levels in patterns]
    # An exact name can weigh up to this much more for a rare name: pairs below the
    # threshold even then are skipped without a closer look.
    floor = _logit(threshold) - model.rare_value_bonus()
    area_holders = _area_holders(records)
    found: list[ScoredPair] = []
    for done, (packed, pid) in enumerate(zip(pairs, pair_patterns, strict=True)):
        if bits[pid] < floor:
            continue
        a, b = divmod(packed, n)
        levels = patterns[pid]
        holders = name_holders.get(a, 0) if levels[0] == 0 else 0
        area = area_holders[a]
        probability = model.probability(levels, holders, area)
        if probability < threshold:
            continue
        if excluded and _ids(records, a, b) in excluded:
            continue
        found.append(ScoredPair(a, b, probability, levels, holders, area))
        if done % 200_000 == 0:
            progress("scoring", done, total)
    found.sort(key=lambda p: (-p.probability, p.a, p.b))
    return ScanResult(model=model, pairs_compared=total, pairs=found)


def _ids(records: Sequence[PersonFeatures], a: int, b: int) -> tuple[int, int]:
    x, y = records[a].id, records[b].id
    return (x, y) if x < y else (y, x)


def _logit(p: float) -> float:
    p = min(max(p, 1e-15), 1 - 1e-15)
    return math.log2(p / (1 - p))


def _area_holders(records: Sequence[PersonFeatures]) -> list[int]:
    """For each record, how many records share its first address's postcode (or its
    locality, without one); 0 without an address."""
    areas = [
        (r.addresses[0][4], r.addresses[0][0] or r.addresses[0][1]) if r.addresses else None
        for r in records
    ]
    counts = Counter(area for area in areas if area is not None and area[1])
    return [counts[area] if area is not None and area[1] else 0 for area in areas]


def connected(pairs: Sequence[T], ends: Callable[[T], tuple[int, int]]) -> list[list[T]]:
    """The pairs grouped into connected clusters (union–find over the records' ids or
    positions ``ends`` gives), each cluster's pairs in their given order."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in pairs:
        ra, rb = (root(x) for x in ends(pair))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    grouped: defaultdict[int, list[T]] = defaultdict(list)
    for pair in pairs:
        grouped[root(ends(pair)[0])].append(pair)
    return list(grouped.values())


def clusters(pairs: Sequence[ScoredPair]) -> list[list[ScoredPair]]:
    """Scored pairs as clusters, each cluster's pairs highest first (as given); clusters
    ordered by their best pair."""
    groups = connected(pairs, lambda p: (p.a, p.b))
    return sorted(groups, key=lambda ps: -max(p.probability for p in ps))
