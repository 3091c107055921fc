"""What people see when they reach someone from Rapport's pages: the compose form with
the gate's decision before sending, click-to-call and click-to-SMS through the gate, and
Settings → Message templates."""

from __future__ import annotations

import pytest

from rapport.activity.models import Interaction
from rapport.activity.tests.tasks_support import Inbox, smtp_fixture  # noqa: F401 (fixture)
from rapport.consent.tests.support import make_purpose, record
from rapport.outreach.models import ContactAttempt, MessageTemplate, OutboundMessage
from rapport.outreach.services.templates import template_create

pytestmark = pytest.mark.django_db
NIGHT_ONLY = [{"day": d, "start": "03:00", "end": "03:01"} for d in ("mon", "tue", "wed")]


@pytest.fixture
def bulletin(alice):
    return make_purpose(alice, "bulletin", is_marketing=True)


# -- compose ----------------------------------------------------------------------------


def test_the_contact_page_offers_send_email_and_the_form_comes_in_place(bob_client, make_contact):
    ann = make_contact("Ann Lee", email="ann@example.com")
    page = bob_client.get(f"/contacts/{ann.pk}/").content.decode()
    assert "Send email" in page
    assert f'hx-get="/contacts/{ann.pk}/compose/"' in page
    form = bob_client.get(f"/contacts/{ann.pk}/compose/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in form
    assert 'name="purpose"' in form and 'name="template"' in form
    assert 'value="next_allowed"' in form


def test_the_form_shows_the_gates_decision_before_sending(
    bob_client, alice, make_contact, bulletin
):
    ann = make_contact("Ann Lee", email="ann@example.com")
    url = f"/contacts/{ann.pk}/compose/verdict/"
    blocked = bob_client.get(url, {"purpose": "bulletin"}).content.decode()
    assert 'data-verdict="blocked"' in blocked
    assert "consent" in blocked.lower()
    assert "No time will do" in blocked
    record(alice, ann, "grant", purpose="bulletin", method="checkbox")
    allowed = bob_client.get(url, {"purpose": "bulletin"}).content.decode()
    assert 'data-verdict="allowed"' in allowed
    # a template brings its purpose
    template_create(
        actor=alice,
        data={"key": "hello", "purpose": "bulletin", "subject": "Hi", "body_text": "Hello"},
    )
    by_template = bob_client.get(url, {"template": "hello"}).content.decode()
    assert 'data-verdict="allowed"' in by_template


def test_a_blocked_contact_shows_the_next_allowed_time_and_send_when_allowed_queues_it(
    bob_client, make_contact, smtp: Inbox
):
    ann = make_contact("Ann Lee", email="ann@example.com", time_zone="UTC", hours=NIGHT_ONLY)
    verdict = bob_client.get(
        f"/contacts/{ann.pk}/compose/verdict/", {"purpose": "sales"}
    ).content.decode()
    assert 'data-verdict="blocked"' in verdict
    assert "data-next-allowed" in verdict and "03:00 (UTC)" in verdict
    form = {"purpose": "sales", "subject": "Hello", "body_text": "A note."}
    now = bob_client.post(f"/contacts/{ann.pk}/compose/", {**form, "when": "now"})
    assert now.status_code == 409
    assert "the gate blocked it" in now.content.decode()
    later = bob_client.post(
        f"/contacts/{ann.pk}/compose/", {**form, "when": "next_allowed"}, HTTP_HX_REQUEST="true"
    )
    assert later.status_code == 204
    assert later.headers["HX-Redirect"] == f"/contacts/{ann.pk}/"
    queued = OutboundMessage.objects.get(contact=ann, status="queued")
    assert queued.not_before.strftime("%H:%M") == "03:00"
    assert not smtp.messages


def test_sending_from_the_form_mails_the_person_and_puts_it_on_the_timeline(
    bob_client, make_contact, smtp: Inbox
):
    ann = make_contact("Ann Lee", email="ann@example.com")
    response = bob_client.post(
        f"/contacts/{ann.pk}/compose/",
        {
            "purpose": "sales",
            "subject": "Our offer, {{ contact.given_name }}",
            "body_text": "Details inside.",
            "when": "now",
        },
    )
    assert response.status_code == 302
    [mail] = smtp.to("ann@example.com")
    assert mail["Subject"] == "Our offer, Ann"
    entry = Interaction.objects.get(external_key__startswith="email:")
    assert entry.subject == "Our offer, Ann"
    page = bob_client.get(f"/contacts/{ann.pk}/").content.decode()
    assert "The message was sent." in page
    assert "Our offer, Ann" in page


def test_compose_errors_name_the_field_and_keep_what_was_typed(bob_client, make_contact):
    ann = make_contact("Ann Lee", email="ann@example.com")
    response = bob_client.post(
        f"/contacts/{ann.pk}/compose/",
        {"purpose": "", "subject": "", "body_text": "Kept text", "when": "now"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200  # htmx swaps only 2xx: the form comes back in place
    text = response.content.decode()
    assert "<html" not in text and "Nothing was sent" in text
    assert "Purpose: Every outbound contact has a purpose" in text
    assert "Kept text" in text
    missing = bob_client.post(
        f"/contacts/{ann.pk}/compose/",
        {"purpose": "sales", "template": "nope", "when": "now"},
    )
    assert missing.status_code == 422
    assert "Template: There is no template “nope”." in missing.content.decode()
    nobody = make_contact("No Mail")
    no_address = bob_client.post(
        f"/contacts/{nobody.pk}/compose/",
        {"purpose": "sales", "subject": "x", "body_text": "y", "when": "now"},
    ).content.decode()
    assert "No Mail has no email address." in no_address
    assert not OutboundMessage.objects.exists()


def test_read_only_users_cannot_send(charlie_client, make_contact):
    ann = make_contact("Ann Lee", email="ann@example.com")
    assert "Send email" not in charlie_client.get(f"/contacts/{ann.pk}/").content.decode()
    response = charlie_client.post(
        f"/contacts/{ann.pk}/compose/",
        {"purpose": "sales", "subject": "x", "body_text": "y", "when": "now"},
    )
    assert response.status_code == 403
    assert not OutboundMessage.objects.exists()


# -- click-to-call / click-to-SMS -------------------------------------------------------


def test_call_and_sms_open_the_phone_app_when_the_gate_allows_and_log_the_attempt(
    bob_client, make_contact
):
    ann = make_contact("Ann Lee", phone="+44 20 7946 0018", time_zone="UTC")
    phone = ann.phones.get()
    page = bob_client.get(f"/contacts/{ann.pk}/").content.decode()
    assert f'action="/contacts/{ann.pk}/reach/call/{phone.pk}/"' in page
    assert f'action="/contacts/{ann.pk}/reach/sms/{phone.pk}/"' in page
    assert 'href="tel:' not in page  # no way around the gate from the page
    call = bob_client.post(f"/contacts/{ann.pk}/reach/call/{phone.pk}/", {"purpose": "support"})
    assert call.status_code == 302
    assert call.headers["Location"] == "tel:+442079460018"
    sms = bob_client.post(f"/contacts/{ann.pk}/reach/sms/{phone.pk}/")
    assert sms.headers["Location"] == "sms:+442079460018"
    rows = list(ContactAttempt.objects.filter(contact=ann).order_by("id"))
    assert [(r.channel, r.purpose, r.outcome) for r in rows] == [
        ("call", "support", "attempted"),
        ("sms", "sales", "attempted"),  # RAPPORT_CALL_PURPOSE's default
    ]


def test_a_blocked_call_warns_and_goes_ahead_only_when_the_user_chooses_to(
    bob_client, make_contact
):
    ann = make_contact("Ann Lee", phone="+44 20 7946 0018", time_zone="UTC", hours=NIGHT_ONLY)
    phone = ann.phones.get()
    url = f"/contacts/{ann.pk}/reach/call/{phone.pk}/"
    warned = bob_client.post(url, {"purpose": "sales"})
    assert warned.status_code == 409
    text = warned.content.decode()
    assert 'data-verdict="blocked"' in text
    assert "03:00 (UTC)" in text
    assert 'name="proceed"' in text and "Call anyway" in text
    assert not ContactAttempt.objects.exists()
    anyway = bob_client.post(url, {"purpose": "sales", "proceed": "yes"})
    assert anyway.headers["Location"] == "tel:+442079460018"
    attempt = ContactAttempt.objects.get(contact=ann)
    assert attempt.outcome == "attempted"
    assert "although the gate said no" in attempt.note
    assert attempt.reasons and attempt.reasons[0]["step"] == "contact_hours"


def test_call_purpose_default_comes_from_the_setting(bob_client, make_contact, settings):
    settings.RAPPORT_CALL_PURPOSE = "support"
    ann = make_contact("Ann Lee", phone="+44 20 7946 0018")
    phone = ann.phones.get()
    check = bob_client.get(f"/contacts/{ann.pk}/reach/call/{phone.pk}/").content.decode()
    assert 'value="support" selected' in check
    bob_client.post(f"/contacts/{ann.pk}/reach/call/{phone.pk}/")
    assert ContactAttempt.objects.get(contact=ann).purpose == "support"


def test_someone_elses_number_is_not_found_and_read_only_users_cannot_call(
    bob_client, charlie_client, make_contact
):
    ann = make_contact("Ann Lee", phone="+44 20 7946 0018")
    ben = make_contact("Ben Low", phone="+44 20 7946 0019")
    other = ben.phones.get()
    assert bob_client.post(f"/contacts/{ann.pk}/reach/call/{other.pk}/").status_code == 404
    mine = ann.phones.get()
    assert charlie_client.post(f"/contacts/{ann.pk}/reach/call/{mine.pk}/").status_code == 403
    assert not ContactAttempt.objects.exists()


# -- Settings → Message templates -------------------------------------------------------


def test_admins_create_edit_and_delete_templates_with_translations(alice_client, bulletin):
    assert alice_client.get("/settings/message-templates/").status_code == 200
    created = alice_client.post(
        "/settings/message-templates/new/",
        {
            "rows": "1",
            "key": "welcome",
            "name": "Welcome",
            "purpose": "bulletin",
            "language": "en",
            "subject": "Welcome {{ contact.given_name }}",
            "body_text": "Hello!",
            "t0-language": "fr",
            "t0-subject": "Bienvenue {{ contact.given_name }}",
            "t0-body_text": "Bonjour !",
        },
    )
    assert created.status_code == 302, created.content.decode()
    template = MessageTemplate.objects.get(key="welcome")
    assert [t.language for t in template.translations.all()] == ["fr"]
    listing = alice_client.get("/settings/message-templates/").content.decode()
    assert "Welcome" in listing and "en, fr" in listing
    form = alice_client.get(f"/settings/message-templates/{template.pk}/").content.decode()
    assert "Bienvenue {{ contact.given_name }}" in form
    assert 'name="t1-language"' in form  # a blank row for one more language
    edited = alice_client.post(
        f"/settings/message-templates/{template.pk}/",
        {
            "rows": "2",
            "key": "welcome",
            "name": "Welcome",
            "language": "en",
            "subject": "Welcome",
            "body_text": "Hello!",
            "t0-language": "fr",
            "t0-subject": "Bienvenue",
            "t0-body_text": "Bonjour !",
            "t0-remove": "1",
            "t1-language": "de",
            "t1-subject": "Willkommen",
            "t1-body_text": "Hallo!",
        },
    )
    assert edited.status_code == 302
    template.refresh_from_db()
    assert template.version == 2
    assert [t.language for t in template.translations.all()] == ["de"]
    deleted = alice_client.post(f"/settings/message-templates/{template.pk}/delete/")
    assert deleted.status_code == 302
    assert not MessageTemplate.objects.exists()


def test_template_errors_name_the_field_and_the_translation(alice_client):
    response = alice_client.post(
        "/settings/message-templates/new/",
        {
            "rows": "1",
            "key": "Bad Key",
            "language": "en",
            "subject": "Hi",
            "body_text": "Hello {% if %}",
            "t0-language": "fr",
            "t0-subject": "",
            "t0-body_text": "Bonjour",
        },
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert "Nothing was saved" in text
    assert "Key: Give a key" in text
    assert "Translation “fr”, subject: A translation needs a subject and a text." in text
    assert "Hello {% if %}" in text
    assert not MessageTemplate.objects.exists()


def test_only_admins_see_and_change_templates(bob_client, alice):
    template_create(actor=alice, data={"key": "x", "subject": "S", "body_text": "T"})
    assert bob_client.get("/settings/message-templates/").status_code == 403
    assert "Message templates" not in bob_client.get("/").content.decode()
    template = MessageTemplate.objects.get()
    assert bob_client.post(f"/settings/message-templates/{template.pk}/delete/").status_code == 403
    assert MessageTemplate.objects.exists()
