"""The import engine end to end: files in, contacts out, undo, resume, no half-writes."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rapport.contacts import services as contact_services
from rapport.contacts.models import Contact, Organization
from rapport.contacts.tests.factories import make_contact
from rapport.core.errors import InvalidInput
from rapport.ingest import services
from rapport.ingest.models import ImportBatch

MAPPING = {
    "Name": "full_name",
    "Email": "emails[0].address",
    "Work email": "emails[1].address",
    "Phone": "phones[0].number",
    "Country": "addresses[0].country",
    "Company": "organization.name",
    "Title": "affiliation.title",
    "Tags": "tags",
    "Id": "external_id",
    "Notes": "notes",
}
HEADER = "Name,Email,Work email,Phone,Country,Company,Title,Tags,Id,Notes\n"


def run_import(
    actor, text: str, *, mode: str = "upsert", source: str = "Old CRM", mapping=None, dry_run=False
):
    batch = services.import_upload(
        actor=actor, upload=io.BytesIO(text.encode()), file_name="contacts.csv", source=source
    )
    batch = services.import_configure(
        actor=actor, batch=batch, mapping=mapping or MAPPING, mode=mode, dry_run=dry_run
    )
    services.import_start(actor=actor, batch=batch)
    return services.import_run(batch_id=batch.pk)


FILE = HEADER + (
    'Ada Lovelace,ada@example.org,,020 7946 0958,GB,Analytical Engines Ltd,Analyst,"VIP, Math",C-1,First\n'
    "Grace Hopper,grace@navy.example,,+1 202 555 0143,US,US Navy,Rear Admiral,,C-2,\n"
    "Broken Row,not-an-email,,12,Atlantis,,,,C-3,\n"
    "A. Lovelace,ADA@example.org,ada@engines.example,,,Analytical Engines,,Poet,C-4,\n"
)


def test_valid_rows_land_and_bad_rows_are_reported_with_row_column_value_and_reason(bob):
    batch = run_import(bob, FILE)
    assert batch.status == ImportBatch.Status.DONE
    assert (batch.created_count, batch.updated_count, batch.failed_count) == (2, 1, 1)
    ada = Contact.objects.get(family_name="Lovelace")
    # Two rows for the same email became one contact; the second added an email and a tag.
    assert sorted(e.address for e in ada.emails.all()) == ["ada@engines.example", "ada@example.org"]
    assert sorted(t.name for t in ada.tags.all()) == ["Math", "Poet", "VIP"]
    assert ada.phones.get().e164 == "+442079460958"
    assert ada.external_ids.get().value == "C-1"
    assert ada.source == "Old CRM"
    # Organizations are matched by normalised name ("Ltd" and case ignored) or created.
    assert Organization.objects.filter(name__startswith="Analytical").count() == 1
    assert ada.affiliations.get().title == "Analyst"
    errors = {(e.row_number, e.column) for e in batch.row_errors.all()}
    assert errors == {(4, "Email"), (4, "Phone"), (4, "Country")}
    reasons = " ".join(e.reason for e in batch.row_errors.all())
    assert "too few digits" in reasons
    failed = list(services.failed_rows(batch))
    assert failed[0][-1] == "Import errors"
    assert failed[1][:2] == ["Broken Row", "not-an-email"]
    assert "row 4: Email:" in failed[1][-1]


def test_importing_the_same_file_twice_creates_nothing_new(bob):
    run_import(bob, FILE)
    before = Contact.objects.count()
    again = run_import(bob, FILE)
    assert Contact.objects.count() == before
    assert again.created_count == 0
    assert again.unchanged_count == 3


def test_upsert_fills_empty_fields_and_never_overwrites_unless_the_mapping_says_so(bob):
    existing = make_contact(
        bob,
        given_name="Grace",
        family_name="Hopper",
        job_title="Admiral",
        emails=[{"address": "grace@navy.example"}],
    )
    text = "Email,Job,Birthday\ngrace@navy.example,Programmer,1906-12-09\n"
    mapping = {"Email": "emails[0].address", "Job": "job_title", "Birthday": "birthday"}
    batch = run_import(bob, text, mapping=mapping)
    existing.refresh_from_db()
    assert batch.updated_count == 1
    assert existing.job_title == "Admiral"
    assert existing.birthday.isoformat() == "1906-12-09"
    run_import(bob, text, mapping={**mapping, "Job": "job_title!"})
    existing.refresh_from_db()
    assert existing.job_title == "Programmer"


def test_a_starred_value_added_to_an_existing_contact_leaves_its_primary_alone(bob):
    existing = make_contact(
        bob,
        given_name="Grace",
        emails=[{"address": "grace@navy.example"}],
        phones=[{"number": "+1 202 555 0143"}],
    )
    text = "Phone,Email type,Email\n+1 202 555 0143,* Work,grace@work.example\n"
    mapping = {
        "Phone": "phones[0].number",
        "Email type": "emails[0].label",
        "Email": "emails[0].address",
    }
    batch = run_import(bob, text, mapping=mapping)
    assert (batch.updated_count, batch.failed_count) == (1, 0)
    emails = [(e.address, e.label, e.primary) for e in existing.emails.order_by("position")]
    assert emails == [("grace@navy.example", "", True), ("grace@work.example", "Work", False)]


def test_matching_prefers_external_id_then_email_then_phone(bob):
    by_phone = make_contact(
        bob, given_name="Phone", emails=[], phones=[{"number": "+1 202 555 0143"}]
    )
    text = HEADER + "Someone,,,(202) 555-0143,US,,,,X-9,\n"
    batch = run_import(bob, text)
    assert batch.updated_count == 1
    assert by_phone.external_ids.get().value == "X-9"
    # Now the external id wins even when the email points elsewhere.
    other = make_contact(bob, given_name="Other", emails=[{"address": "other@example.com"}])
    run_import(bob, HEADER + "Someone,other@example.com,,,,,,,X-9,note\n")
    by_phone.refresh_from_db()
    assert by_phone.notes == "note"
    assert other.notes == ""


def test_create_mode_skips_existing_and_update_mode_creates_nothing(bob):
    make_contact(bob, emails=[{"address": "ada@example.org"}])
    created = run_import(bob, FILE, mode="create")
    assert created.unchanged_count == 2  # Ada existed already: both her rows are skipped
    updated = run_import(
        bob, HEADER + "New Person,new@example.org,,,,,,,N-1,\n", mode="update", source="Other"
    )
    assert updated.failed_count == 1
    assert not Contact.objects.filter(emails__address="new@example.org").exists()


def test_a_dry_run_checks_every_row_and_changes_nothing(bob):
    batch = run_import(bob, FILE, dry_run=True)
    assert (batch.created_count, batch.failed_count) == (2, 1)
    assert Contact.objects.count() == 0
    assert Organization.objects.count() == 0
    with pytest.raises(InvalidInput):
        services.import_undo(actor=bob, batch=batch)


def test_undo_removes_what_was_created_and_restores_what_was_changed(bob):
    grace = make_contact(
        bob, given_name="Grace", family_name="Hopper", emails=[{"address": "grace@navy.example"}]
    )
    batch = run_import(bob, FILE)
    assert Contact.objects.count() == 2
    report = services.import_undo(actor=bob, batch=batch)
    assert report.removed == 1  # Ada
    assert report.restored == 1  # Grace got a phone, an address and an external id
    grace.refresh_from_db()
    assert grace.phones.count() == 0
    assert grace.external_ids.count() == 0
    assert list(Contact.objects.values_list("pk", flat=True)) == [grace.pk]
    assert Organization.objects.count() == 0
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.UNDONE


def test_undo_keeps_later_edits_and_lists_them(bob):
    batch = run_import(bob, FILE)
    ada = Contact.objects.get(family_name="Lovelace")
    contact_services.contact_update(actor=bob, contact=ada, data={"job_title": "Countess"})
    report = services.import_undo(actor=bob, batch=batch)
    assert Contact.objects.filter(pk=ada.pk).exists()
    assert any("Lovelace" in line and "edited after the import" in line for line in report.kept)


def test_unreadable_files_are_refused_and_nothing_is_kept(bob, settings):
    for content in (b"", b"\x00\x01\x02\xff" * 200):
        with pytest.raises(InvalidInput) as exc:
            services.import_upload(actor=bob, upload=io.BytesIO(content), file_name="x.csv")
        assert exc.value.errors[0].path == "file"
    assert ImportBatch.objects.count() == 0


def test_the_mapping_must_name_real_columns_and_fields(bob):
    batch = services.import_upload(
        actor=bob, upload=io.BytesIO(HEADER.encode() + b"A,,,,,,,,,\n"), file_name="a.csv"
    )
    with pytest.raises(InvalidInput) as exc:
        services.import_configure(
            actor=bob, batch=batch, mapping={"Name": "shoe_size", "Nope": "notes"}
        )
    assert {e.path for e in exc.value.errors} == {"mapping.Name", "mapping.Nope"}


def test_read_only_users_cannot_import(charlie):
    from rapport.core.errors import NotPermitted

    with pytest.raises(NotPermitted):
        services.import_upload(actor=charlie, upload=io.BytesIO(FILE.encode()), file_name="a.csv")


@pytest.mark.slow
def test_an_import_killed_mid_way_leaves_no_half_written_contact_and_resumes(
    tmp_path, transactional_db
):
    """A real `rapport import` process is killed with SIGKILL, then resumed. While it
    runs, resuming it from another process is refused; once it stopped reporting, the
    resume takes it over."""
    from django.conf import settings as django_settings

    if django_settings.DATABASES["default"]["ENGINE"] == "rapport.core.sqlite_backend":
        database = tmp_path / "kill.sqlite3"
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{database}",
            "RAPPORT_DATA_DIR": str(tmp_path),
        }
    else:
        # The committed test database itself (transactional_db), shared with the child.
        from django.db import connection

        db = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "RAPPORT_DATA_DIR": str(tmp_path),
        }
    stale = 3
    env["RAPPORT_JOB_STALE_SECONDS"] = str(stale)
    rows = [HEADER.strip()]
    total = 20_000  # enough that the kill lands mid-way, however fast the machine
    for i in range(total):
        rows.append(f"Person {i} Example,p{i}@example.com,,,,Company {i % 40},Engineer,,K-{i},")
    source = tmp_path / "big.csv"
    source.write_text("\n".join(rows) + "\n")
    mapping = tmp_path / "mapping.json"
    import json

    mapping.write_text(json.dumps(MAPPING))
    rapport = [sys.executable, "-m", "rapport.cli"]
    subprocess.run(
        [*rapport, "setup", "--no-demo"],
        env={**env, "RAPPORT_ADMIN_PASSWORD": "x" * 12},
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(
        [*rapport, "import", str(source), "--mapping", str(mapping), "--no-progress"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    check = [*rapport, "shell", "--no-imports", "-c"]
    deadline = time.monotonic() + 60
    live_id = processed = 0
    while time.monotonic() < deadline:
        time.sleep(0.5)
        out = subprocess.run(
            [
                *check,
                "from rapport.ingest.models import ImportBatch as B; b=B.objects.first(); print(b.pk if b else 0, b.processed_rows if b else 0)",
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        live_id, processed = map(int, out.stdout.split() or (0, 0))
        if processed >= services.CHUNK_ROWS:
            break
    while_live = subprocess.run(
        [*rapport, "import", "--resume", str(live_id), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert process.poll() is None, "the import should still be running"
    assert while_live.returncode == 1
    assert f"Import {live_id} is still running in another process" in while_live.stderr
    killed_at = time.monotonic()
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 0 < processed < total, "the import should have been killed mid-way"
    # Its validating process goes with it (it holds a copy of the database connection).
    deadline = time.monotonic() + 10
    while _processes_reading(source) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_reading(source) == []
    probe = (
        "from rapport.contacts.models import Contact; from rapport.ingest.models import ImportBatch as B; "
        "b=B.objects.get(); n=Contact.objects.count(); "
        "half=Contact.objects.filter(emails__isnull=True).count() + Contact.objects.filter(external_ids__isnull=True).count(); "
        "print(n, b.created_count, b.processed_rows, half)"
    )
    out = subprocess.run([*check, probe], env=env, capture_output=True, text=True, check=True)
    contacts, created, processed_rows, half = map(int, out.stdout.split())
    assert half == 0
    assert contacts == created == processed_rows  # every committed row is counted, nothing more
    batch_id = subprocess.run(
        [*check, "from rapport.ingest.models import ImportBatch as B; print(B.objects.get().pk)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]
    time.sleep(max(0.0, stale + 0.5 - (time.monotonic() - killed_at)))
    resumed = subprocess.run(
        [*rapport, "import", "--resume", batch_id, "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    out = subprocess.run([*check, probe], env=env, capture_output=True, text=True, check=True)
    contacts, created, processed_rows, half = map(int, out.stdout.split())
    assert (contacts, created, processed_rows, half) == (total, total, total, 0)


def _processes_reading(path: Path) -> list[int]:
    """The live processes whose command line names ``path``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if str(path).encode() in command and state != "Z":
            found.append(int(entry.name))
    return found


DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("name", "created", "failed", "reason", "unmatched"),
    [
        ("google_contacts.csv", 4, 0, "", 0),
        ("outlook_contacts.csv", 3, 0, "no such number can exist", 0),
        ("hubspot_export.csv", 3, 0, "too few digits", 0),
        # LinkedIn hides most emails: people without one cannot be matched next time.
        ("linkedin_connections.csv", 3, 0, "", 2),
        ("latin1_semicolon.csv", 3, 0, "", 0),
        ("contacts.xlsx", 3, 0, "too many digits", 0),
        ("apple_contacts.vcf", 3, 0, "", 0),
        ("outlook_qp.vcf", 2, 0, "", 0),
        ("broken.vcf", 2, 1, "Card 2", 0),
    ],
)
def test_every_kind_of_address_book_export_comes_in(bob, name, created, failed, reason, unmatched):
    with (DATA / name).open("rb") as handle:
        batch = services.import_upload(actor=bob, upload=handle, file_name=name, source=name)
    services.import_start(actor=bob, batch=batch)
    batch = services.import_run(batch_id=batch.pk)
    assert (batch.created_count, batch.failed_count) == (created, failed)
    # A bad phone number is left out of a contact that is imported, and reported.
    if reason:
        assert reason in " ".join(e.reason for e in batch.row_errors.all())
    # Importing the same file again matches everyone it can (id, email, phone).
    again = services.import_upload(
        actor=bob, upload=(DATA / name).open("rb"), file_name=name, source=name
    )
    services.import_start(actor=bob, batch=again)
    again = services.import_run(batch_id=again.pk)
    assert again.created_count == unmatched


def test_google_multi_values_labels_and_dates_are_understood(bob):
    with (DATA / "google_contacts.csv").open("rb") as handle:
        batch = services.import_upload(actor=bob, upload=handle, file_name="google.csv")
    services.import_start(actor=bob, batch=batch)
    services.import_run(batch_id=batch.pk)
    multi = Contact.objects.filter(phones__e164="+14155550199").get()
    assert multi.phones.count() == 2
    assert not multi.tags.filter(name__iexact="myContacts").exists()


def test_new_people_are_saved_together_with_what_single_saves_would_store(
    bob, django_assert_max_num_queries
):
    from rapport.access.models import ChangeRecord
    from rapport.contacts.selectors import contact_list

    rows = [HEADER.strip()]
    for i in range(300):
        rows.append(
            f"Person {i} Example,p{i}@example.com,,+44 20 7946 {i:04d},GB,Company {i % 3},Engineer,"
            f'"Team {i % 2}",K-{i},'
        )
    # Row 302 repeats row 2's email: it updates that person instead of adding one.
    rows.append("P. Example,P0@EXAMPLE.COM,,,,,,Late,,")
    with django_assert_max_num_queries(250):  # a few per table per chunk, not ~25 per row
        batch = run_import(bob, "\n".join(rows) + "\n")
    assert (batch.created_count, batch.updated_count, batch.failed_count) == (300, 1, 0)
    person = Contact.objects.get(external_ids__value="K-7")
    assert person.display_name == "Person 7 Example"
    assert person.phones.get().e164 == "+442079460007"
    assert [t.name for t in person.tags.all()] == ["Team 1"]
    assert person.affiliations.get().organization.name == "Company 1"
    assert person.affiliations.get().title == "Engineer"
    assert person.owner == bob
    history = ChangeRecord.objects.get(object_type="contact", object_id=person.pk)
    assert history.action == "create" and history.via == "import"
    assert history.changes["affiliations"] == [None, "Engineer at Company 1"]
    assert history.changes["emails"][1] == ["p7@example.com *"]
    first = Contact.objects.get(external_ids__value="K-0")
    assert sorted(t.name for t in first.tags.all()) == ["Late", "Team 0"]
    # The search text holds the organization, as it does for a contact added by hand.
    found = contact_list(actor=bob, q="Company 2", limit=200)
    assert Contact.objects.get(external_ids__value="K-5").pk in {c.pk for c in found.items}
    # Undo removes them all again (the one the last row updated included), each
    # deletion in the history.
    report = services.import_undo(actor=bob, batch=batch)
    assert (report.removed, report.kept) == (300, [])
    assert Contact.objects.count() == 0
    deleted = ChangeRecord.objects.get(object_id=person.pk, action="delete")
    assert deleted.via == "import" and deleted.changes["emails"] == [["p7@example.com *"], None]


def test_a_file_of_many_chunks_is_validated_in_a_second_process_with_the_same_result(
    bob, monkeypatch
):
    """Past one chunk, rows are validated ahead in a forked process; matching stays exact."""
    from rapport.contacts.models import Tag
    from rapport.ingest import drafting

    forks = []
    start = drafting.ValidatedChunks.start
    monkeypatch.setattr(
        drafting.ValidatedChunks, "start", lambda self, first: forks.append(1) or start(self, first)
    )
    size = services.CHUNK_ROWS
    rows = [HEADER.strip()]
    for i in range(2 * size + 250):
        rows.append(f"Person {i} Example,p{i}@example.com,,,,,,New label,K-{i},")
    # Validated before row 2 was saved, these rows still find that person: by email in
    # the last chunk, by external id in the second.
    rows[2 * size + 10] = "Later Name,P1@Example.com,,,,,,,,Seen again"
    rows[size + 20] = "Other Name,,,,,,,Second label,K-2,"
    rows[size + 30] = "Broken Row,not-an-email,,,,,,,K-bad,"
    batch = run_import(bob, "\n".join(rows) + "\n")
    assert forks == [1]
    assert (batch.created_count, batch.updated_count, batch.failed_count) == (
        2 * size + 247,
        2,
        1,
    )
    error = batch.row_errors.get()
    assert (error.row_number, error.column, error.value) == (size + 31, "Email", "not-an-email")
    assert Contact.objects.get(external_ids__value="K-1").notes == "Seen again"
    assert sorted(t.name for t in Contact.objects.get(external_ids__value="K-2").tags.all()) == [
        "New label",
        "Second label",
    ]
    assert Tag.objects.filter(name="New label").count() == 1
    assert Contact.objects.count() == 2 * size + 247


def test_a_file_of_one_chunk_is_validated_in_the_importer_itself(bob, monkeypatch):
    from rapport.ingest import drafting

    forks = []
    monkeypatch.setattr(drafting.ValidatedChunks, "start", lambda self, first: forks.append(1))
    rows = [HEADER.strip()]
    rows += [
        f"Person {i} Example,p{i}@example.com,,,,,,,K-{i}," for i in range(services.CHUNK_ROWS)
    ]
    batch = run_import(bob, "\n".join(rows) + "\n")
    assert forks == []
    assert batch.created_count == services.CHUNK_ROWS


def test_undo_counts_a_contact_the_import_only_gave_a_role_as_restored(bob):
    grace = make_contact(
        bob, given_name="Grace", family_name="Hopper", emails=[{"address": "grace@navy.example"}]
    )
    batch = run_import(bob, HEADER + "Grace Hopper,grace@navy.example,,,,US Navy,,,,\n")
    assert batch.updated_count == 1 and grace.affiliations.count() == 1
    report = services.import_undo(actor=bob, batch=batch)
    assert (report.removed, report.restored) == (0, 1)
    assert grace.affiliations.count() == 0


def test_an_undo_that_stopped_half_way_carries_on_where_it_stopped(bob, monkeypatch):
    from rapport.ingest import undo

    people = [
        make_contact(bob, given_name=f"P{i}", emails=[{"address": f"p{i}@example.org"}])
        for i in range(3)
    ]
    rows = "".join(f"P{i},p{i}@example.org,,,,,,,,Met at the fair\n" for i in range(3))
    batch = run_import(bob, HEADER + rows + "New Person,new@example.org,,,,,,,,\n")
    assert (batch.updated_count, batch.created_count) == (3, 1)
    monkeypatch.setattr(undo, "UPDATED_PAGE", 1)

    def dies(done: int, total: int) -> None:
        raise RuntimeError("worker lost")

    started = services.import_undo_start(actor=bob, batch=batch, enqueue=False)
    with pytest.raises(RuntimeError):
        services.import_undo_run(batch_id=batch.pk, claim=started.claim, progress=dies)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert batch.undo_report["done"] == 1
    assert "Start it again to carry on" in batch.log[-1]["message"]

    report = services.import_undo(actor=bob, batch=batch)
    assert (report.removed, report.restored, report.kept) == (1, 3, [])
    assert [p.notes for p in Contact.objects.filter(pk__in=[p.pk for p in people])] == [""] * 3
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.UNDONE
    assert batch.undo_report["done"] == batch.undo_report["total"] == 4


def test_undo_keeps_a_contact_it_cannot_restore_and_restores_the_others(bob):
    """Grace's owner before the import has left since: she cannot take him back, so she
    is listed as kept, with why, and the undo carries on to Ada and finishes."""
    from rapport.access.models import User

    dave = User.objects.create_user("dave", password="x-long-enough-1", role=User.Role.MEMBER)
    grace = make_contact(bob, given_name="Grace", family_name="Hopper", owner="dave",
                         emails=[{"address": "grace@navy.example"}])  # fmt: skip
    ada = make_contact(bob, given_name="Ada", family_name="Lovelace", owner="bob",
                       emails=[{"address": "ada@example.org"}])  # fmt: skip
    linus = make_contact(bob, given_name="Linus", family_name="Pauling", owner="bob",
                         emails=[{"address": "linus@example.org"}])  # fmt: skip
    batch = run_import(
        bob,
        "Email,Owner\ngrace@navy.example,bob\nada@example.org,dave\nlinus@example.org,dave\n",
        mode="update",
        mapping={"Email": "emails[0].address", "Owner": "owner!"},
    )
    owners = dict(Contact.objects.values_list("pk", "owner__username"))
    assert owners == {grace.pk: "bob", ada.pk: "dave", linus.pk: "dave"}
    contact_services.contact_update(actor=bob, contact=ada, data={"owner": "bob"})
    dave.is_active = False
    dave.save()
    report = services.import_undo(actor=bob, batch=batch)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.UNDONE
    assert report.kept_count == 2 and report.restored == 1  # Linus
    grace_line, ada_line = sorted(report.kept, key=lambda line: "Grace" not in line)
    assert "could not be restored" in grace_line and "dave" in grace_line
    assert "edited after the import" in ada_line
    owners = dict(Contact.objects.values_list("pk", "owner__username"))
    assert owners == {grace.pk: "bob", ada.pk: "bob", linus.pk: "bob"}
