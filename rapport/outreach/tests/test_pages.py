"""What people see: the "Reaching" box on a contact page and editing it in place, the
contact list's column and filter, organization defaults, and the calling rules page."""

from __future__ import annotations

import pytest

from rapport.contacts.models import ListColumns
from rapport.outreach.models import CallingRule, ContactAttempt, ContactPreferences

pytestmark = pytest.mark.django_db
ALL_DAY = [
    {"day": d, "start": "00:00", "end": "24:00"}
    for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
]


def test_the_contact_page_shows_each_channel_at_a_glance(bob_client, make_contact):
    ann = make_contact(
        "Ann Lee",
        time_zone="Asia/Kathmandu",
        channels={"sms": "refused", "email": "preferred"},
        hours=ALL_DAY,
    )
    page = bob_client.get(f"/contacts/{ann.pk}/").content.decode()
    assert "Reaching Ann Lee" in page
    assert "Email OK now" in page
    assert "No SMS" in page
    assert "preferred" in page
    assert "Their own time zone, Asia/Kathmandu." in page


def test_preferences_are_edited_in_place_and_errors_keep_what_was_typed(bob_client, make_contact):
    ann = make_contact("Ann Lee", time_zone="Europe/Paris")
    url = f"/contacts/{ann.pk}/preferences/"
    form = bob_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'name="hours_mon"' in form
    bad = bob_client.post(
        url,
        {
            "version": "0",
            "hours_mon": "09:00-12:00, 11:00-14:00",
            "hours_tue": "9 to 5",
            "channel_call": "refused",
        },
        HTTP_HX_REQUEST="true",
    )
    text = bad.content.decode()
    assert "Nothing was saved" in text
    assert "overlaps Monday 09:00–12:00" in text
    assert "<strong>Tuesday hours</strong>:" in text  # the field named as the form names it
    assert "9 to 5" in text
    assert not ContactPreferences.objects.filter(contact=ann).exists()
    good = bob_client.post(
        url,
        {
            "version": "0",
            "hours_mon": "09:00-12:00, 14:00-17:00",
            "hours_fri": "22:00-02:00",
            "hours_channel_call": "on",
            "channel_sms": "refused",
            "do_not_contact": "",
            "language": "fr",
            "cap_rows": "1",
            "cap_0_channel": "email",
            "cap_0_max": "2",
            "cap_0_days": "30",
        },
        HTTP_HX_REQUEST="true",
    )
    assert good.status_code == 200
    assert "The preferences were saved." in good.content.decode()
    prefs = ContactPreferences.objects.get(contact=ann)
    assert prefs.hours == {"mon": ["09:00-12:00", "14:00-17:00"], "fri": ["22:00-02:00"]}
    assert prefs.hours_channels == ["call"]
    assert prefs.sms == "refused" and prefs.language == "fr"
    assert ann.outreach_caps.get().max_count == 2
    stale = bob_client.post(url, {"version": "0", "language": "de"})
    assert stale.status_code == 409


def test_a_read_only_user_cannot_open_the_preference_form(charlie_client, make_contact):
    ann = make_contact()
    assert charlie_client.get(f"/contacts/{ann.pk}/preferences/").status_code == 403


def test_an_attempt_is_logged_from_the_contact_page(bob_client, make_contact):
    ann = make_contact(phone="+33 6 12 34 56 78")
    response = bob_client.post(
        f"/contacts/{ann.pk}/attempts/",
        {"channel": "call", "purpose": "sales", "outcome": "refused", "note": "Not interested"},
        HTTP_HX_REQUEST="true",
    )
    assert "The attempt was logged." in response.content.decode()
    assert ContactAttempt.objects.get(contact=ann).outcome == "refused"
    # the French 60 days of silence now show on the page
    assert "60 days of silence" in bob_client.get(f"/contacts/{ann.pk}/").content.decode()


def test_the_contact_list_shows_reachability_and_filters_reachable_by_phone(
    bob, bob_client, make_contact
):
    ann = make_contact("Ann Reachable", time_zone="Asia/Kathmandu", hours=ALL_DAY)
    make_contact("Bob Refuses", time_zone="Asia/Kathmandu", channels={"call": "refused"})
    ListColumns.objects.create(user=bob, list_name="contacts", columns=["email", "reachability"])
    page = bob_client.get("/contacts/").content.decode()
    assert "Reachable now" in page
    assert "Phone OK now" in page
    assert "No phone" in page
    assert 'name="reachable"' in page
    filtered = bob_client.get("/contacts/", {"reachable": "call"}).content.decode()
    assert "Ann Reachable" in filtered
    assert "Bob Refuses" not in filtered
    assert ann.display_name in filtered


def test_organization_defaults_are_shown_and_edited(bob_client, make_organization):
    acme = make_organization("Acme")
    assert "Contact defaults" in bob_client.get(f"/organizations/{acme.pk}/").content.decode()
    response = bob_client.post(
        f"/organizations/{acme.pk}/preferences/",
        {
            "version": "0",
            "channel_call": "refused",
            "do_not_contact": "yes",
            "note": "Only through procurement",
        },
    )
    assert response.status_code == 302
    page = bob_client.get(f"/organizations/{acme.pk}/").content.decode()
    assert "Only through procurement" in page
    assert "(firm)" in page

    # a subsidiary without defaults shows the ones its people follow, and whose they are
    france = make_organization("Acme France", parent=acme)
    page = bob_client.get(f"/organizations/{france.pk}/").content.decode()
    assert "Its people follow the defaults of" in page
    assert f'href="/organizations/{acme.pk}/"' in page
    assert "Only through procurement" in page
    assert "Set defaults of its own" in page


def test_admins_manage_calling_rules_in_settings(alice_client, bob_client):
    listing = bob_client.get("/settings/calling-rules/").content.decode()
    assert "Démarchage téléphonique" in listing
    assert "Florida telephone solicitation hours" in listing
    assert bob_client.get("/settings/calling-rules/new/").status_code == 403
    overlapping = alice_client.post(
        "/settings/calling-rules/new/",
        {
            "name": "Second French rule",
            "country": "FR",
            "channel_call": "on",
            "hours_mon": "09:00-10:00",
            "active": "on",
        },
    )
    assert overlapping.status_code == 422
    assert "already covers call in FR" in overlapping.content.decode()
    created = alice_client.post(
        "/settings/calling-rules/new/",
        {
            "name": "Spain",
            "country": "ES",
            "channel_call": "on",
            "hours_mon": "09:00-21:00",
            "no_public_holidays": "on",
            "active": "on",
        },
    )
    assert created.status_code == 302
    assert CallingRule.objects.filter(country="ES", no_public_holidays=True).exists()
    bad = alice_client.post(
        "/settings/calling-rules/new/",
        {
            "name": "Broken",
            "country": "XX",
            "channel_call": "on",
            "hours_tue": "25:00-26:00",
            "active": "on",
        },
    )
    assert bad.status_code == 422
    assert "Nothing was saved" in bad.content.decode()
