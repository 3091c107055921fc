"""The same CSV linked with Splink (on DuckDB), the well-known baseline.

The setup follows Splink's own tutorials for deduplicating people, not a strawman:

- cleaning as its docs advise before linking: names and cities lower-cased without
  accents, emails lower-cased, phones to E.164 (libphonenumber, read in the address's
  country), postcodes upper-cased without spaces or dashes, birthdays as ISO strings;
- comparisons: ``NameComparison`` on first name and on surname (Jaro-Winkler levels
  0.92/0.88/0.7, term-frequency adjusted), ``DateOfBirthComparison``, ``EmailComparison``,
  ``ArrayIntersectAtSizes`` on the set of phone numbers, ``PostcodeComparison``-style
  exact postcode and city levels, organization with Jaro-Winkler levels;
- blocking rules for prediction on email, each phone, first name + surname, surname +
  postcode, first name + birthday, surname + birthday, and names swapped;
- λ (probability that two random records match) estimated from deterministic rules,
  u by random sampling, m by expectation maximisation in three sessions with different
  blocking (so every comparison gets trained);
- decisions at match probability 0.5 (review, as Splink's docs use for clustering) and
  0.99 (auto-merge).
"""

from __future__ import annotations

import csv
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import phonenumbers

from bench.dedupe.generate import RECORD_ID, ascii_fold

REVIEW_THRESHOLD = 0.5
AUTO_MERGE_THRESHOLD = 0.99


@dataclass
class BaselineResult:
    """Splink's scored pairs (record a, record b, match probability) and its timings."""

    pairs: list[tuple[str, str, float]]
    seconds: float
    version: str
    review_threshold: float = REVIEW_THRESHOLD
    auto_merge_threshold: float = AUTO_MERGE_THRESHOLD


def _name(value: str) -> str | None:
    text = re.sub(r"[^a-z' -]+", "", ascii_fold(value).lower()).strip()
    return text or None


def _phone(value: str, country: str) -> str | None:
    try:
        parsed = phonenumbers.parse(value, country or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def clean(row: dict[str, str]) -> dict[str, Any]:
    """One CSV row as Splink's input record."""
    country = row["Address 1 - Country"]
    phones = sorted(
        {
            number
            for number in (_phone(row[f"Phone {i} - Value"], country) for i in (1, 2))
            if number
        }
    )
    emails = [row[f"E-mail {i} - Value"].strip().lower() for i in (1, 2)]
    postcode = re.sub(r"[\s-]+", "", row["Address 1 - Postal Code"]).upper()
    return {
        "unique_id": row[RECORD_ID],
        "first_name": _name(row["First Name"]),
        "surname": _name(row["Last Name"]),
        "birthday": row["Birthday"] or None,
        "email": emails[0] or emails[1] or None,
        "phones": phones or None,
        "phone_1": phones[0] if phones else None,
        "phone_2": phones[1] if len(phones) > 1 else None,
        "postcode": postcode or None,
        "city": _name(row["Address 1 - City"]),
        "organization": _name(row["Organization Name"]),
    }


def link(csv_path: Path, seed: int = 1) -> BaselineResult:
    """Train a Splink model on the CSV and score its candidate pairs (probability ≥ 0.5)."""
    import splink
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    from splink.blocking_rule_library import CustomRule

    started = time.perf_counter()
    with csv_path.open(newline="", encoding="utf-8") as handle:
        records = [clean(row) for row in csv.DictReader(handle)]
    db_api = DuckDBAPI()
    table = db_api.register(records, dataset_display_name="contacts")
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("birthday", input_is_string=True),
            cl.EmailComparison("email"),
            cl.ArrayIntersectAtSizes("phones", [1]),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("organization", [0.95, 0.85]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phone_1"),
            block_on("phone_2"),
            CustomRule("l.phone_1 = r.phone_2"),
            block_on("first_name", "surname"),
            block_on("surname", "postcode"),
            block_on("first_name", "birthday"),
            block_on("surname", "birthday"),
            CustomRule("l.first_name = r.surname and l.surname = r.first_name"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(table, settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "birthday"), block_on("email")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    for rule in (
        block_on("first_name", "surname"),
        block_on("birthday"),
        block_on("email"),
    ):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, record_sample_proportion=1.0
        )
    predictions = linker.inference.predict(
        threshold_match_probability=REVIEW_THRESHOLD, warning_mode="never"
    )
    relation = predictions.as_duckdbpyrelation()
    rows = relation.select("unique_id_l, unique_id_r, match_probability").fetchall()
    pairs = [(str(a), str(b), float(p)) for a, b, p in rows]
    return BaselineResult(
        pairs=pairs,
        seconds=round(time.perf_counter() - started, 1),
        version=splink.__version__,
    )
