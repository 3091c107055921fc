"""A Fellegi–Sunter model: how much each comparison level says for or against a match.

For every comparison level the model holds ``m`` (how often two records of the same
person compare at that level) and ``u`` (how often two records of different people do).
A pair's evidence is the sum of log2(m/u) over its comparisons, added to the prior odds
that two records picked at random are the same person; a missing value adds nothing.
The match probability is the logistic of that sum, and the explanation lists every term.

Defaults work on a fresh database. ``estimate_u`` learns the u values from random pairs
of the database's own records and ``estimate_m`` the m values from the anchor pairs among
the blocked candidates (pairs almost surely of one person by one field), both smoothed
towards the defaults so that a small database cannot learn nonsense.
An exact name match is weighed by how common the name is (term frequency): two "John
Smith" records say less than two "Zbigniew Brzęczyszczykiewicz" records.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rapport.duplicates.matching.comparisons import (
    MISSING,
    NO_CONTEXT,
    PERSON_COMPARISONS,
    Comparison,
    compare,
)
from rapport.duplicates.matching.features import PersonFeatures

# Levels as listed in comparisons.py; the last (disagreement) takes what the others leave.
_DEFAULT_M: dict[str, tuple[float, ...]] = {
    "name": (0.70, 0.02, 0.05, 0.10, 0.03, 0.02, 0.01, 0.01, 0.04, 0.005, 0.015),
    "email": (0.55, 0.10, 0.35),
    "phone": (0.30, 0.20, 0.03, 0.02, 0.45),
    "address": (0.60, 0.05, 0.12, 0.23),
    "organization": (0.65, 0.35),
    "title": (0.45, 0.15, 0.40),
    "birthday": (0.90, 0.05, 0.03, 0.015, 0.005, 0.0),  # a generation apart: never (the floor)
    "generation": (0.995, 0.005),
}
# Different people share an address or a line mostly as a household or an office does:
# those levels are set for that, not for strangers.
_DEFAULT_U: dict[str, tuple[float, ...]] = {
    "name": (2e-5, 1e-6, 2e-5, 2e-4, 1e-4, 1e-3, 1e-3, 4e-3, 4e-3, 1e-3, 0.0),
    "email": (1e-7, 1e-3, 0.0),
    "phone": (1e-7, 1e-3, 1e-3, 2e-5, 0.0),
    "address": (1e-4, 3e-4, 5e-3, 0.0),
    "organization": (5e-3, 0.0),
    "title": (0.02, 0.05, 0.0),
    "birthday": (3e-5, 3e-4, 3e-3, 0.40, 0.05, 0.0),
    "generation": (0.5, 0.0),
}
# The share of contacts assumed to have a duplicate, before any scan has measured it.
DEFAULT_DUPLICATE_SHARE = 0.05
# No level is ever taken as rarer than this among different people, nor among matches.
_FLOOR = 1e-9
# How many pairs' worth of belief the defaults carry against what the data says.
_PRIOR_PAIRS_U = 200.0
_PRIOR_PAIRS_M = 50.0
_NAME = 0  # the name comparison's position
_SAME_AREA = 2  # the address level "same area"
# A postcode or locality shared by few contacts weighs at most this many bits more than
# an average one.
_MAX_AREA_BONUS = 4.0
# Fewer contacts than this teach nothing reliable: the defaults stay.
MIN_LEARNING_POPULATION = 2_000


def _complete(values: Sequence[float]) -> tuple[float, ...]:
    """The levels with the last one set to what the others leave (never below _FLOOR)."""
    rest = 1.0 - sum(values[:-1])
    return (*[max(v, _FLOOR) for v in values[:-1]], max(rest, _FLOOR))


def _normalised(values: Sequence[float]) -> tuple[float, ...]:
    total = sum(values) or 1.0
    return tuple(max(v / total, _FLOOR) for v in values)


@dataclass
class MatchModel:
    """m and u per comparison level, and the prior probability that two random records
    are the same person (about the duplicate share over half the population)."""

    m: dict[str, tuple[float, ...]]
    u: dict[str, tuple[float, ...]]
    prior: float
    population: int
    learned: dict[str, Any] = field(default_factory=dict)
    comparisons: tuple[Comparison, ...] = PERSON_COMPARISONS

    def __post_init__(self) -> None:
        self._weights = [
            [math.log2(m / u) for m, u in zip(self.m[c.name], self.u[c.name], strict=True)]
            for c in self.comparisons
        ]
        self._prior_bits = math.log2(self.prior / (1 - self.prior))
        self._exact_name_m = self.m["name"][0]
        self._address = next(k for k, c in enumerate(self.comparisons) if c.name == "address")
        self._same_area_m = self.m["address"][_SAME_AREA]

    # -- scoring ---------------------------------------------------------------
    def bits(self, levels: Sequence[int], name_holders: int = 0, area_holders: int = 0) -> float:
        """The pair's evidence in bits (log2 odds), the prior included. ``name_holders``
        and ``area_holders``: how many records hold the pair's name and its postcode or
        locality (0 when unknown), to weigh an exact name and a shared area by how
        common they are."""
        total = self._prior_bits
        for weights, level in zip(self._weights, levels, strict=True):
            if level != MISSING:
                total += weights[level]
        return total + self._frequency_adjustment(levels, name_holders, area_holders)

    def _frequency_adjustment(
        self, levels: Sequence[int], name_holders: int, area_holders: int
    ) -> float:
        adjustment = 0.0
        if name_holders and levels[_NAME] == 0:
            adjustment += self._exact_name_adjustment(name_holders)
        if area_holders and levels[self._address] == _SAME_AREA:
            adjustment += self._same_area_adjustment(area_holders)
        return adjustment

    def _exact_name_adjustment(self, holders: int) -> float:
        """The exact-name weight for a name this many contacts have, minus the average
        one the levels hold.

        Two records sharing a name hold it twice, so no name is weighed as commoner than
        the average for that alone: the average is the level's u or two records' share
        of the database, whichever is larger. In a database of a few thousand, a name
        only the pair holds would otherwise count bits against them."""
        population = max(self.population, 1)
        u = max(holders, 2) / population
        usual = max(self.u["name"][0], 2 / population)
        return math.log2(usual / u)

    def _same_area_adjustment(self, holders: int) -> float:
        """The same-area weight for a postcode or locality this many contacts share,
        minus the average one: a village says more than a capital. Never more than
        _MAX_AREA_BONUS bits above the average, so a sparse area cannot make a match."""
        u = max(holders / max(self.population, 1), 1 / max(self.population, 1), _FLOOR)
        average = self._weights[self._address][_SAME_AREA]
        return min(math.log2(self._same_area_m / u) - average, _MAX_AREA_BONUS)

    def rare_value_bonus(self) -> float:
        """The most the frequency adjustments can add to a pair's bits."""
        return max(0.0, self._exact_name_adjustment(1)) + max(0.0, self._same_area_adjustment(1))

    def probability(
        self, levels: Sequence[int], name_holders: int = 0, area_holders: int = 0
    ) -> float:
        return probability_of(self.bits(levels, name_holders, area_holders))

    def explain(
        self, levels: Sequence[int], name_holders: int = 0, area_holders: int = 0
    ) -> list[dict[str, Any]]:
        """Each comparison's level and weight in bits (0 when a value is missing)."""
        out = []
        for comparison, weights, level in zip(self.comparisons, self._weights, levels, strict=True):
            if level == MISSING:
                out.append(
                    {"field": comparison.name, "label": comparison.label, "level": "missing",
                     "outcome": "missing", "weight": 0.0}
                )  # fmt: skip
                continue
            weight = weights[level]
            if comparison.name == "name" and level == 0 and name_holders:
                weight += self._exact_name_adjustment(name_holders)
            if comparison.name == "address" and level == _SAME_AREA and area_holders:
                weight += self._same_area_adjustment(area_holders)
            out.append(
                {
                    "field": comparison.name,
                    "label": comparison.label,
                    "level": comparison.levels[level],
                    "outcome": "agree" if weight > 0 else "disagree",
                    "weight": round(weight, 2),
                }
            )
        return out

    # -- storage ---------------------------------------------------------------
    def as_json(self) -> dict[str, Any]:
        return {
            "m": {k: list(v) for k, v in self.m.items()},
            "u": {k: list(v) for k, v in self.u.items()},
            "prior": self.prior,
            "population": self.population,
            "learned": self.learned,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MatchModel:
        default = default_model(int(data.get("population") or 1))
        m = {c.name: tuple(data["m"].get(c.name, default.m[c.name])) for c in PERSON_COMPARISONS}
        u = {c.name: tuple(data["u"].get(c.name, default.u[c.name])) for c in PERSON_COMPARISONS}
        for c in PERSON_COMPARISONS:  # a comparison gained a level since it was stored
            if len(m[c.name]) != len(c.levels) or len(u[c.name]) != len(c.levels):
                m[c.name], u[c.name] = default.m[c.name], default.u[c.name]
        return cls(
            m=m,
            u=u,
            prior=float(data["prior"]),
            population=int(data["population"]),
            learned=dict(data.get("learned") or {}),
        )


# Levels that contradict one person: a pair showing one may be proposed for review, but is
# never merged without a person deciding, however likely the rest makes it.
CONTRADICTIONS = {
    "birthday": frozenset({"different", "far apart", "another generation"}),
    "generation": frozenset({"conflict"}),
}


def contradicted(
    levels: Sequence[int], comparisons: Sequence[Comparison] = PERSON_COMPARISONS
) -> bool:
    """Whether a pair's levels hold a contradiction (CONTRADICTIONS)."""
    return any(
        level != MISSING and c.levels[level] in CONTRADICTIONS.get(c.name, ())
        for c, level in zip(comparisons, levels, strict=True)
    )


def explanation_contradicted(explanation: Sequence[dict[str, Any]]) -> bool:
    """The same for a stored explanation (``MatchModel.explain``'s entries)."""
    return any(
        entry.get("level") in CONTRADICTIONS.get(entry.get("field", ""), ())
        for entry in explanation
    )


def probability_of(bits: float) -> float:
    if bits > 60:
        return 1.0
    if bits < -60:
        return 0.0
    return 1.0 / (1.0 + 2.0 ** (-bits))


def prior_for(population: int, duplicate_share: float = DEFAULT_DUPLICATE_SHARE) -> float:
    """The chance that two records picked at random are the same person, when this share
    of the ``population`` has a duplicate."""
    n = max(population, 2)
    return min(max(duplicate_share * n / (n * (n - 1) / 2), 1e-12), 0.5)


def default_model(population: int) -> MatchModel:
    """The model before any data was seen, for a database of ``population`` contacts."""
    return MatchModel(
        m={c.name: _complete(_DEFAULT_M[c.name]) for c in PERSON_COMPARISONS},
        u={c.name: _complete(_DEFAULT_U[c.name]) for c in PERSON_COMPARISONS},
        prior=prior_for(population),
        population=population,
    )


# -- learning ----------------------------------------------------------------------


def estimate_u(
    model: MatchModel, records: Sequence[PersonFeatures], *, pairs: int = 100_000, seed: int = 7
) -> MatchModel:
    """u from ``pairs`` random pairs of ``records`` (nearly all of different people),
    smoothed towards the model's current u and never below it for an agreement level."""
    if len(records) < MIN_LEARNING_POPULATION:
        # Among a few records, random pairs are too often the duplicates themselves.
        return model
    rng = random.Random(seed)
    counts = [Counter[int]() for _ in model.comparisons]
    n = len(records)
    for _ in range(pairs):
        i, j = rng.randrange(n), rng.randrange(n)
        if i == j:
            continue
        for k, level in enumerate(compare(records[i], records[j], NO_CONTEXT)):
            if level != MISSING:
                counts[k][level] += 1
    u = {}
    for k, comparison in enumerate(model.comparisons):
        seen = sum(counts[k].values())
        prior = model.u[comparison.name]
        levels = len(comparison.levels)
        # Random pairs show how much commoner than the default an agreement is here (a
        # small pool of names, say), but not how much rarer: 100,000 pairs cannot see
        # one in a million, and the defaults already allow for households and offices.
        # A level that counts against a match (birthdays years apart) is common among
        # strangers and measured as it is.
        m = model.m[comparison.name]
        agree = [
            max(share, prior[level]) if m[level] > prior[level] else share
            for level in range(levels - 1)
            for share in [
                (counts[k][level] + _PRIOR_PAIRS_U * prior[level]) / (seen + _PRIOR_PAIRS_U)
            ]
        ]
        u[comparison.name] = _complete([*agree, 0.0])
    learned = {**model.learned, "u_pairs": pairs}
    return MatchModel(
        m=model.m, u=u, prior=model.prior, population=model.population, learned=learned
    )


# Anchor pairs: candidates that are almost surely one person by one field, used to
# learn how the *other* fields of one person's records compare. The email's own m is
# learned from pairs sharing a phone number that is nobody else's.
_ANCHORS = {"email": ("phone", 0)}
# Levels that say "two people" (a parent and a child): kept at the default m.
_TWO_PEOPLE = {"birthday": 5, "generation": 1}
_DEFAULT_ANCHOR = ("email", 0)


def estimate_m(
    model: MatchModel, patterns: Counter[tuple[int, ...]], *, candidate_pairs: int
) -> MatchModel:
    """m (and the prior) from the blocked candidates: from anchor pairs when the data has
    enough of them, else by expectation–maximisation (``estimate_m_em``)."""
    if model.population < MIN_LEARNING_POPULATION:
        return _with_learned(model, m_source="defaults")
    email = next(k for k, c in enumerate(model.comparisons) if c.name == "email")
    anchors = sum(count for pattern, count in patterns.items() if pattern[email] == 0)
    if anchors >= MIN_ANCHOR_PAIRS:
        learned = estimate_m_anchors(model, patterns, candidate_pairs=candidate_pairs)
        learned.learned["m_source"] = "anchors"
    else:
        learned = estimate_m_em(model, patterns, candidate_pairs=candidate_pairs)
    learned.learned["anchor_pairs"] = anchors
    return learned


def estimate_m_anchors(
    model: MatchModel, patterns: Counter[tuple[int, ...]], *, candidate_pairs: int
) -> MatchModel:
    """m for each comparison from the *anchor pairs* among the blocked candidates: pairs
    that share a canonical email (for the email itself: a phone number nobody else has)
    are almost surely one person, so how their other fields compare is how one person's
    records compare. Smoothed towards the defaults; unchanged with fewer than 50 anchor
    pairs or a small population, and kept at the defaults if the result could not
    describe same-person pairs.

    Expectation–maximisation over all candidates is the textbook way, but on a database
    with households and offices it takes a family sharing an address and a line for one
    person; anchors cannot, because families do not share an email address."""
    if model.population < MIN_LEARNING_POPULATION:
        return model
    position = {c.name: k for k, c in enumerate(model.comparisons)}
    m: dict[str, tuple[float, ...]] = {}
    anchors_used: dict[str, int] = {}
    for k, comparison in enumerate(model.comparisons):
        anchor_field, anchor_level = _ANCHORS.get(comparison.name, _DEFAULT_ANCHOR)
        anchor = position[anchor_field]
        counts = [0] * len(comparison.levels)
        for pattern, count in patterns.items():
            if pattern[anchor] == anchor_level and pattern[k] != MISSING:
                counts[pattern[k]] += count
        seen = sum(counts)
        anchors_used[comparison.name] = seen
        start = model.m[comparison.name]
        if seen < 50:
            m[comparison.name] = start
            continue
        shares = [
            (counts[level] + _PRIOR_PAIRS_M * start[level]) / (seen + _PRIOR_PAIRS_M)
            for level in range(len(start))
        ]
        m[comparison.name] = _normalised(_two_people_kept(comparison.name, shares, start))
    learned = {**model.learned, "m_anchor_pairs": anchors_used}
    problem = _implausible(m, model.u)
    if problem:
        learned["m_kept"] = problem
        return _with_learned(model, **learned)
    return MatchModel(
        m=m, u=model.u, prior=model.prior, population=model.population, learned=learned
    )


def _two_people_kept(name: str, shares: Sequence[float], start: Sequence[float]) -> list[float]:
    """``shares`` with the level that says "two people" (birthdays a generation apart,
    Jr. against Sr.) kept at its starting m. One person's records are never a generation
    apart: what the candidates show there is a parent and a child at one address, and
    learning it would teach the model to merge them."""
    fixed = _TWO_PEOPLE.get(name)
    if fixed is None:
        return list(shares)
    rest = 1 - start[fixed]
    others = sum(v for level, v in enumerate(shares) if level != fixed) or 1.0
    return [start[fixed] if level == fixed else v * rest / others for level, v in enumerate(shares)]


def _implausible(m: dict[str, tuple[float, ...]], u: dict[str, tuple[float, ...]]) -> str:
    """Why learned m values cannot describe same-person pairs ("" when they can): the
    strongest agreement of name, email, phone and birthday must count for a match and
    their disagreement against it; a different name or birthday by at least a bit."""
    for name in ("name", "email", "phone", "birthday"):
        if m[name][0] <= u[name][0] or m[name][-1] >= u[name][-1]:
            return f"{name} agreement would not count for a match"
    for name in ("name", "birthday"):
        if m[name][-1] > u[name][-1] / 2:
            return f"a different {name} would hardly count against a match"
    return ""


# With fewer candidate pairs sharing an email than this, m comes from EM instead.
MIN_ANCHOR_PAIRS = 200
_EM_ITERATIONS = 100
_EM_TOLERANCE = 1e-6


def estimate_m_em(
    model: MatchModel, patterns: Counter[tuple[int, ...]], *, candidate_pairs: int
) -> MatchModel:
    """m and the prior by expectation–maximisation over the candidates' comparison
    patterns, started from ``model``.

    Two classes, same person and different people, each with its own level shares per
    comparison; u among candidates is estimated alongside (candidates agree far more
    often than random pairs) but only m and the share of matches are kept: scoring uses
    the u of random pairs (``estimate_u``).
    """
    comparisons = model.comparisons
    items = list(patterns.items())
    total = sum(count for _, count in items)
    if not total:
        return model
    start_m = [list(model.m[c.name]) for c in comparisons]
    m = [list(levels) for levels in start_m]
    u = [list(model.u[c.name]) for c in comparisons]
    share = 0.5
    for _ in range(_EM_ITERATIONS):
        sum_m = [[0.0] * len(c.levels) for c in comparisons]
        sum_u = [[0.0] * len(c.levels) for c in comparisons]
        matched = 0.0
        log_m = [[math.log(v) for v in levels] for levels in m]
        log_u = [[math.log(v) for v in levels] for levels in u]
        base = math.log(share) - math.log(1 - share)
        for pattern, count in items:
            odds = base
            for k, level in enumerate(pattern):
                if level != MISSING:
                    odds += log_m[k][level] - log_u[k][level]
            p = 1.0 / (1.0 + math.exp(-odds)) if odds > -700 else 0.0
            matched += p * count
            for k, level in enumerate(pattern):
                if level != MISSING:
                    sum_m[k][level] += p * count
                    sum_u[k][level] += (1 - p) * count
        new_m = []
        for k, comparison in enumerate(comparisons):
            seen = sum(sum_m[k])
            shares = [
                (sum_m[k][level] + _PRIOR_PAIRS_M * start_m[k][level]) / (seen + _PRIOR_PAIRS_M)
                for level in range(len(start_m[k]))
            ]
            new_m.append(list(_normalised(_two_people_kept(comparison.name, shares, start_m[k]))))
            u[k] = list(_normalised(sum_u[k]))
        change = max(
            abs(a - b)
            for old, new in zip(m, new_m, strict=True)
            for a, b in zip(old, new, strict=True)
        )
        m = new_m
        share = min(max(matched / total, 1e-9), 1 - 1e-9)
        if change < _EM_TOLERANCE:
            break
    learned_m = {c.name: tuple(m[k]) for k, c in enumerate(comparisons)}
    n = max(model.population, 2)
    prior = min(max(share * candidate_pairs / (n * (n - 1) / 2), 1e-12), 0.5)
    learned = {**model.learned, "m_source": "em", "em_match_share": round(share, 6)}
    problem = _implausible(learned_m, model.u)
    if problem:
        learned["m_kept"] = problem
        return _with_learned(model, **learned)
    return MatchModel(m=learned_m, u=model.u, prior=prior, population=model.population,
                      learned=learned)  # fmt: skip


def _with_learned(model: MatchModel, **learned: Any) -> MatchModel:
    return MatchModel(m=model.m, u=model.u, prior=model.prior, population=model.population,
                      learned={**model.learned, **learned})  # fmt: skip


def model_source(model: MatchModel) -> str:
    """Where the parameters in use came from, in one or two sentences."""
    learned = model.learned
    source = learned.get("m_source")
    if source is None:
        return (
            "Defaults: no full scan has learned from this database yet "
            f"(sized for {model.population:,} contacts)."
        )
    if source == "defaults":
        return (
            f"Defaults: {model.population:,} contacts are fewer than the "
            f"{MIN_LEARNING_POPULATION:,} a model can learn from reliably."
        )
    u = f"u from {learned['u_pairs']:,} random pairs of the database's contacts"
    anchors = int(learned.get("anchor_pairs", 0))
    if source == "anchors":
        m = f"m from the {anchors:,} candidate pairs that share an email (anchor pairs)"
    else:
        m = (
            f"m by expectation–maximisation over the candidate pairs (only {anchors:,} share "
            f"an email; {MIN_ANCHOR_PAIRS:,} are needed to learn from those), "
            f"{learned.get('em_match_share', 0):.2%} of the candidates taken for matches"
        )
    text = f"Learned by the last full scan: {m}; {u}."
    if learned.get("m_kept"):
        text += f" The learned m was set aside and the defaults kept: {learned['m_kept']}."
    return text


def model_table(model: MatchModel) -> list[dict[str, Any]]:
    """Every comparison's levels with m, u and the weight in bits they give."""
    return [
        {
            "field": c.name,
            "label": c.label,
            "levels": [
                {"level": level, "m": m, "u": u, "weight": round(math.log2(m / u), 2)}
                for level, m, u in zip(c.levels, model.m[c.name], model.u[c.name], strict=True)
            ],
        }
        for c in model.comparisons
    ]
