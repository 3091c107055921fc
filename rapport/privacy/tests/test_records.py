"""The records of processing (GDPR Art. 30): generated from what every area declares,
the retention policies and further sources; a page, CSV, HTML and JSON."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.test import Client

from rapport.conftest import bearer
from rapport.privacy import records, services
from rapport.privacy.records import ProcessingActivity

pytestmark = pytest.mark.django_db


@pytest.fixture
def newsletter():
    """A further source, as the consent app's purposes will be."""

    def source():
        return [
            ProcessingActivity(
                name="Newsletter <monthly>",
                purposes="Sending the monthly newsletter",
                lawful_basis="Consent (Art. 6(1)(a))",
                data_subjects="Subscribers",
                data_categories=["Email address"],
                retention="Until consent is withdrawn",
                source="consent",
            )
        ]

    records.register_processing_source(source)
    yield
    records._sources.remove(source)


def test_members_read_the_page_with_every_area_s_categories_and_the_policies(
    alice, bob_client, newsletter, settings
):
    settings.RAPPORT_PRIVACY_CONTROLLER = "Example Ltd"
    services.retention_policy_save(
        actor=alice,
        data={"name": "Stale leads", "filters": "lifecycle_stage=lead&created_before=-2y"},
    )
    page = bob_client.get("/privacy/records/").content.decode()
    assert "Example Ltd" in page
    for category in ("Contact details", "Communications", "Imported files", "Merge snapshots"):
        assert category in page
    assert "Stale leads: contacts matching" in page
    assert "Newsletter &lt;monthly&gt;" in page


def test_the_record_downloads_as_csv_and_as_a_standalone_page(alice, alice_client, newsletter):
    response = alice_client.get("/privacy/records/?format=csv")
    assert response["Content-Disposition"] == 'attachment; filename="records-of-processing.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header = rows.index(["Processing activity", "Purposes", "Lawful basis", "Data subjects",
                         "Categories of personal data", "Recipients",
                         "Transfers to third countries", "Retention", "Security measures",
                         "Source"])  # fmt: skip
    names = [row[0] for row in rows[header + 1 :]]
    assert names == ["Contact and relationship management", "Newsletter <monthly>"]
    page = alice_client.get("/privacy/records/?format=html").content.decode()
    assert "Newsletter &lt;monthly&gt;" in page and "<script" not in page


def test_the_api_and_the_command_line_give_the_same_record(alice, newsletter, tmp_path):
    body = Client().get("/api/v1/privacy/records", **bearer(alice)).json()
    assert [a["name"] for a in body["activities"]] == [
        "Contact and relationship management",
        "Newsletter <monthly>",
    ]
    target = tmp_path / "record.csv"
    call_command("privacy", "records", "--format", "csv", "-o", str(target), "--as", "alice")
    assert "Newsletter <monthly>" in target.read_text()
