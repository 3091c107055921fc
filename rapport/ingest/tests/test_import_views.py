"""The import pages: upload, map, preview, start, result, failed rows, undo, permissions."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact
from rapport.ingest import services
from rapport.ingest.models import ImportBatch

DATA = Path(__file__).parent / "data"
PEOPLE = (
    "Name,E-mail,Phone,Company,Job\n"
    "Ada Lovelace,ada@example.org,+44 20 7946 0958,Analytical Engines,Analyst\n"
    "Grace Hopper,grace@navy.example,+1 202 555 0143,US Navy,Rear Admiral\n"
    "Broken Row,not-an-email,,,\n"
    '=HYPERLINK("http://evil.example"),also-bad,,,\n'
)


def upload(client, text: str = PEOPLE, name: str = "people.csv", **extra):
    data = {"file": SimpleUploadedFile(name, text.encode(), "text/csv"), "source": "Old CRM"}
    return client.post("/imports/", {**data, **extra})


@pytest.fixture
def run_tasks(django_capture_on_commit_callbacks):
    """Tests run in a transaction that never commits: run the queued import at once."""

    def posting(client, url, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data or {})

    return posting


def mapping_form(batch: ImportBatch, targets: dict[str, str], **extra) -> dict[str, str]:
    form = {"mode": "upsert", **extra}
    for index, header in enumerate(batch.headers):
        target = targets.get(header, "")
        form[f"map-{index}"] = target.removesuffix("!")
        if target.endswith("!"):
            form[f"overwrite-{index}"] = "1"
    return form


MAP = {
    "Name": "full_name",
    "E-mail": "emails[0].address",
    "Phone": "phones[0].number",
    "Company": "organization.name",
    "Job": "job_title",
}


def test_an_upload_lands_on_the_mapping_step_with_samples_and_a_proposed_mapping(bob_client):
    response = upload(bob_client)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/imports/{batch.pk}/"

    page = bob_client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "CSV" in html and "commas" in html and "utf-8" in html
    assert "ada@example.org" in html, "sample values are shown beside each column"
    assert 'name="map-1"' in html
    # the proposed mapping is pre-selected
    selected = batch.mapping["E-mail"]
    assert selected, "an E-mail column is recognised"
    assert f'<option value="{selected}" selected>' in html


def test_a_preview_shows_normalised_rows_and_the_errors_they_would_get(bob_client):
    upload(bob_client)
    batch = ImportBatch.objects.get()
    response = bob_client.post(f"/imports/{batch.pk}/", mapping_form(batch, MAP, action="preview"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "The first rows" in html
    assert "+442079460958" in html or "+44 20 7946 0958" in html
    assert "not-an-email" in html, "the failing value is shown with its column"
    assert "row-invalid" in html
    assert Contact.objects.count() == 0, "a preview imports nothing"
    batch.refresh_from_db()
    assert batch.mapping["Job"] == "job_title", "the mapping was saved"


def test_starting_imports_the_valid_rows_and_reports_the_failed_ones(bob_client, run_tasks):
    upload(bob_client)
    batch = ImportBatch.objects.get()
    response = run_tasks(
        bob_client,
        f"/imports/{batch.pk}/",
        mapping_form(batch, MAP, action="start", save_as="CRM people"),
    )
    assert response.status_code == 302
    page = bob_client.get(response["Location"])
    html = page.content.decode()
    batch.refresh_from_db()
    assert batch.status == "done"
    assert (batch.created_count, batch.failed_count) == (2, 2)
    assert 'id="count-created">2<' in html and 'id="count-failed">2<' in html
    assert "Rows that were not imported" in html
    assert "not-an-email" in html
    assert "Ada Lovelace" in html, "links to the imported contacts"
    assert "Download all failed rows" in html
    assert "Undo this import" in html
    assert "every 1s" not in html, "a finished batch is not polled"
    assert set(Contact.objects.values_list("source", flat=True)) == {"Old CRM"}


def test_the_failed_rows_download_is_excel_ready_and_neutralises_formulas(bob_client, run_tasks):
    upload(bob_client)
    batch = ImportBatch.objects.get()
    run_tasks(bob_client, f"/imports/{batch.pk}/", mapping_form(batch, MAP, action="start"))
    response = bob_client.get(f"/imports/{batch.pk}/failed-rows.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "people-failed-rows.csv" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == [*batch.headers, "Import errors"]
    assert rows[1][0] == "Broken Row" and "not-an-email" in rows[1][-1] or "E-mail" in rows[1][-1]
    assert rows[2][0].startswith("'="), "a formula is escaped with an apostrophe"
    assert len(rows) == 3


def test_a_bad_mapping_is_shown_beside_its_column_and_nothing_starts(bob_client):
    upload(bob_client)
    batch = ImportBatch.objects.get()
    form = mapping_form(batch, {**MAP, "Job": "full_name"}, action="start")
    response = bob_client.post(f"/imports/{batch.pk}/", form)
    html = response.content.decode()
    assert response.status_code == 422
    assert "already filled from" in html
    assert 'aria-invalid="true" aria-describedby="map-4-error"' in html
    batch.refresh_from_db()
    assert batch.status == "pending"


def test_nothing_mapped_cannot_start(bob_client):
    upload(bob_client)
    batch = ImportBatch.objects.get()
    response = bob_client.post(f"/imports/{batch.pk}/", mapping_form(batch, {}, action="start"))
    assert response.status_code == 422
    assert "Map at least one column" in response.content.decode()


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"", "empty.csv"),
        (b"\x00\x01\x02\x03\xff\xfe\x00\x00binary" * 50, "photo.csv"),
        (b"PK\x03\x04not really a workbook", "broken.xlsx"),
    ],
)
def test_a_file_that_cannot_be_read_gets_a_clear_message_and_leaves_no_batch(
    bob_client, content, name
):
    response = bob_client.post(
        "/imports/", {"file": SimpleUploadedFile(name, content), "source": "x"}
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "The file was not kept" in html
    assert ImportBatch.objects.count() == 0


def test_uploading_without_a_file_asks_for_one(bob_client):
    response = bob_client.post("/imports/", {"source": "x"})
    assert response.status_code == 422
    assert "Choose a file" in response.content.decode()


def test_the_encoding_can_be_overridden_and_the_file_is_read_again(bob_client):
    content = (DATA / "latin1_semicolon.csv").read_bytes()
    bob_client.post(
        "/imports/", {"file": SimpleUploadedFile("latin1.csv", content), "source": "shop"}
    )
    batch = ImportBatch.objects.get()
    assert batch.encoding in ("windows-1252", "iso-8859-1", "iso-8859-15")
    assert "Prénom" in batch.headers
    response = bob_client.post(
        f"/imports/{batch.pk}/", {"action": "encoding", "encoding": "mac-roman"}
    )
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.encoding == "mac-roman"
    assert "Prénom" not in batch.headers, "the file was read again in the chosen encoding"
    page = bob_client.get(f"/imports/{batch.pk}/").content.decode()
    assert '<option value="mac-roman" selected>' in page


def test_an_unknown_encoding_is_refused_on_the_page(bob_client):
    upload(bob_client)
    batch = ImportBatch.objects.get()
    response = bob_client.post(
        f"/imports/{batch.pk}/", {"action": "encoding", "encoding": "klingon-8"}
    )
    assert response.status_code == 422
    assert "klingon-8" in response.content.decode()


def test_a_known_export_is_recognised_and_mapped(bob_client):
    content = (DATA / "google_contacts.csv").read_bytes()
    bob_client.post(
        "/imports/", {"file": SimpleUploadedFile("contacts.csv", content), "source": "Google"}
    )
    batch = ImportBatch.objects.get()
    html = bob_client.get(f"/imports/{batch.pk}/").content.decode()
    assert 'id="preset"' in html and "Google" in html
    assert batch.mapping["E-mail 1 - Value"] == "emails[0].address"


def test_an_import_can_be_undone_after_confirmation_and_shows_what_was_kept(
    bob_client, bob, run_tasks
):
    upload(bob_client)
    batch = ImportBatch.objects.get()
    run_tasks(bob_client, f"/imports/{batch.pk}/", mapping_form(batch, MAP, action="start"))
    grace = Contact.objects.get(family_name="Hopper")
    from rapport.contacts import services as contact_services

    contact_services.contact_update(actor=bob, contact=grace, data={"nickname": "Amazing"})

    confirm = bob_client.get(f"/imports/{batch.pk}/undo/")
    assert confirm.status_code == 200
    assert "Undo the import of people.csv?" in confirm.content.decode()
    response = run_tasks(bob_client, f"/imports/{batch.pk}/undo/")
    assert response.status_code == 302
    html = bob_client.get(response["Location"]).content.decode()
    assert "<strong>1</strong> contact removed" in html
    assert "Hopper" in html and "edited after the import; kept." in html
    assert list(Contact.objects.values_list("family_name", flat=True)) == ["Hopper"]
    batch.refresh_from_db()
    assert batch.status == "undone"
    assert "Undo this import" not in html

    again = bob_client.post(f"/imports/{batch.pk}/undo/", follow=True)
    assert "already undone" in again.content.decode()


def test_a_running_batch_page_polls_a_progress_fragment(bob_client, bob):
    upload(bob_client)
    batch = ImportBatch.objects.get()
    ImportBatch.objects.filter(pk=batch.pk).update(
        status="running",
        processed_rows=400,
        heartbeat_at=batch.created_at.now(batch.created_at.tzinfo),
    )
    html = bob_client.get(f"/imports/{batch.pk}/").content.decode()
    assert f'hx-get="/imports/{batch.pk}/status/"' in html
    assert 'hx-trigger="every 1s"' in html
    assert "<progress" in html and ">400</strong> rows processed" in html

    fragment = bob_client.get(f"/imports/{batch.pk}/status/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert b"<html" not in fragment.content
    assert b'id="batch-status"' in fragment.content

    ImportBatch.objects.filter(pk=batch.pk).update(status="done", created_count=3)
    done = bob_client.get(f"/imports/{batch.pk}/status/", HTTP_HX_REQUEST="true")
    assert b"hx-trigger" not in done.content, "polling stops once the batch is done"
    assert b'id="count-created">3<' in done.content


def test_an_interrupted_batch_can_be_resumed(bob_client, bob, run_tasks):
    upload(bob_client)
    batch = ImportBatch.objects.get()
    services.import_configure(actor=bob, batch=batch, mapping=MAP)
    ImportBatch.objects.filter(pk=batch.pk).update(
        status="interrupted", error="Stopped after 0 rows: killed"
    )
    html = bob_client.get(f"/imports/{batch.pk}/").content.decode()
    assert "Resume" in html and "killed" in html
    response = run_tasks(bob_client, f"/imports/{batch.pk}/resume/")
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == "done"
    assert batch.created_count == 2


def test_the_list_shows_batches_with_counts_and_pages_by_keyset(bob_client, bob):
    for n in range(27):
        services.import_upload(
            actor=bob, upload=io.BytesIO(PEOPLE.encode()), file_name=f"f{n}.csv", source=f"s{n}"
        )
    first = bob_client.get("/imports/")
    html = first.content.decode()
    assert first.status_code == 200
    assert "f26.csv" in html and "f2.csv" in html and "f1.csv" not in html
    assert "Waiting for a mapping" in html and "bob" in html
    cursor = first.context["page"].next_cursor
    second = bob_client.get(f"/imports/?cursor={cursor}").content.decode()
    assert "f1.csv" in second and "f0.csv" in second and "f26.csv" not in second


def test_the_nav_and_contact_list_offer_import_to_those_who_may(bob_client, charlie_client):
    assert 'href="/imports/"' in bob_client.get("/contacts/").content.decode()
    assert 'href="/imports/"' not in charlie_client.get("/contacts/").content.decode()


def test_read_only_users_see_batches_but_cannot_upload_map_start_or_undo(
    bob_client, charlie_client
):
    upload(bob_client)
    batch = ImportBatch.objects.get()
    listing = charlie_client.get("/imports/")
    assert listing.status_code == 200
    assert "people.csv" in listing.content.decode()
    assert "Upload a file" not in listing.content.decode()
    page = charlie_client.get(f"/imports/{batch.pk}/").content.decode()
    assert "Start import" not in page
    assert upload(charlie_client).status_code == 403
    form = mapping_form(batch, MAP, action="start")
    assert charlie_client.post(f"/imports/{batch.pk}/", form).status_code == 403
    assert charlie_client.get(f"/imports/{batch.pk}/undo/").status_code == 403
    assert charlie_client.post(f"/imports/{batch.pk}/undo/").status_code == 403
    assert charlie_client.post(f"/imports/{batch.pk}/resume/").status_code == 403
    batch.refresh_from_db()
    assert batch.status == "pending"


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/imports/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_an_unknown_batch_is_a_404(bob_client):
    assert bob_client.get("/imports/999/").status_code == 404
    assert bob_client.get("/imports/999/failed-rows.csv").status_code == 404
    assert bob_client.post("/imports/999/undo/").status_code == 404


def test_updating_an_existing_contact_respects_the_overwrite_mark(bob_client, bob, run_tasks):
    make_contact(
        bob, full_name="Ada Lovelace", emails=[{"address": "ada@example.org"}], job_title="Countess"
    )
    upload(bob_client)
    batch = ImportBatch.objects.get()
    run_tasks(
        bob_client,
        f"/imports/{batch.pk}/",
        mapping_form(batch, {**MAP, "Job": "job_title!"}, action="start"),
    )
    batch.refresh_from_db()
    assert batch.updated_count == 1
    assert Contact.objects.get(emails__address="ada@example.org").job_title == "Analyst"


def test_the_list_page_costs_the_same_queries_however_many_batches(bob_client, bob):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    services.import_upload(
        actor=bob, upload=io.BytesIO(PEOPLE.encode()), file_name="0.csv", source="s"
    )
    with CaptureQueriesContext(connection) as few:
        bob_client.get("/imports/")
    for n in range(1, 8):
        services.import_upload(
            actor=bob, upload=io.BytesIO(PEOPLE.encode()), file_name=f"{n}.csv", source="s"
        )
    with CaptureQueriesContext(connection) as many:
        bob_client.get("/imports/")
    assert len(many) == len(few)


def test_undo_is_queued_and_the_page_follows_it_then_shows_the_real_counts(
    bob_client, bob, run_tasks
):
    ada = make_contact(
        bob, given_name="Ada", family_name="Lovelace", emails=[{"address": "ada@example.org"}]
    )
    upload(bob_client)
    batch = ImportBatch.objects.get()
    run_tasks(bob_client, f"/imports/{batch.pk}/", mapping_form(batch, MAP, action="start"))
    assert ada.affiliations.count() == 1  # the import gave Ada a role (and a phone)

    response = bob_client.post(f"/imports/{batch.pk}/undo/")  # no worker: only queued
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == "undoing"
    page = bob_client.get(f"/imports/{batch.pk}/").content.decode()
    assert "Undoing…" in page and 'hx-trigger="every 1s"' in page
    assert "0</strong> of 2 changes undone" in page

    services.import_undo_run(batch_id=batch.pk, claim=batch.claim)  # what the worker does
    html = bob_client.get(f"/imports/{batch.pk}/", headers={"HX-Request": "true"}).content
    html = html.decode()
    assert "<strong>1</strong> contact removed" in html
    assert "<strong>1</strong> restored" in html
    assert 'hx-trigger="every 1s"' not in html
    assert ada.affiliations.count() == 0 and ada.phones.count() == 0
