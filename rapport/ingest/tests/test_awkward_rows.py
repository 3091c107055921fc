"""Rows that used to go wrong quietly: joined labels, year-less birthdays, one bad value,
organizations that share a name, failed rows imported again."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import employ, make_contact, make_organization
from rapport.ingest import services
from rapport.ingest.models import ImportBatch, ImportRowError
from rapport.ingest.views import failed_rows_csv

DATA = Path(__file__).parent / "data"


def import_file(actor, name: str, *, content: bytes | None = None) -> ImportBatch:
    upload = io.BytesIO(content) if content is not None else (DATA / name).open("rb")
    with upload:
        batch = services.import_upload(actor=actor, upload=upload, file_name=name, source=name)
    services.import_start(actor=actor, batch=batch)
    return services.import_run(batch_id=batch.pk)


def warnings_of(batch: ImportBatch) -> list[ImportRowError]:
    return list(batch.row_errors.filter(severity=ImportRowError.Severity.WARNING))


@pytest.fixture
def acme(bob):
    """Two organizations both called Acme, told apart by their domains."""
    return (
        make_organization(bob, name="Acme Inc.", domains=["acme.com"]),
        make_organization(bob, name="ACME GmbH", domains=["acme.de"]),
    )


def test_google_labels_joined_like_the_values_go_one_to_each_value(bob, acme):
    import_file(bob, "google_awkward.csv")
    noor = Contact.objects.get(family_name="Haddad")
    assert [(e.address, e.label) for e in noor.emails.order_by("id")] == [
        ("noor@haddad-work.example", "Work"),
        ("noor@haddad-home.example", "Home"),
    ]
    phones = [(p.e164, p.label, p.primary) for p in noor.phones.order_by("id")]
    assert phones == [("+447911123456", "Mobile", True), ("+442079460111", "Work", False)]


def test_a_birthday_without_a_year_is_reported_not_dropped_silently(bob, acme):
    batch = import_file(bob, "google_awkward.csv")
    priya = Contact.objects.get(family_name="Raghunathan")
    assert priya.birthday is None
    (warning,) = [w for w in warnings_of(batch) if w.column == "Birthday"]
    assert warning.value == "--08-15"
    assert "08-15" in warning.reason and "no year" in warning.reason


def test_one_bad_website_keeps_the_contact_and_reports_the_value_left_out(bob, acme):
    batch = import_file(bob, "google_awkward.csv")
    ines = Contact.objects.get(family_name="Moreau")
    assert ines.emails.get().address == "ines@moreau.example"
    assert not ines.links.exists()
    (warning,) = [w for w in warnings_of(batch) if w.column == "Website 1 - Value"]
    assert warning.value == "http://exa mple..com"
    assert "not a valid web address" in warning.reason
    assert "left out" in warning.reason
    assert batch.failed_count == 0
    # imported rows are not among the failed ones to fix
    assert len(list(services.failed_rows(batch))) == 1


def test_a_name_two_organizations_share_is_told_apart_by_the_email_domain_or_not_guessed(bob, acme):
    inc, gmbh = acme
    batch = import_file(bob, "google_awkward.csv")
    otto = Contact.objects.get(family_name="Kern")
    assert [a.organization_id for a in otto.affiliations.all()] == [gmbh.pk]
    lena = Contact.objects.get(family_name="Vogt")
    assert not lena.affiliations.exists()
    (warning,) = [w for w in warnings_of(batch) if w.value == "ACME"]
    assert warning.column == "Organization Name"
    assert "matches 2 organizations" in warning.reason
    assert f"#{inc.pk}" in warning.reason and f"#{gmbh.pk}" in warning.reason


def test_an_update_picks_the_organization_the_person_already_works_at(bob, acme):
    inc, _ = acme
    lena = make_contact(
        bob, given_name="Lena", family_name="Vogt", emails=[{"address": "lena.vogt@gmail.example"}]
    )
    employ(lena, inc, bob, title="Buyer")
    batch = import_file(bob, "google_awkward.csv")
    assert [a.organization_id for a in lena.affiliations.all()] == [inc.pk]
    assert not [w for w in warnings_of(batch) if w.value == "ACME"]


def test_failed_rows_imported_again_keep_one_errors_column(bob):
    text = "Name,Email\nAda Lovelace,not-an-email\nGrace Hopper,grace@navy.example\n"
    first = import_file(bob, "people.csv", content=text.encode())
    assert first.failed_count == 1
    download = "".join(failed_rows_csv(services.failed_rows(first))).lstrip("\ufeff")
    header = next(csv.reader(io.StringIO(download)))
    assert header == ["Name", "Email", "Import errors"]
    # fixed nothing: imported again, it fails again, and the download still has one column
    second = services.import_upload(
        actor=bob, upload=io.BytesIO(download.encode()), file_name="people-failed-rows.csv"
    )
    assert second.mapping["Import errors"] == ""
    services.import_start(actor=bob, batch=second)
    second = services.import_run(batch_id=second.pk)
    assert second.failed_count == 1
    rows = list(csv.reader(io.StringIO("".join(failed_rows_csv(services.failed_rows(second))))))
    assert rows[0] == ["\ufeffName", "Email", "Import errors"]
    assert rows[1][:2] == ["Ada Lovelace", "not-an-email"]
    assert rows[1][2].count("row 2:") == 1


def test_the_command_writes_failed_rows_escaped_and_lists_values_left_out(bob, tmp_path):
    from django.core.management import call_command

    source = tmp_path / "people.csv"
    source.write_text(
        "Name,Email,Website\n"
        "=HYPERLINK(1),not-an-email,\n"
        "Ines Moreau,ines@moreau.example,http://exa mple..com\n",
        encoding="utf-8",
    )
    failed = tmp_path / "failed.csv"
    err = io.StringIO()
    call_command(
        "import", str(source), "--as", "bob", "--errors-out", str(failed), "--no-progress",
        stderr=err, stdout=io.StringIO(),
    )  # fmt: skip
    assert "row 3 (imported): Website:" in err.getvalue()
    rows = list(csv.reader(failed.open(encoding="utf-8-sig")))
    assert rows[0] == ["Name", "Email", "Website", "Import errors"]
    assert rows[1][0] == "'=HYPERLINK(1)"
    assert Contact.objects.filter(family_name="Moreau").exists()
