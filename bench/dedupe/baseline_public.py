"""Splink on the public data sets, set up as Splink's own examples for that data.

FEBRL (febrl1, febrl2, febrl4) follows Splink's FEBRL examples (the FEBRL 3
deduplication and the FEBRL 4 linking notebooks in its documentation), without the
social-security number that neither system is given:

- comparisons: ``NameComparison`` on given name and on surname (term-frequency
  adjusted), ``DateOfBirthComparison`` (invalid dates as null), exact street number
  (term-frequency adjusted), postcode by Damerau-Levenshtein 1 / 2 (term-frequency
  adjusted); in place of the dropped social-security number, the street
  (``address_1``) and the suburb by Jaro-Winkler 0.9 / 0.7 (term-frequency adjusted);
- blocking for prediction: the FEBRL 3 example's given name, surname, birth date and
  postcode, and the FEBRL 4 example's names swapped, street number + street and state +
  street;
- λ from deterministic rules (names + birth date, names swapped + birth date) at recall
  0.45 (the examples used 0.8–0.9 with the social-security number among their rules;
  without it these rules catch 37–49 % of the true pairs); u by random sampling (10
  million pairs, as the examples recommend); m by EM in two sessions blocked on birth date
  and on postcode, estimated without term frequencies, as the FEBRL 4 example does.

RLdata (rldata10000) has names and birth dates only, and each duplicate differs from its
original in about one value; the same recipe on those fields:

- comparisons: ``NameComparison`` on first name and on family name (term-frequency
  adjusted), exact middle name, ``DateOfBirthComparison``;
- blocking for prediction: first + family name, the two swapped, birth date, family name
  + birth year;
- λ from rules that allow one of the three to differ (first name + birth date, family
  name + birth date, both names + birth date) at recall 0.55; u by random sampling (10
  million pairs); m by EM blocked on birth date and on both names.

Both systems see the same records (those Rapport's import loaded) with the same values:
Splink gets FEBRL's street number, street and second line as separate columns, as its
examples use them, where a contact holds them as one street address. Decisions at match
probability 0.5 (review) and baseline.AUTO_MERGE_THRESHOLD (auto-merge), as in
baseline.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bench.dedupe.baseline import AUTO_MERGE_THRESHOLD, REVIEW_THRESHOLD, BaselineResult
from bench.dedupe.public import PublicRecord

U_SAMPLE_PAIRS = 1e7


@dataclass
class PublicBaselineResult(BaselineResult):
    """Splink's scored pairs, and every pair its blocking rules generated."""

    blocked_pairs: list[tuple[str, str]] = field(default_factory=list)


def _value(text: str) -> str | None:
    return text.strip() or None


def febrl_input(record: PublicRecord) -> dict[str, Any]:
    """A FEBRL record as Splink's examples read it (no social-security number)."""
    return {
        "unique_id": record.record_id,
        "given_name": _value(record.given_name),
        "surname": _value(record.family_name),
        "street_number": _value(record.street_number),
        "address_1": _value(record.street_name),
        "address_2": _value(record.street_line_2),
        "suburb": _value(record.locality),
        "postcode": _value(record.postcode),
        "state": _value(record.region),
        "date_of_birth": _value(record.birthday),
    }


def rldata_input(record: PublicRecord) -> dict[str, Any]:
    """An RLdata record: names and the birth date (ISO, or null when not a real date)."""
    return {
        "unique_id": record.record_id,
        "first_name": _value(record.given_name),
        "middle_name": _value(record.middle_name),
        "surname": _value(record.family_name),
        "dob": _value(record.birthday),
    }


def _febrl_setup() -> dict[str, Any]:
    import splink.comparison_library as cl
    from splink import block_on
    from splink.blocking_rule_library import CustomRule

    swapped = "l.given_name = r.surname and l.surname = r.given_name"
    return {
        "comparisons": [
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, invalid_dates_as_null=True
            ),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]).configure(
                term_frequency_adjustments=True
            ),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]).configure(
                term_frequency_adjustments=True
            ),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
        "blocking": [
            block_on("given_name"),
            block_on("surname"),
            CustomRule(swapped),
            block_on("date_of_birth"),
            block_on("postcode"),
            block_on("street_number", "address_1"),
            block_on("state", "address_1"),
        ],
        "deterministic": [
            block_on("given_name", "surname", "date_of_birth"),
            CustomRule(f"{swapped} and l.date_of_birth = r.date_of_birth"),
        ],
        "recall": 0.45,
        "em": [block_on("date_of_birth"), block_on("postcode")],
    }


def _rldata_setup() -> dict[str, Any]:
    import splink.comparison_library as cl
    from splink import block_on
    from splink.blocking_rule_library import CustomRule

    return {
        "comparisons": [
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.ExactMatch("middle_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True, invalid_dates_as_null=True),
        ],
        "blocking": [
            block_on("first_name", "surname"),
            CustomRule("l.first_name = r.surname and l.surname = r.first_name"),
            block_on("dob"),
            block_on("surname", "substr(dob, 1, 4)"),
        ],
        "deterministic": [
            block_on("first_name", "surname", "dob"),
            block_on("first_name", "dob"),
            block_on("surname", "dob"),
        ],
        "recall": 0.55,
        "em": [block_on("dob"), block_on("first_name", "surname")],
    }


SETUPS = {"febrl": (febrl_input, _febrl_setup), "rldata": (rldata_input, _rldata_setup)}


def link(family: str, records: Iterable[PublicRecord], seed: int = 1) -> PublicBaselineResult:
    """Train Splink on the records and score every pair its blocking rules generate.

    The pairs at or above the review threshold are the result; every generated pair
    (whatever its probability) is kept to measure the blocking's recall. The time
    counts building the input, training and predicting, not listing the blocked pairs.
    """
    import splink
    from splink import DuckDBAPI, Linker, SettingsCreator

    to_input, setup_of = SETUPS[family]
    started = time.perf_counter()
    setup = setup_of()
    db_api = DuckDBAPI()
    table = db_api.register([to_input(record) for record in records], dataset_display_name=family)
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=setup["comparisons"],
        blocking_rules_to_generate_predictions=setup["blocking"],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(table, settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        setup["deterministic"], recall=setup["recall"]
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=seed)
    for rule in setup["em"]:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True, record_sample_proportion=1.0
        )
    predictions = linker.inference.predict(warning_mode="never")
    relation = predictions.as_duckdbpyrelation()
    rows = (
        relation.filter(f"match_probability >= {REVIEW_THRESHOLD}")
        .select("unique_id_l, unique_id_r, match_probability")
        .fetchall()
    )
    pairs = [(str(a), str(b), float(p)) for a, b, p in rows]
    seconds = round(time.perf_counter() - started, 1)
    blocked = [(str(a), str(b)) for a, b in relation.select("unique_id_l, unique_id_r").fetchall()]
    return PublicBaselineResult(
        pairs=pairs,
        seconds=seconds,
        version=splink.__version__,
        review_threshold=REVIEW_THRESHOLD,
        auto_merge_threshold=AUTO_MERGE_THRESHOLD,
        blocked_pairs=blocked,
    )
