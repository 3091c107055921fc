"""The metrics, on a hand-made example whose every figure is worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.dedupe import evaluate
from bench.dedupe.evaluate import Label

# Person A has records a1 a2 a3 (a2 a typo, a3 a nickname), B has b1 b2, C is c1 and is
# B's household member, D is d1.
LABELS = {
    "a1": Label("A", "original", (), ""),
    "a2": Label("A", "duplicate", ("name_typo",), ""),
    "a3": Label("A", "duplicate", ("nickname",), ""),
    "b1": Label("B", "original", (), ""),
    "b2": Label("B", "duplicate", ("phone_format",), ""),
    "c1": Label("C", "hard_negative:household", (), "B"),
    "d1": Label("D", "original", (), ""),
}
# True pairs: a1a2 a1a3 a2a3 b1b2 = 4.
PAIRS = [
    ("a1", "a2", 0.99),
    ("a2", "a1", 0.98),  # the same pair again, in the other order
    ("b1", "b2", 0.95),
    ("b2", "c1", 0.97),  # household false positive
    ("a3", "d1", 0.60),  # unrelated false positive, below 0.9
    ("a1", "a1", 1.0),  # a record with itself is no pair
]


def test_pairwise_scores_count_each_pair_once() -> None:
    metrics = evaluate.evaluate(LABELS, PAIRS, 0.9)
    # Predicted {a1a2, b1b2, b2c1}: 2 of 3 right, 2 of 4 true pairs found.
    assert metrics.pairs_predicted == 3
    assert metrics.true_pairs == 4
    assert metrics.true_positives == 2
    assert metrics.pairwise == evaluate.Scores(0.6667, 0.5, 0.5714)


def test_cluster_scores_take_the_connected_components() -> None:
    metrics = evaluate.evaluate(LABELS, PAIRS, 0.9)
    # Clusters {a1 a2} {a3} {b1 b2 c1} {d1}: implied pairs a1a2, b1b2, b1c1, b2c1 → 2 of 4
    # right; true pairs found 2 of 4.
    assert metrics.cluster_pairwise == evaluate.Scores(0.5, 0.5, 0.5)
    # B-cubed precision: a1 a2 1, a3 1, b1 b2 2/3, c1 1/3, d1 1 → 17/3 / 7 = 0.8095.
    # Recall: a1 a2 2/3, a3 1/3, b1 b2 1, c1 1, d1 1 → 17/3 / 7 = 0.8095.
    assert metrics.bcubed == evaluate.Scores(0.8095, 0.8095, 0.8095)


def test_false_positives_are_told_by_the_relation_of_the_two_people() -> None:
    assert evaluate.evaluate(LABELS, PAIRS, 0.9).false_positives_by_kind == {"household": 1}
    assert evaluate.evaluate(LABELS, PAIRS, 0.5).false_positives_by_kind == {
        "household": 1,
        "other": 1,
    }


def test_misses_are_counted_per_corruption_of_either_record() -> None:
    missed = evaluate.evaluate(LABELS, PAIRS, 0.9).missed_by_corruption
    assert missed == {
        "name_typo": {"true_pairs": 2, "missed": 1, "recall": 0.5},
        "nickname": {"true_pairs": 2, "missed": 2, "recall": 0.0},
        "phone_format": {"true_pairs": 1, "missed": 0, "recall": 1.0},
    }


def test_records_that_were_not_loaded_leave_the_truth_and_the_predictions() -> None:
    loaded = set(LABELS) - {"a3"}
    metrics = evaluate.evaluate(LABELS, PAIRS, 0.5, loaded)
    assert metrics.true_pairs == 2
    assert metrics.pairs_predicted == 3
    assert metrics.pairwise == evaluate.Scores(0.6667, 1.0, 0.8)


def test_no_prediction_is_perfectly_precise_and_finds_nothing() -> None:
    metrics = evaluate.evaluate(LABELS, [], 0.5)
    assert metrics.pairwise == evaluate.Scores(1.0, 0.0, 0.0)
    assert metrics.bcubed.precision == 1.0


def test_a_pairs_file_round_trips_by_decision(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    evaluate.write_pairs(path, PAIRS, auto_merge=0.97, review=0.9)
    everything = evaluate.read_pairs(path)
    assert {(a, b) for a, b, _ in everything} == {
        ("a1", "a2"), ("a2", "a1"), ("b1", "b2"), ("b2", "c1"), ("a1", "a1"),
    }  # fmt: skip
    auto = evaluate.read_pairs(path, ["auto_merge"])
    assert sorted(p for _, _, p in auto) == [0.97, 0.98, 0.99, 1.0]


def test_pairs_are_joined_back_by_their_bench_external_ids(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text(
        "contact_a,contact_b,external_ids_a,external_ids_b,probability,decision\n"
        '7,9,"crm:x1; bench:a1",bench:a2,0.93,review\n'
        "7,12,crm:x1,bench:b1,0.5,review\n"
    )
    assert evaluate.read_pairs(path) == [("a1", "a2", 0.93)]


def test_a_pairs_file_without_the_expected_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text("a,b,p\n1,2,0.5\n")
    with pytest.raises(ValueError, match="no column"):
        evaluate.read_pairs(path)


def test_blocking_recall_counts_the_true_pairs_among_the_candidates() -> None:
    candidates = [
        ("a1", "a2"),
        ("a2", "a1"),  # again, in the other order
        ("a3", "d1"),
        ("b2", "c1"),
        ("b1", "b2"),
        ("c1", "c1"),
    ]
    found = evaluate.blocking_recall(LABELS, candidates)
    # Candidates a1a2 a3d1 b2c1 b1b2: 2 of the 4 true pairs; 4 pairs for 7 records.
    assert (found.candidate_pairs, found.true_pairs, found.true_pairs_found) == (4, 4, 2)
    assert found.recall == 0.5
    assert found.pairs_per_record == 0.57


def test_blocking_recall_counts_only_loaded_records() -> None:
    # Without a3 the true pairs are a1a2 and b1b2, both among the candidates.
    loaded = set(LABELS) - {"a3"}
    found = evaluate.blocking_recall(LABELS, [("a1", "a2"), ("b1", "b2"), ("a3", "a1")], loaded)
    assert (found.records, found.true_pairs, found.true_pairs_found) == (6, 2, 2)
    assert found.recall == 1.0
