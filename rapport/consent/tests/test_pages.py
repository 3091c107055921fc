"""The consent pages as people use them: the box on a contact's page, the contact's
consent page with its history and the form to record, and Settings › Purposes."""

from __future__ import annotations

import pytest

from rapport.consent.models import ConsentEvent, ConsentText, Purpose
from rapport.consent.tests.support import record

pytestmark = pytest.mark.django_db


def test_the_contact_page_shows_consent_at_a_glance(bob, bob_client, ann, newsletter):
    record(bob, ann, "grant", channel="email", given_at="2026-01-05T10:00:00Z")
    record(bob, ann, "object_marketing", purpose=None, given_at="2026-02-01T10:00:00Z")
    html = bob_client.get(f"/contacts/{ann.pk}/").content.decode()
    box = html.split('id="h-consent"', 1)[1].split("</section>", 1)[0]
    assert "Objects to direct marketing" in box and "1 Feb 2026" in box
    assert "Newsletter" in box and "Not allowed" in box
    assert "Objected to direct marketing" in box  # the latest event
    assert f'href="/contacts/{ann.pk}/consent/"' in box


def test_a_read_only_user_sees_consent_but_no_form(charlie_client, bob, ann, newsletter):
    record(bob, ann, "grant")
    page = charlie_client.get(f"/contacts/{ann.pk}/consent/")
    html = page.content.decode()
    assert page.status_code == 200 and "Record what they said" not in html
    assert "Granted" in html
    assert (
        charlie_client.post(f"/contacts/{ann.pk}/consent/", {"action": "grant"}).status_code == 403
    )
    assert not ConsentEvent.objects.filter(action="withdraw").exists()


def test_recording_from_the_contact_page_appends_and_shows_the_history(bob_client, ann, newsletter):
    response = bob_client.post(
        f"/contacts/{ann.pk}/consent/",
        {
            "action": "withdraw",
            "purpose": "newsletter",
            "channel": "email",
            "point": "ann@example.com",
            "method": "email",
            "note": "Replied STOP to the March issue",
        },
    )
    assert response.status_code == 302
    event = ConsentEvent.objects.get()
    assert (event.action, event.channel, event.source) == ("withdraw", "email", "user")
    html = bob_client.get(response["Location"]).content.decode()
    history = html.split('id="h-history"', 1)[1]
    assert "Withdrew" in history and "ann@example.com" in history
    assert "Replied STOP to the March issue" in history and event.hash[:16] in history


def test_a_consent_without_a_purpose_is_refused_on_the_page_and_nothing_is_recorded(
    bob_client, ann, newsletter
):
    response = bob_client.post(
        f"/contacts/{ann.pk}/consent/", {"action": "grant", "purpose": "", "method": "verbal"}
    )
    assert response.status_code == 422
    assert "A consent event needs a purpose." in response.content.decode()
    assert not ConsentEvent.objects.exists()


def test_an_admin_defines_a_purpose_with_its_text_and_a_new_text_is_a_new_version(
    alice_client, alice
):
    response = alice_client.post(
        "/settings/purposes/new/",
        {
            "name": "Product updates",
            "key": "product-updates",
            "lawful_basis": "legitimate_interest",
            "retention_days": "730",
            "data_categories": "Name\nEmail address",
            "recipients": "Mail provider",
            "text": "We write about changes to products you use.",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    purpose = Purpose.objects.get(key="product-updates")
    assert purpose.data_categories == ["Name", "Email address"] and purpose.retention_days == 730
    edit = alice_client.post(
        f"/settings/purposes/{purpose.pk}/",
        {
            "name": "Product updates",
            "key": "product-updates",
            "lawful_basis": "legitimate_interest",
            "retention_days": "730",
            "text": "We write about changes to the products you use, about once a month.",
        },
    )
    assert edit.status_code == 302
    assert list(ConsentText.objects.filter(purpose=purpose).values_list("version", flat=True)) == [
        2,
        1,
    ]
    page = alice_client.get(f"/settings/purposes/{purpose.pk}/").content.decode()
    assert "Version 2 (current)" in page and "Version 1" in page
    listing = alice_client.get("/settings/purposes/").content.decode()
    assert "Product updates" in listing and "730 days" in listing


def test_the_purpose_form_names_every_wrong_field(alice_client):
    response = alice_client.post(
        "/settings/purposes/new/",
        {"name": "", "key": "Not a key!", "lawful_basis": "because", "signup_enabled": "on"},
    )
    html = response.content.decode()
    assert response.status_code == 422
    for expected in ("This field is required.", "Use lower-case letters", "Unknown lawful basis"):
        assert expected in html
    assert not Purpose.objects.exists()


def test_members_may_not_manage_purposes(bob_client, newsletter):
    assert bob_client.get("/settings/purposes/new/").status_code == 403
    response = bob_client.post(
        f"/settings/purposes/{newsletter.pk}/",
        {"name": "Mine", "key": "x", "lawful_basis": "consent"},
    )
    assert response.status_code == 403
    assert Purpose.objects.get().name == "Newsletter"
    assert bob_client.get(f"/settings/purposes/{newsletter.pk}/").status_code == 200


def test_a_purpose_in_use_cannot_be_deleted_only_archived(alice_client, bob, ann, newsletter):
    record(bob, ann, "grant")
    response = alice_client.post(f"/settings/purposes/{newsletter.pk}/delete/")
    assert response.status_code == 302 and Purpose.objects.filter(pk=newsletter.pk).exists()
    alice_client.post(f"/settings/purposes/{newsletter.pk}/archive/", {"archived": "1"})
    newsletter.refresh_from_db()
    assert newsletter.archived_at is not None


def test_settings_lists_purposes_and_marks_them_current(charlie_client, newsletter):
    html = charlie_client.get("/settings/purposes/").content.decode()
    nav = html.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    assert 'aria-current="page">Purposes and consent</a>' in nav
    assert "New purpose" not in html  # only admins define them
