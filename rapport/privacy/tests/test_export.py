"""Subject access exports: everything about a person, as a ZIP of JSON files and a page
anyone can read, from the API, the contact page and the command line."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from rapport.conftest import bearer
from rapport.core.subjects import providers
from rapport.privacy.models import SubjectExport
from rapport.privacy.tests.conftest import EMAIL, NAME, OLD_EMAIL

pytestmark = pytest.mark.django_db


def api(user):
    client = Client()
    headers = bearer(user)

    def post(path, **params):
        return client.post(path, params, **headers)

    def get(path, **params):
        return client.get(path, params, **headers)

    return post, get


def archive(content: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(content))


def test_the_archive_holds_every_area_s_data_and_a_page_with_every_value_escaped(world):
    post, _ = api(world.alice)
    response = post(f"/api/v1/contacts/{world.zelda.pk}/subject-export")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/zip"
    assert "attachment;" in response["Content-Disposition"]
    zipped = archive(b"".join(response.streaming_content))
    names = set(zipped.namelist())
    # every area but stored exports (there is none of her yet)
    areas = [p.name for p in providers() if p.name != "exports"]
    assert {f"data/{a}.json" for a in areas} <= names
    data = {a: json.loads(zipped.read(f"data/{a}.json")) for a in areas}
    record = data["contacts"]["sections"]["Contact record"]
    assert record["given_name"] == "Zelda" and record["custom_fields"]["shoe_size"].startswith("38")
    assert {e["address"] for e in data["contacts"]["sections"]["Email addresses"]} == {
        EMAIL,
        OLD_EMAIL,
    }
    assert data["contacts"]["sections"]["Change history"]
    interactions = data["activity"]["sections"]["Interactions"]
    assert {"My CV, as promised", "Meeting with Zelda Quillfeather"} <= {
        i["subject"] for i in interactions
    }
    assert any(i["private"] for i in interactions)  # admins export private notes too
    assert {t["title"] for t in data["activity"]["sections"]["Tasks"]} == {
        "Send Zelda the contract",
        f"Lunch with {NAME} and Charles",
    }
    rows = data["ingest"]["sections"]["Rows of imported files"][0]["rows"]
    assert rows == [
        {
            "row": 2,
            "Name": NAME,
            "E-mail": EMAIL,
            "Phone": "+44 20 7946 0123",
            "Company": "Analytical Engines",
        }
    ]
    assert data["merges"]["sections"]["Merges of their records"][0]["merged records"] == [
        world.merged_away_id
    ]
    assert data["duplicates"]["sections"]["Matching keys"]
    assert data["quality"]["sections"]["Details confirmed as current"]
    assert "quillfeather" in data["search"]["sections"]["Search index text"][0]["indexed text"]
    attachment = next(n for n in names if n.startswith("files/activity/"))
    assert zipped.read(attachment).startswith(NAME.encode())
    manifest = json.loads(zipped.read("manifest.json"))
    assert {m["path"] for m in manifest["members"]} == names - {"manifest.json"}
    page = zipped.read("index.html").decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<script" not in page.replace("&lt;script", "")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_every_export_is_logged_without_its_content(world):
    post, _ = api(world.alice)
    response = post(f"/api/v1/contacts/{world.zelda.pk}/subject-export")
    logged = SubjectExport.objects.get(pk=int(response["X-Rapport-Export"]))
    assert logged.contact_id == world.zelda.pk and logged.requested_by == world.alice
    assert logged.via == "api" and logged.status == "delivered" and not logged.file
    assert logged.size > 0 and len(logged.sha256) == 64
    assert EMAIL not in json.dumps(logged.sections)


def test_a_large_archive_is_built_in_the_background_and_kept_for_download(
    world, settings, django_capture_on_commit_callbacks
):
    settings.RAPPORT_PRIVACY_EXPORT_INLINE_BYTES = 1000
    post, get = api(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(f"/api/v1/contacts/{world.zelda.pk}/subject-export")
    assert response.status_code == 202, response.content
    job = get(f"/api/v1/privacy/exports/{response.json()['id']}").json()
    assert job["status"] == "done" and job["file_url"]
    download = get(job["file_url"])
    assert download.status_code == 200
    assert "data/contacts.json" in archive(b"".join(download.streaming_content)).namelist()


def test_members_and_read_only_users_may_not_export(world, charlie):
    for user in (world.bob, charlie):
        post, _ = api(user)
        response = post(f"/api/v1/contacts/{world.zelda.pk}/subject-export")
        assert response.status_code == 403
    assert not SubjectExport.objects.exists()


def test_an_unknown_contact_is_404_and_a_merged_away_one_names_where_its_data_went(world):
    post, _ = api(world.alice)
    assert post("/api/v1/contacts/999999/subject-export").status_code == 404
    merged = post(f"/api/v1/contacts/{world.merged_away_id}/subject-export")
    assert merged.status_code == 422
    assert f"#{world.zelda.pk}" in merged.json()["errors"][0]["message"]
    assert not SubjectExport.objects.exists()


def test_the_contact_page_offers_the_export_and_hands_over_the_archive(world, alice_client):
    page = alice_client.get(f"/contacts/{world.zelda.pk}/")
    assert f"/contacts/{world.zelda.pk}/privacy/export/" in page.content.decode()
    response = alice_client.post(f"/contacts/{world.zelda.pk}/privacy/export/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "index.html" in archive(b"".join(response.streaming_content)).namelist()


def test_the_contact_page_shows_no_privacy_box_to_members(world, bob_client):
    page = bob_client.get(f"/contacts/{world.zelda.pk}/").content.decode()
    assert "privacy/export" not in page
    assert bob_client.post(f"/contacts/{world.zelda.pk}/privacy/export/").status_code == 403


def test_the_command_line_writes_the_archive_to_a_file(world, tmp_path):
    target = tmp_path / "zelda.zip"
    err = io.StringIO()
    call_command("privacy", "export", EMAIL, "-o", str(target), "--as", "alice", stderr=err)
    assert "data/activity.json" in zipfile.ZipFile(target).namelist()
    assert f"Wrote {target}" in err.getvalue()
    assert SubjectExport.objects.get().via == "cli"


def test_the_command_line_refuses_unknown_contacts_and_members(world, tmp_path):
    target = tmp_path / "nobody.zip"
    with pytest.raises(CommandError, match="no contact #424242"):
        call_command("privacy", "export", "424242", "-o", str(target), "--as", "alice")
    with pytest.raises(CommandError, match="No contact has the email address"):
        call_command("privacy", "export", "nobody@x.example", "-o", str(target), "--as", "alice")
    with pytest.raises(CommandError, match="permission"):
        call_command("privacy", "export", str(world.zelda.pk), "-o", str(target), "--as", "bob")
    assert not target.exists()
