"""Sending email to contacts through the gate, to a real SMTP server: the headers every
mail carries, the timeline entry a reply threads to, 409 with the reasons, queued
delivery re-checked at delivery, idempotency, templates in the contact's language."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from rapport.activity.mail.intake import mail_capture
from rapport.activity.models import Interaction
from rapport.activity.tests.tasks_support import Inbox, smtp_fixture  # noqa: F401 (fixture)
from rapport.conftest import bearer
from rapport.consent.tests.support import make_purpose, record
from rapport.outreach.models import ContactAttempt, OutboundMessage
from rapport.outreach.services import sending
from rapport.outreach.services.templates import template_create

pytestmark = pytest.mark.django_db
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture
def api(bob):
    return Client(), bearer(bob)


@pytest.fixture
def newsletter(alice):
    return make_purpose(alice, "bulletin", is_marketing=True)


@pytest.fixture
def service(alice):
    return make_purpose(alice, "service", lawful_basis="contract", text="")


def post(client, auth, body, **extra):
    return client.post(
        "/api/v1/messages", json.dumps(body), content_type="application/json", **auth, **extra
    )


def window_later(hours_ahead: int = 3) -> tuple[list[dict[str, str]], dt.datetime]:
    """Contact hours (UTC wall clock) that open ``hours_ahead`` hours from now, for
    one hour, and the moment they open."""
    opens = (timezone.now() + dt.timedelta(hours=hours_ahead)).replace(
        minute=0, second=0, microsecond=0
    )
    end = opens + dt.timedelta(hours=1)
    window = {"day": DAYS[opens.weekday()], "start": f"{opens:%H:%M}", "end": f"{end:%H:%M}"}
    return [window], opens


def test_a_sent_mail_carries_its_message_id_preference_link_and_one_click_unsubscribe(
    api, make_contact, newsletter, alice, smtp: Inbox
):
    client, auth = api
    ann = make_contact("Ann Lee", email="ann@example.com")
    record(alice, ann, "grant", purpose="bulletin", method="checkbox")
    response = post(
        client,
        auth,
        {
            "contact": ann.pk,
            "purpose": "bulletin",
            "subject": "News for {{ contact.given_name }}",
            "body_text": "Hello {{ contact.given_name }},\nour news.",
        },
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "sent"
    [mail] = smtp.to("ann@example.com")
    assert mail["Subject"] == "News for Ann"
    assert mail["Message-ID"] == f"<{data['message_id']}>"
    assert mail["From"] == "Rapport <rapport@crm.example.com>"
    unsubscribe = " ".join(str(mail["List-Unsubscribe"]).split())
    assert unsubscribe.startswith("<http://testserver/public/u/")
    assert "mailto:" not in unsubscribe  # no mailbox set to read unsubscribe mails
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = Inbox.text(mail).replace("\r\n", "\n")
    assert "Hello Ann,\nour news." in text
    assert "Your email preferences: http://testserver/public/p/" in text
    # on the timeline, keyed on the Message-ID, and in the attempt log
    entry = Interaction.objects.get(pk=data["interaction_id"])
    assert entry.external_key == f"email:{data['message_id']}"
    assert (entry.kind, entry.direction, entry.subject) == ("email", "outbound", "News for Ann")
    assert entry.participants.filter(contact=ann, role="to").exists()
    assert ContactAttempt.objects.get(contact=ann).outcome == "sent"
    # her reply threads to it
    reply = (
        "From: Ann Lee <ann@example.com>\r\nTo: rapport@crm.example.com\r\n"
        f"Subject: Re: News for Ann\r\nMessage-ID: <reply-1@example.com>\r\n"
        f"In-Reply-To: <{data['message_id']}>\r\nDate: {mail['Date']}\r\n\r\nThanks!\r\n"
    ).encode()
    outcome = mail_capture(reply, owner=None)
    assert outcome.status == "stored", outcome
    stored = Interaction.objects.get(pk=outcome.interaction_id)
    assert stored.thread_id == entry.thread_id


def test_a_one_to_one_mail_for_a_contract_carries_no_unsubscribe_header(
    api, make_contact, service, smtp: Inbox
):
    client, auth = api
    ann = make_contact("Ann Lee", email="ann@example.com")
    response = post(
        client,
        auth,
        {"contact": ann.pk, "purpose": "service", "subject": "Your order", "body_text": "Shipped."},
    )
    assert response.status_code == 201, response.content
    [mail] = smtp.messages
    assert mail["List-Unsubscribe"] is None
    assert "/public/p/" in Inbox.text(mail)


def test_a_blocked_send_answers_409_with_the_reasons_and_sends_nothing(
    api, make_contact, newsletter, smtp: Inbox
):
    client, auth = api
    ann = make_contact("Ann Lee", email="ann@example.com")
    response = post(
        client,
        auth,
        {"contact": ann.pk, "purpose": "bulletin", "subject": "Hi", "body_text": "x"},
    )
    assert response.status_code == 409, response.content
    data = response.json()
    assert data["next_allowed_at"] is None
    assert [r["step"] for r in data["reasons"]] == ["consent"]
    assert data["message"]["status"] == "blocked"
    assert not smtp.messages
    assert ContactAttempt.objects.get(contact=ann).outcome == "blocked"


def test_outside_hours_409_names_the_next_allowed_time(api, make_contact, service, smtp: Inbox):
    client, auth = api
    hours, opens = window_later()
    ann = make_contact("Ann Lee", email="ann@example.com", time_zone="UTC", hours=hours)
    response = post(
        client, auth, {"contact": ann.pk, "purpose": "service", "subject": "Hi", "body_text": "x"}
    )
    assert response.status_code == 409, response.content
    data = response.json()
    assert dt.datetime.fromisoformat(data["next_allowed_at"]) == opens
    assert "contact_hours" in [r["step"] for r in data["reasons"]]
    assert not smtp.messages


def test_queued_until_the_window_opens_then_delivered_by_the_duty(
    api, make_contact, service, smtp: Inbox
):
    client, auth = api
    hours, opens = window_later()
    ann = make_contact("Ann Lee", email="ann@example.com", time_zone="UTC", hours=hours)
    body = {
        "contact": ann.pk,
        "purpose": "service",
        "subject": "Hi",
        "body_text": "x",
        "when": "next_allowed",
    }
    response = post(client, auth, body)
    assert response.status_code == 202, response.content
    data = response.json()
    assert data["status"] == "queued"
    assert dt.datetime.fromisoformat(data["deliver_at"].replace("Z", "+00:00")) == opens
    assert sending.messages_deliver(now=opens - dt.timedelta(minutes=1)) == {}
    assert not smtp.messages
    assert sending.messages_deliver(now=opens + dt.timedelta(minutes=1)) == {"sent": 1}
    assert sending.messages_deliver(now=opens + dt.timedelta(minutes=2)) == {}
    [mail] = smtp.to("ann@example.com")
    message = OutboundMessage.objects.get(pk=data["id"])
    assert message.status == "sent" and mail["Message-ID"] == f"<{message.message_id}>"


def test_a_withdrawal_before_delivery_stops_the_queued_message(
    api, make_contact, newsletter, alice, smtp: Inbox
):
    client, auth = api
    hours, opens = window_later()
    ann = make_contact("Ann Lee", email="ann@example.com", time_zone="UTC", hours=hours)
    record(alice, ann, "grant", purpose="bulletin", method="checkbox")
    body = {
        "contact": ann.pk,
        "purpose": "bulletin",
        "subject": "Hi",
        "body_text": "x",
        "when": "next_allowed",
    }
    queued = post(client, auth, body).json()
    assert queued["status"] == "queued"
    record(alice, ann, "withdraw", purpose="bulletin", method="email")
    assert sending.messages_deliver(now=opens + dt.timedelta(minutes=1)) == {
        "blocked_at_delivery": 1
    }
    assert not smtp.messages
    got = client.get(f"/api/v1/messages/{queued['id']}", **auth).json()
    assert got["status"] == "blocked_at_delivery"
    assert got["reasons"][0]["code"] == "consent.withdrawn"


def test_the_same_idempotency_key_sends_once(api, make_contact, service, smtp: Inbox):
    client, auth = api
    ann = make_contact("Ann Lee", email="ann@example.com")
    body = {"contact": ann.pk, "purpose": "service", "subject": "Hi", "body_text": "x"}
    first = post(client, auth, body, HTTP_IDEMPOTENCY_KEY="order-17")
    second = post(client, auth, body, HTTP_IDEMPOTENCY_KEY="order-17")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert len(smtp.messages) == 1


def test_a_template_is_sent_in_the_contacts_language_with_escaped_html(
    api, make_contact, service, alice, smtp: Inbox
):
    client, auth = api
    template_create(
        actor=alice,
        data={
            "key": "order-shipped",
            "name": "Order shipped",
            "language": "en",
            "subject": "Your order, {{ contact.given_name }}",
            "body_text": "Hello {{ contact.given_name }}",
            "body_html": "<p>Hello {{ contact.given_name }}</p>",
            "translations": [
                {
                    "language": "fr",
                    "subject": "Votre commande, {{ contact.given_name }}",
                    "body_text": "Bonjour {{ contact.given_name }}",
                    "body_html": "<p>Bonjour {{ contact.given_name }}</p>",
                }
            ],
        },
    )
    jo = make_contact("<b>Jo</b> Roy", email="jo@example.com", language="fr-CA")
    ann = make_contact("Ann Lee", email="ann@example.com", language="de")
    for who in (jo, ann):
        response = post(
            client, auth, {"contact": who.pk, "purpose": "service", "template": "order-shipped"}
        )
        assert response.status_code == 201, response.content
    [french] = smtp.to("jo@example.com")
    assert french["Subject"] == "Votre commande, <b>Jo</b>"
    html = french.get_body(preferencelist=("html",)).get_content()
    assert "<p>Bonjour &lt;b&gt;Jo&lt;/b&gt;</p>" in html
    [english] = smtp.to("ann@example.com")
    assert english["Subject"] == "Your order, Ann"


def test_a_template_error_names_the_template_and_the_line(api, make_contact, alice):
    client, _ = api
    response = client.post(
        "/api/v1/message-templates",
        json.dumps(
            {
                "key": "broken",
                "subject": "Hi",
                "body_text": "Line one\n{% if contact.given_name %}\nno end",
            }
        ),
        content_type="application/json",
        **bearer(alice),
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "body_text"
    assert "Template “broken”, body_text, line 2" in error["message"]


def test_a_claimed_message_is_sent_once_and_a_stale_claim_is_taken_over(
    bob, make_contact, service, smtp: Inbox
):
    hours, opens = window_later()
    ann = make_contact("Ann Lee", email="ann@example.com", time_zone="UTC", hours=hours)
    result = sending.message_send(
        actor=bob, contact=ann, purpose="service", subject="Hi", body_text="x", when="next_allowed"
    )
    pk = result.message.pk
    later = opens + dt.timedelta(minutes=1)
    # a worker claimed it and died before sending
    assert sending._claim(pk, later, timezone.now())
    assert sending.message_deliver(message_id=pk, now=later) == ""  # claimed: not twice
    OutboundMessage.objects.filter(pk=pk).update(
        claimed_at=timezone.now() - sending.stale_after() - dt.timedelta(seconds=1)
    )
    assert sending.messages_deliver(now=later) == {"sent": 1}
    assert len(smtp.messages) == 1


def test_an_unreachable_server_is_retried_with_a_back_off(bob, make_contact, service, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    ann = make_contact("Ann Lee", email="ann@example.com")
    result = sending.message_send(
        actor=bob, contact=ann, purpose="service", subject="Hi", body_text="x"
    )
    message = result.message
    assert message.status == "queued" and message.tries == 1
    assert "Connection" in message.last_error or "refused" in message.last_error.lower()
    assert message.next_try_at > timezone.now() + dt.timedelta(seconds=90)


def test_erasing_the_person_removes_the_messages_sent_to_them(
    bob, alice, make_contact, service, smtp: Inbox
):
    from rapport.privacy.services.erasure import contact_erase, erasure_preview

    ann = make_contact("Ann Lee", email="ann@example.com")
    sending.message_send(actor=bob, contact=ann, purpose="service", subject="Hi", body_text="x")
    assert OutboundMessage.objects.filter(to_address="ann@example.com").count() == 1
    preview = erasure_preview(actor=alice, contact_id=ann.pk)
    contact_erase(actor=alice, contact_id=ann.pk, confirmation=preview.confirmation)
    assert not OutboundMessage.objects.filter(to_address="ann@example.com").exists()
    assert not ContactAttempt.objects.filter(contact_id=ann.pk).exists()
