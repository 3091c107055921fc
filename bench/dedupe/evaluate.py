"""Accuracy of scored record pairs against the generator's labels.

    python -m bench.dedupe.evaluate LABELS.csv PAIRS.csv [--threshold 0.9 | --decision auto_merge]

``evaluate(labels, pairs, threshold)`` takes any scored pairs ``(record a, record b,
probability)`` and counts as predicted those at or above the threshold:

- pairwise precision, recall and F1, where the true pairs are all pairs of loaded
  records of the same true person;
- cluster metrics: the predicted pairs joined into connected components, compared with
  the true people, as the pairwise P/R/F1 of every pair a cluster implies and as B-cubed
  P/R/F1 (per record: the share of its cluster that is the same person, and the share of
  that person found in its cluster; averaged over records);
- false positives by the hard-negative kind that links the two people (``other`` when
  they are unrelated), and, per corruption, how many true pairs with a record carrying
  it were missed.

``read_pairs`` reads the CSV ``rapport dedupe --pairs-out`` writes (``PAIRS_COLUMNS``).
``blocking_recall`` scores the candidate pairs a matcher's blocking generates, before any
scoring: the share of true pairs among them, and how many there are per record.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

# The pairs file of `rapport dedupe --pairs-out`: its columns, and the source under
# which the benchmark's record ids become the contacts' external ids.
PAIRS_COLUMNS = (
    "contact_a",
    "contact_b",
    "external_ids_a",
    "external_ids_b",
    "probability",
    "decision",
)
EXTERNAL_ID_SOURCE = "bench"

Pair = tuple[str, str, float]


@dataclass(frozen=True)
class Label:
    """What the generator says about one record."""

    person_id: str
    kind: str  # original, duplicate, hard_negative:<kind>
    corruptions: tuple[str, ...]
    related_person_id: str


@dataclass
class Scores:
    precision: float
    recall: float
    f1: float

    @classmethod
    def of(cls, true_positives: int, predicted: int, actual: int) -> Scores:
        precision = true_positives / predicted if predicted else 1.0
        recall = true_positives / actual if actual else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(round(precision, 4), round(recall, 4), round(f1, 4))


@dataclass
class Metrics:
    """Every figure for one set of predicted pairs."""

    threshold: float
    pairs_predicted: int
    true_pairs: int
    true_positives: int
    pairwise: Scores
    cluster_pairwise: Scores
    bcubed: Scores
    false_positives_by_kind: dict[str, int] = field(default_factory=dict)
    missed_by_corruption: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def read_labels(path: Path) -> dict[str, Label]:
    """The labels CSV the generator writes, by record id."""
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            row["record_id"]: Label(
                person_id=row["person_id"],
                kind=row["kind"],
                corruptions=tuple(c for c in row["corruptions"].split(";") if c),
                related_person_id=row["related_person_id"],
            )
            for row in csv.DictReader(handle)
        }


def record_ids(external_ids: str) -> list[str]:
    """The benchmark record ids among a contact's ``source:value; …`` external ids."""
    prefix = f"{EXTERNAL_ID_SOURCE}:"
    return [
        part.strip()[len(prefix) :]
        for part in external_ids.split(";")
        if part.strip().startswith(prefix)
    ]


def read_pairs(path: Path, decisions: Iterable[str] | None = None) -> list[Pair]:
    """The scored pairs of a ``rapport dedupe --pairs-out`` file, as record-id pairs.

    ``decisions`` keeps only the rows with one of those decisions.
    """
    wanted = set(decisions) if decisions is not None else None
    pairs: list[Pair] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = set(PAIRS_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: no column {', '.join(sorted(missing))}")
        for row in reader:
            if wanted is not None and row["decision"] not in wanted:
                continue
            probability = float(row["probability"])
            # A contact holds one record in this benchmark; should it hold more, each
            # of its records pairs with each of the other contact's.
            for a in record_ids(row["external_ids_a"]):
                for b in record_ids(row["external_ids_b"]):
                    pairs.append((a, b, probability))
    return pairs


def write_pairs(path: Path, pairs: Iterable[Pair], auto_merge: float, review: float) -> None:
    """Scored record pairs in the pairs-file format (for a baseline, or a test)."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(PAIRS_COLUMNS)
        for a, b, p in pairs:
            if p < review:
                continue
            decision = "auto_merge" if p >= auto_merge else "review"
            writer.writerow(
                [
                    a,
                    b,
                    f"{EXTERNAL_ID_SOURCE}:{a}",
                    f"{EXTERNAL_ID_SOURCE}:{b}",
                    f"{p:.6f}",
                    decision,
                ]
            )


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def evaluate(
    labels: dict[str, Label],
    pairs: Iterable[Pair],
    threshold: float,
    loaded: Iterable[str] | None = None,
) -> Metrics:
    """Score the pairs at or above ``threshold`` against the labels.

    ``loaded`` is the record ids that reached the matcher (default: every labelled
    record); true pairs and clusters count only those. Pairs naming a record outside
    them are ignored.
    """
    records = set(labels if loaded is None else loaded) & set(labels)
    predicted = {
        _key(a, b)
        for a, b, p in pairs
        if p >= threshold and a != b and a in records and b in records
    }
    by_person: dict[str, list[str]] = defaultdict(list)
    for record in sorted(records):
        by_person[labels[record].person_id].append(record)
    true_pairs = sum(len(r) * (len(r) - 1) // 2 for r in by_person.values())
    true_positive = sum(1 for a, b in predicted if labels[a].person_id == labels[b].person_id)
    pairwise = Scores.of(true_positive, len(predicted), true_pairs)

    clusters = _components(records, predicted)
    implied = sum(len(c) * (len(c) - 1) // 2 for c in clusters)
    implied_true = 0
    precision_sum = recall_sum = 0.0
    for cluster in clusters:
        people = Counter(labels[r].person_id for r in cluster)
        implied_true += sum(n * (n - 1) // 2 for n in people.values())
        for person, n in people.items():
            # Each of the n records of this person in the cluster shares these ratios.
            precision_sum += n * n / len(cluster)
            recall_sum += n * n / len(by_person[person])
    cluster_pairwise = Scores.of(implied_true, implied, true_pairs)
    count = len(records) or 1
    b_precision, b_recall = precision_sum / count, recall_sum / count
    b_f1 = 2 * b_precision * b_recall / (b_precision + b_recall) if b_precision + b_recall else 0.0
    bcubed = Scores(round(b_precision, 4), round(b_recall, 4), round(b_f1, 4))

    return Metrics(
        threshold=threshold,
        pairs_predicted=len(predicted),
        true_pairs=true_pairs,
        true_positives=true_positive,
        pairwise=pairwise,
        cluster_pairwise=cluster_pairwise,
        bcubed=bcubed,
        false_positives_by_kind=_false_positives(labels, predicted),
        missed_by_corruption=_missed(labels, by_person, predicted),
    )


@dataclass
class BlockingRecall:
    """How many of the true pairs a blocking step lets through, and at what cost."""

    records: int
    candidate_pairs: int
    true_pairs: int
    true_pairs_found: int
    recall: float
    pairs_per_record: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def blocking_recall(
    labels: dict[str, Label],
    candidates: Iterable[tuple[str, str]],
    loaded: Iterable[str] | None = None,
) -> BlockingRecall:
    """The share of true pairs (of ``loaded`` records) among the ``candidates``.

    Candidate pairs are counted once whatever their order; pairs naming a record outside
    the loaded, labelled ones are ignored, as in ``evaluate``.
    """
    records = set(labels if loaded is None else loaded) & set(labels)
    pairs = {_key(a, b) for a, b in candidates if a != b and a in records and b in records}
    sizes = Counter(labels[record].person_id for record in records)
    true_pairs = sum(n * (n - 1) // 2 for n in sizes.values())
    found = sum(1 for a, b in pairs if labels[a].person_id == labels[b].person_id)
    return BlockingRecall(
        records=len(records),
        candidate_pairs=len(pairs),
        true_pairs=true_pairs,
        true_pairs_found=found,
        recall=round(found / true_pairs, 4) if true_pairs else 1.0,
        pairs_per_record=round(len(pairs) / len(records), 2) if records else 0.0,
    )


def _components(records: set[str], pairs: set[tuple[str, str]]) -> list[list[str]]:
    parent = {r: r for r in records}

    def root(r: str) -> str:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = defaultdict(list)
    for r in records:
        groups[root(r)].append(r)
    return list(groups.values())


def _false_positives(labels: dict[str, Label], predicted: set[tuple[str, str]]) -> dict[str, int]:
    """False positives by the relation of the two people (``other``: none)."""
    kinds_by_person = {
        label.person_id: (label.kind.removeprefix("hard_negative:"), label.related_person_id)
        for label in labels.values()
        if label.kind.startswith("hard_negative:")
    }
    counts: Counter[str] = Counter()
    for a, b in predicted:
        pa, pb = labels[a].person_id, labels[b].person_id
        if pa == pb:
            continue
        kind = "other"
        for one, other in ((pa, pb), (pb, pa)):
            if one in kinds_by_person and kinds_by_person[one][1] == other:
                kind = kinds_by_person[one][0]
        counts[kind] += 1
    return dict(sorted(counts.items()))


def _missed(
    labels: dict[str, Label],
    by_person: dict[str, list[str]],
    predicted: set[tuple[str, str]],
) -> dict[str, dict[str, float]]:
    """Per corruption: true pairs with a record carrying it, how many were missed, recall."""
    totals: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    for records in by_person.values():
        for a, b in combinations(records, 2):
            corruptions = set(labels[a].corruptions) | set(labels[b].corruptions)
            found = _key(a, b) in predicted
            for corruption in corruptions:
                totals[corruption] += 1
                if not found:
                    missed[corruption] += 1
    return {
        name: {
            "true_pairs": totals[name],
            "missed": missed[name],
            "recall": round(1 - missed[name] / totals[name], 4),
        }
        for name in sorted(totals)
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path)
    parser.add_argument("pairs", type=Path)
    parser.add_argument("--threshold", type=float, default=0.0)
    parser.add_argument("--decision", action="append", help="Keep only pairs with this decision.")
    args = parser.parse_args()
    metrics = evaluate(
        read_labels(args.labels), read_pairs(args.pairs, args.decision), args.threshold
    )
    print(json.dumps(metrics.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
