from __future__ import annotations

import re

from rapport.contacts.tests.factories import make_contact
from rapport.quality import services
from rapport.quality.models import ContactVerification, Suggestion


def test_the_audit_page_shows_figures_and_charts_from_local_files(alice_client, book):
    response = alice_client.get("/quality/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="quality-distribution"' in html and "<canvas" in html
    assert "/static/vendor/chartjs/chart.umd.min.js" in html
    assert not re.search(r"<script[^>]+src=\"https?://", html)  # no CDN
    assert 'data-metric="contacts">5<' in html
    assert "/quality/problems/no_email_or_phone/" in html


def test_the_audit_page_can_show_one_source(alice_client, book):
    response = alice_client.get("/quality/", {"source": "Old CRM"})
    assert 'data-metric="contacts">2<' in response.content.decode()
    assert "/quality/problems/no_email_or_phone/?source=Old%20CRM" in response.content.decode()


def test_the_trend_chart_appears_once_a_snapshot_exists(alice_client, alice, book):
    assert 'id="quality-trend"' not in alice_client.get("/quality/").content.decode()
    services.audit_snapshot_write(actor=alice)
    assert 'id="quality-trend"' in alice_client.get("/quality/").content.decode()


def test_an_unknown_batch_is_a_clear_error(alice_client, book):
    response = alice_client.get("/quality/", {"batch": "424242"})
    assert response.status_code == 400
    assert "There is no import batch 424242" in response.content.decode()


def test_read_only_users_see_the_audit(charlie_client, book):
    assert charlie_client.get("/quality/").status_code == 200


def test_the_audit_needs_a_signed_in_user(client, db):
    response = client.get("/quality/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_problem_page_lists_the_affected_contacts(alice_client, book):
    alice_client.get("/quality/")
    html = alice_client.get("/quality/problems/no_email_or_phone/").content.decode()
    assert "Dan Nobody" in html and "Ada Lovelace" not in html


def test_the_contact_page_shows_the_score_and_reasons(alice_client, book):
    html = alice_client.get(f"/contacts/{book.phone_only.pk}/").content.decode()
    assert "Data quality" in html
    assert re.search(r"data-quality-score>60<", html)
    assert "No email" in html and "No organization" in html


def test_confirming_a_contact_from_its_page(bob_client, book):
    response = bob_client.post(f"/quality/contacts/{book.email_only.pk}/confirm/")
    assert response.status_code == 302
    assert ContactVerification.objects.filter(contact=book.email_only).exists()


def test_read_only_users_cannot_confirm(charlie_client, book):
    assert (
        charlie_client.post(f"/quality/contacts/{book.email_only.pk}/confirm/").status_code == 403
    )
    html = charlie_client.get(f"/contacts/{book.email_only.pk}/").content.decode()
    assert "Confirm details are current" not in html


def test_suggestions_are_found_listed_and_accepted_from_the_page(bob_client, bob):
    person = make_contact(actor=bob, given_name="GRACE", family_name="HOPPER")
    bob_client.post("/quality/suggestions/generate/")
    html = bob_client.get("/quality/suggestions/").content.decode()
    assert "Grace Hopper" in html and 'data-select-all="ids"' in html
    (s,) = Suggestion.objects.filter(contact=person)
    response = bob_client.post(
        "/quality/suggestions/decide/", {"ids": [s.pk], "action": "accept", "scope": "selected"}
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.display_name == "Grace Hopper"


def test_every_matching_suggestion_can_be_rejected_at_once(bob_client, bob):
    for name in ("ANNA", "BORIS", "CARLA"):
        make_contact(actor=bob, given_name=name)
    services.enrichment_generate(actor=bob)
    bob_client.post(
        "/quality/suggestions/decide/",
        {"action": "reject", "scope": "matching", "status": "pending", "field": "name"},
    )
    assert not Suggestion.objects.filter(status="pending", field="name").exists()


def test_read_only_users_see_suggestions_but_cannot_decide(charlie_client, alice):
    make_contact(actor=alice, given_name="ANNA")
    services.enrichment_generate(actor=alice)
    html = charlie_client.get("/quality/suggestions/").content.decode()
    assert "Anna" in html and 'value="accept"' not in html
    s = Suggestion.objects.get()
    response = charlie_client.post(
        "/quality/suggestions/decide/", {"ids": [s.pk], "action": "accept"}
    )
    assert response.status_code == 403
    s.refresh_from_db()
    assert s.status == "pending"
