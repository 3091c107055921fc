"""Duplicate-detection accuracy: Rapport's `rapport dedupe` and Splink on the same labelled data.

    python bench/dedupe_accuracy.py [--people 20000] [--seed 1] [--engine sqlite|postgresql] [--keep]

Generates synthetic people with labelled duplicates and hard negatives (bench/dedupe/
generate.py), links the CSV with Splink, imports it into a new, empty Rapport database
(every record its own contact, its record id as external id ``bench:<id>``), measures the
blocking recall of the duplicate finder's candidate pairs (the share of true pairs it
compares at all), runs ``rapport dedupe --pairs-out``, and scores both with
bench/dedupe/evaluate.py at each system's review and auto-merge thresholds. Prints one
table and writes it, with the false positives by hard-negative kind and the misses by
corruption, to var/bench/dedupe-accuracy.json. See docs/dedupe-benchmark.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dedupe import baseline, evaluate, generate, rapport_run  # noqa: E402

BENCH_DIR = ROOT / "var" / "bench"
TARGETS = {"pairwise_f1": 0.95, "pairwise_precision": 0.99}  # at the auto-merge threshold


def _row(system: str, level: str, metrics: evaluate.Metrics, seconds: float) -> dict[str, Any]:
    return {
        **metrics.as_dict(),
        "system": system,
        "threshold": level,
        "seconds": seconds,
    }


def _print_table(rows: list[dict[str, Any]]) -> None:
    head = (
        f"{'system':<16} {'threshold':<22} {'pairs':>7} {'P':>7} {'R':>7} {'F1':>7}"
        f" {'clP':>7} {'clR':>7} {'clF1':>7} {'B3 F1':>7} {'time s':>7}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        pw, cl, b3 = row["pairwise"], row["cluster_pairwise"], row["bcubed"]
        print(
            f"{row['system']:<16} {row['threshold']:<22} {row['pairs_predicted']:>7}"
            f" {pw['precision']:>7.4f} {pw['recall']:>7.4f} {pw['f1']:>7.4f}"
            f" {cl['precision']:>7.4f} {cl['recall']:>7.4f} {cl['f1']:>7.4f}"
            f" {b3['f1']:>7.4f} {row['seconds']:>7}"
        )


def _print_errors(row: dict[str, Any]) -> None:
    fps = ", ".join(f"{k} {v}" for k, v in row["false_positives_by_kind"].items()) or "none"
    print(f"  {row['system']} at {row['threshold']}: false positives by kind: {fps}")
    worst = sorted(row["missed_by_corruption"].items(), key=lambda item: item[1]["recall"])[:5]
    misses = ", ".join(f"{k} {v['missed']}/{v['true_pairs']}" for k, v in worst if v["missed"])
    print(f"    missed true pairs by corruption (worst first): {misses or 'none'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000, help="True people to generate.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--keep", action="store_true", help="Keep the database and files.")
    parser.add_argument("--json", type=Path, default=BENCH_DIR / "dedupe-accuracy.json")
    args = parser.parse_args()

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="dedupe-", dir=BENCH_DIR))
    started = time.perf_counter()
    data = generate.generate(args.people, args.seed)
    contacts_csv, labels_csv = generate.write(data, work)
    labels = evaluate.read_labels(labels_csv)
    print(
        f"Duplicate detection on {len(labels):,} records of {args.people:,} people "
        f"(seed {args.seed}; generated in {time.perf_counter() - started:.0f} s)"
    )

    result: dict[str, Any] = {
        "people": args.people,
        "records": len(labels),
        "seed": args.seed,
        "engine": args.engine,
        "targets_at_auto_merge": TARGETS,
        "rows": [],
    }
    rows: list[dict[str, Any]] = result["rows"]

    rapport_run.prepare_database(args.engine, work)
    load = rapport_run.load(contacts_csv, generate.RECORD_ID)
    result["import"] = {
        "created": load.created,
        "failed": load.failed,
        "seconds": load.seconds,
        "failures": load.failures,
    }
    print(
        f"Imported {load.created:,} contacts in {load.seconds} s; {load.failed} rows rejected"
        + (f" ({'; '.join(load.failures[:3])})" if load.failures else "")
    )
    loaded = load.loaded_record_ids

    splink = baseline.link(contacts_csv, seed=args.seed)
    # The baseline's pairs go through the pairs-file format, read as Rapport's are.
    splink_pairs_csv = work / "splink-pairs.csv"
    evaluate.write_pairs(
        splink_pairs_csv, splink.pairs, splink.auto_merge_threshold, splink.review_threshold
    )
    splink_name = f"Splink {splink.version}"
    for level, decisions in (
        (f"review (p ≥ {splink.review_threshold})", rapport_run.AT_REVIEW),
        (f"auto-merge (p ≥ {splink.auto_merge_threshold})", rapport_run.AT_AUTO_MERGE),
    ):
        pairs = evaluate.read_pairs(splink_pairs_csv, decisions)
        rows.append(
            _row(splink_name, level, evaluate.evaluate(labels, pairs, 0.0, loaded), splink.seconds)
        )

    if rapport_run.dedupe_available():
        blocking_started = time.perf_counter()
        candidates = rapport_run.candidate_record_pairs()
        blocking = evaluate.blocking_recall(labels, candidates, loaded).as_dict()
        blocking["seconds"] = round(time.perf_counter() - blocking_started, 1)
        result["blocking"] = blocking
        pairs_csv = work / "rapport-pairs.csv"
        seconds = rapport_run.run_dedupe(pairs_csv)
        for level, decisions in (
            ("review (every pair)", rapport_run.AT_REVIEW),
            ("auto-merge", rapport_run.AT_AUTO_MERGE),
        ):
            pairs = evaluate.read_pairs(pairs_csv, decisions)
            metrics = evaluate.evaluate(labels, pairs, 0.0, loaded)
            lowest = min((p for _, _, p in pairs), default=None)
            row = _row("Rapport", level, metrics, seconds)
            row["lowest_probability"] = lowest
            rows.insert(len(rows) - 2, row)
        auto = rows[1]
        result["targets_met"] = (
            auto["pairwise"]["f1"] >= TARGETS["pairwise_f1"]
            and auto["pairwise"]["precision"] >= TARGETS["pairwise_precision"]
        )
    else:
        result["rapport"] = "the `rapport dedupe` command is not in this checkout"

    print()
    _print_table(rows)
    if "rapport" in result:
        print(f"Rapport: not measured ({result['rapport']}).")
    else:
        b = result["blocking"]
        print(
            f"Rapport blocking: {b['candidate_pairs']:,} candidate pairs "
            f"({b['pairs_per_record']} per record), recall {b['recall']:.4f} "
            f"({b['true_pairs_found']:,} of {b['true_pairs']:,} true pairs)"
        )
    print()
    for row in rows:
        _print_errors(row)

    if args.keep:
        kept = f" and the PostgreSQL database {rapport_run.POSTGRES_DATABASE}"
        print(f"\nKept {work}" + (kept if args.engine == "postgresql" else ""))
    else:
        rapport_run.drop_database(args.engine)
        shutil.rmtree(work, ignore_errors=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"Wrote {args.json} ({time.perf_counter() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
