"""The mapping step: columns shown compactly, and every row checked in the background
before the start ("47 rows will import, 3 will fail"), without leaving the page."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.conftest import bearer
from rapport.contacts.models import Contact
from rapport.ingest.models import ImportBatch
from rapport.ingest.tests.test_import_views import mapping_form, upload

# 47 good rows, 3 bad ones (the last rows of the file: past any first-rows preview).
GOOD = "".join(f"Person {i},p{i}@example.org,,\n" for i in range(47))
FILE = (
    "Name,E-mail,Shoe size,Website\n"
    + GOOD
    + "Bad One,not-an-email,,\nBad Two,also@bad@example.org,,\n"
    + "Bad Three,nope,,\n"
    + "Kept Four,kept@example.org,,http://exa mple..com\n"
)
MAP = {"Name": "full_name", "E-mail": "emails[0].address", "Website": "urls[0].url"}


@pytest.fixture
def run_tasks(django_capture_on_commit_callbacks):
    def posting(client, url, data=None, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data or {}, **extra)

    return posting


def test_the_mapping_step_shows_mapped_columns_first_and_folds_the_ignored_ones(bob_client):
    upload(bob_client, "Shoe size,Name,E-mail,Internal code\n41,Ada,ada@example.org,X2\n")
    batch = ImportBatch.objects.get()
    html = bob_client.get(f"/imports/{batch.pk}/").content.decode()
    mapped, ignored = html.split('<details class="ignored-columns"')
    assert "<strong>Name</strong>" in mapped and "<strong>E-mail</strong>" in mapped
    assert "<strong>Shoe size</strong>" not in mapped
    assert "2 columns ignored" in ignored and "<strong>Internal code</strong>" in ignored
    # fields come in labelled groups, not one list of fifty
    assert '<optgroup label="Emails">' in html and '<optgroup label="Addresses">' in html
    assert " style=" not in html


def test_preview_checks_every_row_in_the_background_and_says_how_many_will_fail(
    bob_client, run_tasks
):
    upload(bob_client, FILE)
    batch = ImportBatch.objects.get()
    form = mapping_form(batch, MAP, action="preview")
    # htmx posts the form and swaps the mapping step in place: no reload, no jump
    response = run_tasks(bob_client, f"/imports/{batch.pk}/", form, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="mapping-step"' in html
    assert "Person 0" in html  # the first rows as they would be stored
    check = bob_client.get(f"/imports/{batch.pk}/check/").content.decode()
    summary = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", check))
    assert "48 rows will import, 3 will fail; 1 will import without a value" in summary
    # the failures come first, before anything else the check shows
    failures = check.index("Rows that will fail")
    assert failures < check.index("Values that will be left out")
    assert "not-an-email" in check and "also@bad@example.org" in check
    assert Contact.objects.count() == 0, "a check writes nothing"
    batch.refresh_from_db()
    assert batch.status == "pending"


def test_a_check_made_with_another_mapping_is_not_shown(bob_client, run_tasks):
    upload(bob_client, FILE)
    batch = ImportBatch.objects.get()
    run_tasks(bob_client, f"/imports/{batch.pk}/", mapping_form(batch, MAP, action="preview"))
    assert "will import" in bob_client.get(f"/imports/{batch.pk}/check/").content.decode()
    other = {**MAP, "Website": ""}
    bob_client.post(f"/imports/{batch.pk}/", mapping_form(batch, other, action="start"))
    batch.refresh_from_db()
    assert batch.row_check.get("will_import") == 48  # kept, but for the old mapping
    assert "will import" not in bob_client.get(f"/imports/{batch.pk}/check/").content.decode()


def test_the_api_checks_every_row_on_request_and_reports_on_the_batch(
    client, bob, django_capture_on_commit_callbacks
):
    headers = bearer(bob)
    batch = client.post(
        "/api/v1/imports",
        {
            "file": SimpleUploadedFile("people.csv", FILE.encode(), "text/csv"),
            "mapping": json.dumps(MAP),
        },
        **headers,
    ).json()
    assert batch["row_check"] is None
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/imports/{batch['id']}/check", **headers)
    assert response.status_code == 202, response.content
    polled = client.get(f"/api/v1/imports/{batch['id']}", **headers).json()["row_check"]
    assert (polled["state"], polled["checked"]) == ("done", 51)
    assert (polled["will_import"], polled["will_fail"], polled["warned"]) == (48, 3, 1)
    assert [f["row"] for f in polled["failures"]] == [49, 50, 51]


def test_the_preview_shows_a_bad_website_as_left_out_not_as_a_failed_row(client, bob):
    headers = bearer(bob)
    text = "Name,E-mail,Shoe size,Website\nKept Four,kept@example.org,,http://exa mple..com\n"
    batch = client.post(
        "/api/v1/imports",
        {
            "file": SimpleUploadedFile("people.csv", text.encode(), "text/csv"),
            "mapping": json.dumps(MAP),
        },
        **headers,
    ).json()
    (row,) = client.get(f"/api/v1/imports/{batch['id']}/preview", **headers).json()
    assert row["errors"] == []
    assert row["data"]["emails"][0]["address"] == "kept@example.org"
    (warning,) = row["warnings"]
    assert (warning["column"], warning["value"]) == ("Website", "http://exa mple..com")


def test_a_check_whose_worker_died_is_started_again_when_asked(bob, run_tasks, bob_client):
    from rapport.ingest import checking

    upload(bob_client, FILE)
    batch = ImportBatch.objects.get()
    batch = checking.import_check_start(actor=bob, batch=batch)  # queued; no worker runs it
    assert checking.import_check_start(actor=bob, batch=batch).row_check["state"] == "queued"
    stale = {
        **batch.row_check,
        "state": "running",
        "checked": 500,
        "at": "2020-01-01T00:00:00+00:00",
    }
    ImportBatch.objects.filter(pk=batch.pk).update(row_check=stale)
    batch.refresh_from_db()
    again = checking.import_check_start(actor=bob, batch=batch)
    assert (again.row_check["state"], again.row_check["checked"]) == ("queued", 0)
