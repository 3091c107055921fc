"""The generator: deterministic, valid phones, labels that agree with the records."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import phonenumbers
import pytest

from bench.dedupe import generate


@pytest.fixture(scope="module")
def data() -> generate.Generated:
    return generate.generate(600, seed=3)


def test_the_same_seed_writes_the_same_files(tmp_path: Path) -> None:
    first = generate.write(generate.generate(300, seed=5), tmp_path / "a")
    second = generate.write(generate.generate(300, seed=5), tmp_path / "b")
    for one, other in zip(first, second, strict=True):
        assert one.read_bytes() == other.read_bytes()


def test_another_seed_writes_other_people() -> None:
    assert generate.generate(50, seed=1).rows != generate.generate(50, seed=2).rows


def test_every_phone_passes_libphonenumber_read_in_the_records_country(
    data: generate.Generated,
) -> None:
    checked = 0
    for row in data.rows:
        for i in (1, 2):
            value = row[f"Phone {i} - Value"]
            if value:
                parsed = phonenumbers.parse(value, row["Address 1 - Country"] or None)
                assert phonenumbers.is_valid_number(parsed), value
                checked += 1
    assert checked > len(data.rows)


def test_each_record_has_one_label_and_each_person_one_original(
    data: generate.Generated,
) -> None:
    ids = [row[generate.RECORD_ID] for row in data.rows]
    assert ids == [label["record_id"] for label in data.labels]
    assert len(set(ids)) == len(ids)
    firsts = Counter(label["person_id"] for label in data.labels if label["kind"] != "duplicate")
    assert set(firsts.values()) == {1}
    assert {label["person_id"] for label in data.labels} == set(firsts)


def test_duplicates_name_their_corruptions_and_look_alikes_their_anchor(
    data: generate.Generated,
) -> None:
    people = {label["person_id"] for label in data.labels}
    for label in data.labels:
        if label["kind"] == "duplicate":
            corruptions = label["corruptions"].split(";")
            assert corruptions and set(corruptions) <= set(generate.CORRUPTIONS)
        else:
            assert label["corruptions"] == ""
        if label["kind"].startswith("hard_negative:"):
            assert label["kind"].removeprefix("hard_negative:") in generate.HARD_NEGATIVES
            assert label["related_person_id"] in people
            assert label["related_person_id"] != label["person_id"]
    kinds = Counter(label["kind"] for label in data.labels)
    assert kinds["duplicate"] > 0.2 * kinds["original"]
    assert all(kinds[f"hard_negative:{kind}"] > 0 for kind in generate.HARD_NEGATIVES)


def test_a_parent_and_child_share_their_name_and_address_but_not_their_birthday(
    data: generate.Generated,
) -> None:
    rows = {row[generate.RECORD_ID]: row for row in data.rows}
    originals = {
        label["person_id"]: rows[label["record_id"]]
        for label in data.labels
        if label["kind"] != "duplicate"
    }
    pairs = [
        (originals[label["person_id"]], originals[label["related_person_id"]])
        for label in data.labels
        if label["kind"] == "hard_negative:parent_child"
    ]
    assert pairs
    for one, other in pairs:
        assert (one["First Name"], one["Last Name"]) == (other["First Name"], other["Last Name"])
        assert one["Address 1 - Street"] == other["Address 1 - Street"]
        assert one["Birthday"] != other["Birthday"]


def test_the_csv_uses_google_contacts_columns(tmp_path: Path) -> None:
    contacts, _ = generate.write(generate.generate(20, seed=1), tmp_path)
    with contacts.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header[:3] == ["First Name", "Middle Name", "Last Name"]
    assert "E-mail 1 - Value" in header and "Phone 1 - Value" in header
    assert header[-1] == generate.RECORD_ID


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Müller", "Muller"), ("José", "Jose"), ("Łukasz", "Lukasz"), ("Strauß", "Strauss")],
)
def test_ascii_fold_drops_accents(text: str, expected: str) -> None:
    assert generate.ascii_fold(text) == expected


def test_transliteration_spells_umlauts_out() -> None:
    assert generate.transliterate("Müller") == "Mueller"
