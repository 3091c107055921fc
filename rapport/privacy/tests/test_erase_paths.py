"""Erasing from the contact page, the API and the command line: each shows what will
go first, and bad input (an unknown contact, no confirmation, a forged one) gets a clear
answer and changes nothing."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from rapport.conftest import bearer
from rapport.contacts.models import Contact
from rapport.privacy.models import ErasureLog, Suppression

pytestmark = pytest.mark.django_db


def test_the_page_shows_what_will_go_then_erases_on_confirmation(world, alice_client):
    page = alice_client.get(f"/contacts/{world.zelda.pk}/privacy/erase/")
    assert page.status_code == 200
    text = page.content.decode()
    assert world.zelda.display_name in text and "rows in stored import files" in text
    assert "interactions only with them" in text and f"#{world.merged_away_id}" in text
    token = page.context["preview"].confirmation
    response = alice_client.post(
        f"/contacts/{world.zelda.pk}/privacy/erase/",
        {"confirmation": token, "reason": "request", "suppress": "1", "note": "Ticket 7"},
    )
    assert response.status_code == 302 and response["Location"] == "/privacy/"
    assert not Contact.objects.filter(pk=world.zelda.pk).exists()
    home = alice_client.get("/privacy/").content.decode()
    assert f"#{world.zelda.pk}" in home and "Ticket 7" in home and "Quillfeather" not in home


def test_a_forged_confirmation_on_the_page_is_refused_and_nothing_changes(world, alice_client):
    response = alice_client.post(
        f"/contacts/{world.zelda.pk}/privacy/erase/",
        {"confirmation": "eyJjb250YWN0IjoxfQ:forged:sig", "reason": "request", "suppress": "1"},
    )
    assert response.status_code == 422
    assert "This confirmation is not valid" in response.content.decode()
    assert Contact.objects.filter(pk=world.zelda.pk).exists()
    assert not ErasureLog.objects.exists()


def test_the_page_answers_404_for_an_unknown_contact_and_403_for_members(
    world, alice_client, bob_client
):
    assert alice_client.get("/contacts/999999/privacy/erase/").status_code == 404
    assert alice_client.get("/contacts/999999/privacy/").status_code == 404
    assert bob_client.get(f"/contacts/{world.zelda.pk}/privacy/erase/").status_code == 403
    assert (
        bob_client.post(
            f"/contacts/{world.zelda.pk}/privacy/erase/", {"confirmation": "x"}
        ).status_code
        == 403
    )
    # an id merged into her leads to her page
    response = alice_client.get(f"/contacts/{world.merged_away_id}/privacy/")
    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{world.zelda.pk}/privacy/"


def test_the_privacy_page_lists_what_each_area_holds(world, alice_client):
    page = alice_client.get(f"/contacts/{world.zelda.pk}/privacy/").content.decode()
    for phrase in ("email addresses", "interactions only with them", "merges of their records"):
        assert phrase in page


def test_the_api_previews_then_erases_with_the_confirmation(world):
    client, headers = Client(), bearer(world.alice)
    url = f"/api/v1/contacts/{world.zelda.pk}/erasure"
    preview = client.get(url, **headers)
    assert preview.status_code == 200
    body = preview.json()
    assert body["suppression"] == {"emails": 2, "phones": 1}
    assert {a["area"] for a in body["areas"] if a["counts"]} >= {"contacts", "activity", "ingest"}
    missing = client.post(url, json.dumps({"confirmation": ""}), "application/json", **headers)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "confirmation"
    wrong_mode = client.post(
        url,
        json.dumps({"confirmation": body["confirmation"], "mode": "anonymise"}),
        "application/json",
        **headers,
    )
    assert wrong_mode.status_code == 422
    assert Contact.objects.filter(pk=world.zelda.pk).exists()
    done = client.post(
        url,
        json.dumps({"confirmation": body["confirmation"], "reason": "objection"}),
        "application/json",
        **headers,
    )
    assert done.status_code == 200, done.content
    assert done.json()["counts"]["contacts"]["contact records"] == 1
    assert done.json()["suppressed"] == 3
    again = client.post(
        url, json.dumps({"confirmation": body["confirmation"]}), "application/json", **headers
    )
    assert again.status_code == 404


def test_the_api_refuses_members_and_unknown_contacts(world):
    client = Client()
    member = client.get(f"/api/v1/contacts/{world.zelda.pk}/erasure", **bearer(world.bob))
    assert member.status_code == 403
    admin = bearer(world.alice)
    assert client.get("/api/v1/contacts/999999/erasure", **admin).status_code == 404
    bad = client.post(
        f"/api/v1/contacts/{world.zelda.pk}/erasure",
        json.dumps({"confirmation": "x", "reason": "because"}),
        "application/json",
        **admin,
    )
    assert bad.status_code == 422
    assert Contact.objects.filter(pk=world.zelda.pk).exists()


def test_the_command_line_shows_what_will_go_and_asks_first(world):
    err = io.StringIO()
    with pytest.raises(CommandError, match="Nothing was erased"):
        call_command(
            "privacy", "erase", str(world.zelda.pk), "--as", "alice",
            stdin=io.StringIO("no\n"), stderr=err,
        )  # fmt: skip
    assert "rows in stored import files" in err.getvalue()
    assert Contact.objects.filter(pk=world.zelda.pk).exists()
    err = io.StringIO()
    call_command(
        "privacy", "erase", str(world.zelda.pk), "--as", "alice", "--reason", "request",
        stdin=io.StringIO(f"{world.zelda.pk}\n"), stderr=err,
    )  # fmt: skip
    assert f"Erased contact #{world.zelda.pk}" in err.getvalue()
    assert not Contact.objects.filter(pk=world.zelda.pk).exists()
    assert ErasureLog.objects.get().via == "cli"


def test_the_command_line_erases_without_asking_with_yes_and_can_skip_suppression(world):
    call_command(
        "privacy", "erase", "zelda.quill@example.org", "--yes", "--no-suppress", "--as", "alice",
        stderr=io.StringIO(),
    )  # fmt: skip
    assert not Contact.objects.filter(pk=world.zelda.pk).exists()
    assert not Suppression.objects.exists()


def test_the_command_line_refuses_without_a_terminal_unknown_contacts_and_members(world):
    with pytest.raises(CommandError, match="pass --yes"):
        call_command("privacy", "erase", str(world.zelda.pk), "--as", "alice", stderr=io.StringIO())
    with pytest.raises(CommandError, match="no contact #31337"):
        call_command("privacy", "erase", "31337", "--yes", "--as", "alice")
    with pytest.raises(CommandError, match="permission"):
        call_command("privacy", "erase", str(world.zelda.pk), "--yes", "--as", "bob")
    with pytest.raises(CommandError, match=f"merged into #{world.zelda.pk}"):
        call_command("privacy", "erase", str(world.merged_away_id), "--yes", "--as", "alice")
    assert Contact.objects.filter(pk=world.zelda.pk).exists()


def test_anonymising_her_keeps_an_anonymous_row(world, alice_client):
    page = alice_client.get(f"/contacts/{world.zelda.pk}/privacy/erase/?mode=anonymise")
    token = page.context["preview"].confirmation
    alice_client.post(
        f"/contacts/{world.zelda.pk}/privacy/erase/",
        {"confirmation": token, "reason": "request", "mode": "anonymise"},
    )
    kept = Contact.objects.get(pk=world.zelda.pk)
    assert kept.display_name == "Anonymised contact" and not kept.emails.exists()
    assert list(kept.addresses.values_list("country", flat=True)) == ["GB"]
    assert not Suppression.objects.exists()
    from rapport.privacy.tests.conftest import traces_in_database

    assert traces_in_database() == []
