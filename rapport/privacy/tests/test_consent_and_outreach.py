"""Consent and outreach in privacy requests: her consent history (notes and evidence
decrypted) and her communication preferences in the archive; after an erasure the
ledger rows stay and verify but can no longer be read, her preferences and attempts are
gone, and no table holds her; restriction of processing on her privacy page; the
purposes in the records of processing."""

from __future__ import annotations

import io
import json
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from rapport.conftest import bearer
from rapport.consent.models import ConsentEvent
from rapport.consent.tests.support import make_purpose, record
from rapport.contacts import services as contacts
from rapport.contacts.models import Contact
from rapport.merges import services as merges
from rapport.outreach.models import (
    ContactAttempt,
    ContactPreferences,
    ContactReach,
    FrequencyCap,
)
from rapport.outreach.services.attempts import attempt_log
from rapport.outreach.services.preferences import contact_preferences_set
from rapport.privacy import services
from rapport.privacy.tests.conftest import EMAIL, NAME, traces_in_database

pytestmark = pytest.mark.django_db

PREFERENCES = {
    "channels": {"email": "preferred", "call": "refused"},
    "hours": [{"day": "mon", "start": "09:00", "end": "17:00"}],
    "language": "fr",
    "do_not_contact": False,
    "note": f"{NAME} only wants mail in French",
    "caps": [{"channel": "email", "purpose": "newsletter", "max_count": 2, "period_days": 30}],
}


@pytest.fixture
def consenting(world):
    """Zelda with a consent history (a note naming her, her address and browser as
    evidence, and a contact-wide restriction), another record of hers with its own
    history merged into her, preferences, caps and logged attempts."""
    make_purpose(
        world.alice,
        "newsletter",
        name="Monthly newsletter",
        description="Sending the monthly newsletter by email",
        is_marketing=True,
        retention_days=730,
        data_categories=["Email address", "Name"],
        recipients=["Mailing provider (processor)"],
    )
    record(
        world.bob,
        world.zelda,
        "grant",
        channel="email",
        point=EMAIL,
        method="checkbox",
        ip_address="203.0.113.9",
        user_agent="Firefox/140",
        reference=f"Paper form signed by {NAME}",
        note=f"{NAME} ticked the box at the fair",
    )
    record(world.bob, world.zelda, "restrict", purpose=None, note="Disputes her data")
    # another record of hers, with its own consent, merged into her
    other = contacts.contact_create(
        actor=world.bob,
        data={
            "full_name": "Zelda Quillfeather-Smith",
            "emails": [{"address": "zq2@other.example"}],
        },
    )
    record(
        world.bob,
        other,
        "withdraw",
        channel="email",
        point="zq2@other.example",
        note="Quillfeather said stop",
    )
    merges.contacts_merge(actor=world.alice, survivor_id=world.zelda.pk, merged_ids=[other.pk])
    zelda = Contact.objects.get(pk=world.zelda.pk)
    contact_preferences_set(actor=world.alice, contact=zelda, data=PREFERENCES, via="api")
    attempt_log(
        actor=world.bob,
        contact=zelda,
        channel="call",
        purpose="newsletter",
        outcome="refused",
        note=f"{NAME} said no thanks",
    )
    return other.pk


def _archive(world) -> dict:
    response = Client().post(
        f"/api/v1/contacts/{world.zelda.pk}/subject-export", **bearer(world.alice)
    )
    assert response.status_code == 200, response.content
    zipped = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    return {
        name.removeprefix("data/").removesuffix(".json"): json.loads(zipped.read(name))
        for name in zipped.namelist()
        if name.startswith("data/")
    } | {"index.html": zipped.read("index.html").decode()}


def _erase(world):
    preview = services.erasure_preview(actor=world.alice, contact_id=world.zelda.pk)
    log = services.contact_erase(
        actor=world.alice, contact_id=world.zelda.pk, confirmation=preview.confirmation
    )
    return preview, log


def test_the_archive_holds_her_consent_history_with_notes_and_her_preferences(world, consenting):
    data = _archive(world)
    consent = data["consent"]["sections"]
    history = consent["Consent history"]
    assert [e["action"] for e in history] == ["grant", "restrict", "withdraw"]
    grant, restrict, withdraw = history
    assert grant["note"] == f"{NAME} ticked the box at the fair"
    assert grant["reference"] == f"Paper form signed by {NAME}"
    assert (grant["point"], grant["ip_address"], grant["user_agent"]) == (
        EMAIL,
        "203.0.113.9",
        "Firefox/140",
    )
    assert grant["text"].startswith("Yes, send me the monthly newsletter")
    assert restrict["note"] == "Disputes her data"
    # the merged record's history counts for her
    assert withdraw["contact_id"] == consenting and withdraw["note"] == "Quillfeather said stop"
    assert {(s["purpose"], s["channel"], s["status"]) for s in consent["Current consent"]} >= {
        ("newsletter", "email", "withdrawn")
    }
    wide = consent["Restriction of processing and objection to direct marketing"]
    assert wide["restricted_since"] and wide["marketing_objection_since"] is None

    outreach = data["outreach"]["sections"]
    [prefs] = outreach["Communication preferences"]
    assert prefs["channels"]["email"] == "preferred" and prefs["channels"]["call"] == "refused"
    assert prefs["hours"] == [{"day": "mon", "start": "09:00", "end": "17:00"}]
    assert prefs["language"] == "fr" and prefs["do_not_contact"] is False
    assert prefs["caps"] == PREFERENCES["caps"]
    [attempt] = outreach["Attempts to reach them"]
    assert (attempt["channel"], attempt["outcome"], attempt["by"]) == ("call", "refused", "bob")
    assert attempt["note"] == f"{NAME} said no thanks"
    [where] = outreach["Where they are (time zone and country, for contact hours)"]
    assert where["country"] == "GB" and where["time_zones"] == ["Europe/London"]
    assert "ticked the box at the fair" in data["index.html"]


def test_the_erasure_preview_counts_her_ledger_rows_and_preferences(world, consenting):
    preview, _ = _erase(world)
    areas = {part.name: part.counts for part in preview.parts}
    assert areas["consent"]["consent ledger rows made unreadable (kept, as the law requires)"] == 3
    assert areas["consent"]["consent data keys destroyed"] == 2
    assert areas["outreach"]["communication preferences"] == 1
    assert areas["outreach"]["outreach attempts"] == 1


def test_after_erasure_the_ledger_stays_verifiable_but_unreadable_and_nothing_holds_her(
    world, consenting
):
    rows = ConsentEvent.objects.count()
    _, log = _erase(world)
    assert ConsentEvent.objects.count() == rows == 3
    assert log.counts["consent"]["consent data keys destroyed"] == 2
    assert log.counts["outreach"]["frequency caps"] == 1
    out = StringIO()
    call_command("consent", "verify", "--json", "--as", "alice", stdout=out)
    assert json.loads(out.getvalue())["ok"] is True
    # the history can still be listed, but nothing personal in it can be read
    for contact_id in (world.zelda.pk, consenting):
        response = Client().get(
            "/api/v1/consent-events", {"contact": contact_id}, **bearer(world.alice)
        )
        assert response.status_code == 200
        items = response.json()["items"]
        assert items and {e["note"] for e in items} == {"(erased)"}
        for event in items:
            # what was given (a contact point, a reference, evidence) reads as erased
            assert event["point"] == ("" if event["action"] == "restrict" else "(erased)")
            assert event["reference"] == ("(erased)" if event["action"] == "grant" else "")
            assert event["ip_address"] == ("(erased)" if event["action"] == "grant" else "")
    listed = Client().get("/api/v1/consent-events", **bearer(world.alice)).json()["items"]
    assert {e["note"] for e in listed} == {"(erased)"}
    for model in (ContactPreferences, FrequencyCap, ContactAttempt, ContactReach):
        assert not model.objects.filter(contact_id__in=[world.zelda.pk, consenting]).exists()
    assert traces_in_database() == []
    # nor under the merged record's address, the note of the merged record, her browser
    leftovers = [
        (label, text)
        for label, text in _texts_of_consent_and_outreach()
        if any(t in text.casefold() for t in ("zq2@other", "firefox/140", "203.0.113.9"))
    ]
    assert leftovers == []


def _texts_of_consent_and_outreach():
    from rapport.privacy.tests.conftest import database_texts

    return [
        (label, text)
        for label, text in database_texts()
        if label.startswith(("consent.", "outreach."))
    ]


def test_her_privacy_page_shows_the_restriction_of_processing(world, consenting, alice_client):
    page = alice_client.get(f"/contacts/{world.zelda.pk}/privacy/").content.decode()
    assert "Processing restricted since" in page
    record(world.bob, world.zelda, "object_marketing", purpose=None)
    page = alice_client.get(f"/contacts/{world.zelda.pk}/privacy/").content.decode()
    assert "Objects to direct marketing since" in page
    record(world.bob, world.zelda, "lift_restriction", purpose=None)
    page = alice_client.get(f"/contacts/{world.zelda.pk}/privacy/").content.decode()
    assert "Processing restricted since" not in page


def test_the_records_of_processing_list_each_purpose_with_its_basis_and_retention(
    alice, bob_client
):
    make_purpose(
        alice,
        "sales",
        name="Sales outreach",
        lawful_basis="legitimate_interest",
        description="Calling prospects about our products",
        retention_days=365,
        data_categories=["Phone number", "Job title"],
        recipients=["Sales team"],
        text="",
    )
    make_purpose(alice, "old", name="Old mailing", archived=True)
    page = bob_client.get("/privacy/records/").content.decode()
    assert "Sales outreach" in page and "Calling prospects about our products" in page
    assert "Legitimate interest (Art. 6(1)(f))" in page
    assert "Phone number" in page and "Sales team" in page
    assert "A grant lasts 365 days (about 1 year)" in page
    assert "Old mailing" not in page
    body = Client().get("/api/v1/privacy/records", **bearer(alice)).json()
    assert [a["name"] for a in body["activities"]] == [
        "Contact and relationship management",
        "Sales outreach",
    ]
