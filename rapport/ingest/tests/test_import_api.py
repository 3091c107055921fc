"""The imports API: upload, configure, preview, start, poll, errors, failed rows, undo."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from rapport.conftest import bearer
from rapport.contacts.models import Contact
from rapport.ingest import services
from rapport.ingest.models import ImportBatch

DATA = Path(__file__).parent / "data"
PEOPLE = (
    "Name,E-mail,Phone,Company\n"
    "Ada Lovelace,ada@example.org,+44 20 7946 0958,Analytical Engines\n"
    "Grace Hopper,grace@navy.example,+1 202 555 0143,US Navy\n"
    "Broken Row,not-an-email,,\n"
    "@SUM(A1:A2),,+1 202 555 0199,\n"
)
MAPPING = {
    "Name": "full_name",
    "E-mail": "emails[0].address",
    "Phone": "phones[0].number",
    "Company": "organization.name",
}


@pytest.fixture
def api(bob, django_capture_on_commit_callbacks):
    """Bob's API client; queued imports run when the request's work commits."""
    headers = bearer(bob)
    client = Client()

    class Api:
        def get(self, path: str, **params):
            return client.get(f"/api/v1{path}", params, **headers)

        def post(self, path: str, data=None, **extra):
            with django_capture_on_commit_callbacks(execute=True):
                if data is not None and "file" in data:
                    return client.post(f"/api/v1{path}", data, **headers)
                return client.post(
                    f"/api/v1{path}", json.dumps(data or {}), "application/json", **headers
                )

        def patch(self, path: str, data):
            return client.patch(f"/api/v1{path}", json.dumps(data), "application/json", **headers)

    return Api()


def a_file(text: str = PEOPLE, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), "text/csv")


def test_upload_start_and_poll_until_done(api):
    created = api.post("/imports", {"file": a_file(), "source": "Old CRM"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert created["Location"] == f"/api/v1/imports/{body['id']}"
    assert body["status"] == "pending"
    assert body["file_format"] == "csv" and body["delimiter"] == ","
    assert body["encoding"] == "utf-8"
    assert body["headers"] == ["Name", "E-mail", "Phone", "Company"]
    assert body["mapping"]["E-mail"], "a mapping is proposed"
    assert body["links"]["page"] == f"/imports/{body['id']}/"

    changed = api.patch(f"/imports/{body['id']}", {"mapping": MAPPING, "mode": "create"})
    assert changed.status_code == 200, changed.content
    assert changed.json()["mapping"] == MAPPING and changed.json()["mode"] == "create"

    started = api.post(f"/imports/{body['id']}/start")
    assert started.status_code == 202, started.content
    for _ in range(50):
        polled = api.get(f"/imports/{body['id']}").json()
        if polled["status"] == "done":
            break
    assert polled["status"] == "done"
    assert polled["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 1}
    assert polled["processed_rows"] == 4 and polled["total_rows"] == 4
    assert polled["finished_at"] and polled["log"]
    assert Contact.objects.filter(source="Old CRM").count() == 3


def test_upload_with_mapping_and_start_in_one_request(api):
    response = api.post(
        "/imports",
        {
            "file": a_file(),
            "source": "crm",
            "mapping": json.dumps(MAPPING),
            "dry_run": "true",
            "start": "true",
        },
    )
    assert response.status_code == 201, response.content
    batch = api.get(f"/imports/{response.json()['id']}").json()
    assert batch["status"] == "done" and batch["dry_run"] is True
    assert batch["counts"]["created"] == 3
    assert Contact.objects.count() == 0, "a dry run changes nothing"


def test_list_is_newest_first_and_paged(api):
    for name in ("a.csv", "b.csv", "c.csv"):
        api.post("/imports", {"file": a_file(name=name)})
    first = api.get("/imports", limit=2).json()
    assert [b["file_name"] for b in first["items"]] == ["c.csv", "b.csv"]
    rest = api.get("/imports", limit=2, cursor=first["next_cursor"]).json()
    assert [b["file_name"] for b in rest["items"]] == ["a.csv"]
    assert rest["next_cursor"] is None


def test_preview_shows_normalised_rows_and_problems(api):
    batch = api.post("/imports", {"file": a_file(), "mapping": json.dumps(MAPPING)}).json()
    response = api.get(f"/imports/{batch['id']}/preview")
    assert response.status_code == 200, response.content
    rows = response.json()
    assert [r["row"] for r in rows] == [2, 3, 4, 5]
    assert rows[0]["errors"] == []
    assert rows[0]["data"]["phones"][0]["number"].replace(" ", "").startswith("+44")
    assert rows[2]["errors"][0]["column"] == "E-mail"
    assert rows[2]["errors"][0]["value"] == "not-an-email"
    assert Contact.objects.count() == 0


def test_errors_and_failed_rows_csv(api):
    batch = api.post(
        "/imports", {"file": a_file(), "mapping": json.dumps(MAPPING), "start": "true"}
    ).json()
    errors = api.get(f"/imports/{batch['id']}/errors").json()
    assert errors["next_cursor"] is None
    assert errors["items"] == [
        {
            "row": 4,
            "column": "E-mail",
            "value": "not-an-email",
            "reason": errors["items"][0]["reason"],
            "severity": "error",
        }
    ]
    response = api.get(f"/imports/{batch['id']}/failed-rows.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff"), "a BOM so Excel reads UTF-8"
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == ["Name", "E-mail", "Phone", "Company", "Import errors"]
    assert rows[1][:2] == ["Broken Row", "not-an-email"]
    assert rows[1][4].startswith("row 4: E-mail:")


def test_failed_rows_escape_cells_a_spreadsheet_would_run(api):
    text = "Name,E-mail\n=cmd|' /C calc'!A0,bad\n+1+2,also bad\n-3,nope\n@x,no\n"
    batch = api.post(
        "/imports",
        {
            "file": a_file(text),
            "mapping": json.dumps({"Name": "full_name", "E-mail": "emails[0].address"}),
            "start": "true",
        },
    ).json()
    response = api.get(f"/imports/{batch['id']}/failed-rows.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode()[1:])))
    # "-3" is a number, not a formula: it is written as it is
    assert [r[0] for r in rows[1:]] == ["'=cmd|' /C calc'!A0", "'+1+2", "-3", "'@x"]


def test_undo_runs_in_the_background_and_the_batch_reports_its_progress_and_result(api, bob):
    batch = api.post(
        "/imports", {"file": a_file(), "mapping": json.dumps(MAPPING), "start": "true"}
    ).json()
    assert Contact.objects.count() == 3
    # No worker here: the request only queues the undo.
    response = Client().post(f"/api/v1/imports/{batch['id']}/undo", **bearer(bob))
    assert response.status_code == 202, response.content
    queued = response.json()
    assert queued["status"] == "undoing"
    assert queued["undo"] == {
        "total": 3,
        "done": 0,
        "removed": 0,
        "restored": 0,
        "kept_count": 0,
        "kept": [],
    }
    assert Contact.objects.count() == 3, "nothing is undone inside the request"
    claim = ImportBatch.objects.get(pk=batch["id"]).claim
    services.import_undo_run(batch_id=batch["id"], claim=claim)  # what the worker does
    polled = api.get(f"/imports/{batch['id']}").json()
    assert polled["status"] == "undone"
    assert polled["undo"]["done"] == 3 and polled["undo"]["removed"] == 3
    assert Contact.objects.count() == 0
    again = api.post(f"/imports/{batch['id']}/undo")
    assert again.status_code == 422
    assert again.json()["errors"][0]["field"] == "status"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"mapping": "{not json"}, "mapping"),
        ({"mapping": json.dumps({"Name": 3})}, "mapping"),
        ({"mapping": json.dumps({"Nope": "full_name"})}, "mapping.Nope"),
        ({"mapping": json.dumps({"Name": "shoe_size"})}, "mapping.Name"),
        ({"mode": "merge"}, "mode"),
    ],
)
def test_bad_settings_on_upload_are_422_and_keep_nothing(api, data, field):
    response = api.post("/imports", {"file": a_file(), **data})
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == field
    assert ImportBatch.objects.count() == 0


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02\xff" * 100, b"PK\x03\x04 broken zip"])
def test_unreadable_files_are_422_on_file(api, content):
    response = api.post("/imports", {"file": SimpleUploadedFile("x.xlsx", content)})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"
    assert ImportBatch.objects.count() == 0


def test_a_missing_file_is_422(api):
    response = api.post("/imports", {"source": "x", "file_": "nothing"})
    assert response.status_code == 422


def test_patch_is_refused_once_started_and_names_the_column_of_a_bad_target(api):
    batch = api.post("/imports", {"file": a_file()}).json()
    bad = api.patch(f"/imports/{batch['id']}", {"mapping": {"Name": "full_name!", "Phone": "x"}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "mapping.Phone"
    unknown = api.patch(f"/imports/{batch['id']}", {"colour": "red"})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "colour"
    api.patch(f"/imports/{batch['id']}", {"mapping": MAPPING})
    api.post(f"/imports/{batch['id']}/start")
    late = api.patch(f"/imports/{batch['id']}", {"mode": "create"})
    assert late.status_code == 422
    assert late.json()["errors"][0]["field"] == "status"


def test_the_encoding_can_be_changed_while_pending(api):
    content = (DATA / "latin1_semicolon.csv").read_bytes()
    batch = api.post("/imports", {"file": SimpleUploadedFile("l.csv", content)}).json()
    assert batch["delimiter"] == ";" and "Prénom" in batch["headers"]
    changed = api.patch(f"/imports/{batch['id']}", {"encoding": "mac-roman"})
    assert changed.status_code == 200
    assert changed.json()["encoding"] == "mac-roman"
    assert "Prénom" not in changed.json()["headers"]
    wrong = api.patch(f"/imports/{batch['id']}", {"encoding": "klingon"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "encoding"


def test_permissions_and_unknown_ids(bob, charlie, api):
    batch = api.post("/imports", {"file": a_file()}).json()
    reader = bearer(charlie)
    client = Client()
    assert client.get("/api/v1/imports").status_code == 401
    assert client.get("/api/v1/imports", **reader).status_code == 200
    assert client.get(f"/api/v1/imports/{batch['id']}", **reader).status_code == 200
    upload = client.post("/api/v1/imports", {"file": a_file()}, **reader)
    assert upload.status_code == 403
    assert client.post(f"/api/v1/imports/{batch['id']}/start", **reader).status_code == 403
    assert client.post(f"/api/v1/imports/{batch['id']}/undo", **reader).status_code == 403
    assert client.get(f"/api/v1/imports/{batch['id']}/preview", **reader).status_code == 403
    assert api.get("/imports/999999").status_code == 404
    assert api.get("/imports/999999/failed-rows.csv").status_code == 404
    assert api.post("/imports/999999/start").status_code == 404


def test_the_list_costs_the_same_queries_however_many_batches(api, bob):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from rapport.ingest import services

    def upload_one(n: int) -> None:
        services.import_upload(
            actor=bob, upload=io.BytesIO(PEOPLE.encode()), file_name=f"{n}.csv", source="s"
        )

    upload_one(0)
    api.get("/imports")  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as few:
        assert len(api.get("/imports").json()["items"]) == 1
    for n in range(1, 8):
        upload_one(n)
    with CaptureQueriesContext(connection) as many:
        assert len(api.get("/imports").json()["items"]) == 8
    assert len(many) == len(few)
