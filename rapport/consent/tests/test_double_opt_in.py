"""Double opt-in through the public sign-up form, with a real SMTP server: the form
records a request, the mail carries a signed link, and only the POST behind that link
grants consent. Forged, expired and replayed links, the honeypot and the per-address
throttle change nothing."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.core import signing
from django.test import Client

from rapport.access.models import ChangeRecord
from rapport.activity.tests.tasks_support import Inbox
from rapport.consent.models import ConsentEvent, Purpose
from rapport.consent.selectors import consent_verdict
from rapport.consent.services.signup import CONFIRM_SALT
from rapport.consent.tests.support import NEWSLETTER_TEXT, make_purpose
from rapport.contacts.models import Contact, Email
from rapport.contacts.tests.factories import make_contact

pytestmark = pytest.mark.django_db
FORM = "/public/consent/newsletter/"


@pytest.fixture
def signup_purpose(alice, bob) -> Purpose:
    return make_purpose(
        alice,
        "newsletter",
        is_marketing=True,
        description="Our monthly letter.",
        signup_enabled=True,
        signup_owner="bob",
    )


@pytest.fixture
def visitor() -> Client:
    """A browser with no session and no CSRF cookie, as on another site's page."""
    return Client(
        enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.50", HTTP_USER_AGENT="Mozilla/5.0 Test"
    )


def _token(html: str) -> str:
    match = re.search(r'name="form_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def _sign_up(visitor: Client, capture, email="ada@example.org", name="Ada Lovelace", **extra):
    form = visitor.get(FORM)
    assert form.status_code == 200
    data = {
        "email": email,
        "name": name,
        "form_token": _token(form.content.decode()),
        "website": "",
    }
    data.update(extra)
    with capture(execute=True):
        return visitor.post(FORM, data)


def _link(message) -> str:
    match = re.search(r"https?://[^\s]+/public/consent/confirm/[^\s]+/", Inbox.text(message))
    assert match, Inbox.text(message)
    return match.group(0).split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def _allowed(contact_id: int) -> bool:
    return consent_verdict(
        contact_id=contact_id, purpose="newsletter", channel="email", at=dt.datetime.now(dt.UTC)
    ).allowed


def test_the_round_trip_through_the_mailbox_grants_consent_only_on_confirmation(
    signup_purpose, visitor, smtp: Inbox, django_capture_on_commit_callbacks, bob
):
    page = visitor.get(FORM).content.decode()
    assert NEWSLETTER_TEXT in page and 'class="hp-field"' in page
    response = _sign_up(visitor, django_capture_on_commit_callbacks)
    assert response.status_code == 200 and "Check your mailbox" in response.content.decode()

    # the contact came through the contact services, as bob (the form's user)
    contact = Contact.objects.get(emails__address="ada@example.org")
    assert (contact.given_name, contact.family_name, contact.owner) == ("Ada", "Lovelace", bob)
    created = ChangeRecord.objects.get(object_type="contact", object_id=contact.pk)
    assert (created.action, created.via, created.actor) == ("create", "form", bob)

    request = ConsentEvent.objects.get()
    assert request.action == "grant" and request.needs_confirmation
    assert (request.source, request.method, request.channel) == ("form", "double_opt_in", "email")
    assert request.text_version == 1
    assert not _allowed(contact.pk)  # asked, not confirmed

    [mail] = smtp.to("ada@example.org")
    assert mail["Subject"] == "Please confirm: Newsletter"
    assert NEWSLETTER_TEXT in Inbox.text(mail)
    link = _link(mail)

    # opening the link (or a mail scanner fetching it) confirms nothing
    shown = visitor.get(link)
    assert shown.status_code == 200 and "Yes, confirm" in shown.content.decode()
    assert ConsentEvent.objects.count() == 1 and not _allowed(contact.pk)

    confirmed = visitor.post(link, REMOTE_ADDR="198.51.100.23")
    assert confirmed.status_code == 200 and "you are confirmed" in confirmed.content.decode()
    confirm = ConsentEvent.objects.get(action="confirm")
    assert confirm.confirms_id == request.pk and confirm.token_id == request.token_id
    assert _allowed(contact.pk)
    from rapport.consent.services import consent_subject_export

    rows = {e["action"]: e for e in consent_subject_export(contact.pk)["events"]}
    assert rows["grant"]["ip_address"] == "203.0.113.50"
    assert rows["confirm"]["ip_address"] == "198.51.100.23"
    assert rows["confirm"]["user_agent"] == "Mozilla/5.0 Test"

    # replayed: says so, appends nothing
    again = visitor.post(link)
    assert again.status_code == 200 and "Already confirmed" in again.content.decode()
    assert "Already confirmed" in visitor.get(link).content.decode()
    assert ConsentEvent.objects.count() == 2


def test_an_existing_contact_is_found_by_email_not_created_again(
    signup_purpose, visitor, smtp, django_capture_on_commit_callbacks, bob
):
    known = make_contact(
        bob, given_name="Ada", family_name="King", emails=[{"address": "Ada@Example.org"}]
    )
    _sign_up(
        visitor, django_capture_on_commit_callbacks, email="ada@EXAMPLE.org", name="Someone Else"
    )
    assert Contact.objects.count() == 1
    assert ConsentEvent.objects.get().contact_id == known.pk
    assert Contact.objects.get().family_name == "King"  # a public form changes no one's record


def test_a_forged_link_changes_nothing(
    signup_purpose, visitor, smtp, django_capture_on_commit_callbacks
):
    _sign_up(visitor, django_capture_on_commit_callbacks)
    link = _link(smtp.messages[0])
    token = link.rstrip("/").rsplit("/", 1)[1]
    forged = link.replace(token, token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"))
    for method in (visitor.get, visitor.post):
        response = method(forged)
        assert response.status_code == 400 and "This link is not valid" in response.content.decode()
    # a token made with the same key for something else is no confirmation either
    other = signing.TimestampSigner(salt="something.else").sign_object({"e": 1, "t": "x"})
    assert visitor.post(f"/public/consent/confirm/{other}/").status_code == 400
    assert ConsentEvent.objects.count() == 1 and not ConsentEvent.objects.filter(action="confirm")


class _Yesterday(signing.TimestampSigner):
    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) - 3 * 24 * 3600)


def test_an_expired_link_changes_nothing(
    signup_purpose, visitor, smtp, django_capture_on_commit_callbacks
):
    _sign_up(visitor, django_capture_on_commit_callbacks)
    request = ConsentEvent.objects.get()
    stale = _Yesterday(salt=CONFIRM_SALT).sign_object({"e": request.pk, "t": request.token_id})
    for method in (visitor.get, visitor.post):
        response = method(f"/public/consent/confirm/{stale}/")
        assert response.status_code == 410 and "expired" in response.content.decode()
    assert ConsentEvent.objects.count() == 1 and not _allowed(request.contact_id)


def test_a_filled_honeypot_is_thanked_and_ignored(
    signup_purpose, visitor, smtp, django_capture_on_commit_callbacks
):
    response = _sign_up(visitor, django_capture_on_commit_callbacks, website="http://spam.example")
    assert response.status_code == 200 and "Check your mailbox" in response.content.decode()
    assert not Contact.objects.exists() and not ConsentEvent.objects.exists()
    assert smtp.messages == []


def test_too_many_sign_ups_from_one_address_are_refused_for_a_while(
    signup_purpose, visitor, smtp, django_capture_on_commit_callbacks, settings
):
    settings.RAPPORT_CONSENT_SIGNUP_LIMIT = 2
    for n in range(2):
        assert (
            _sign_up(
                visitor, django_capture_on_commit_callbacks, email=f"p{n}@example.org"
            ).status_code
            == 200
        )
    refused = _sign_up(visitor, django_capture_on_commit_callbacks, email="p9@example.org")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many sign-ups" in refused.content.decode()
    assert not Email.objects.filter(address="p9@example.org").exists()
    assert ConsentEvent.objects.count() == 2 and len(smtp.messages) == 2
    other = Client(enforce_csrf_checks=True, REMOTE_ADDR="192.0.2.77")
    assert (
        _sign_up(other, django_capture_on_commit_callbacks, email="p9@example.org").status_code
        == 200
    )


def test_one_address_gets_at_most_three_mails_a_day_and_one_pending_request(
    signup_purpose, smtp, django_capture_on_commit_callbacks
):
    for n in range(5):
        client = Client(REMOTE_ADDR=f"192.0.2.{n + 1}")
        assert _sign_up(client, django_capture_on_commit_callbacks).status_code == 200
    assert len(smtp.to("ada@example.org")) == 3
    assert ConsentEvent.objects.count() == 1  # the same request, mailed again


def test_a_form_without_its_token_or_with_a_bad_address_records_nothing(
    signup_purpose, visitor, smtp, django_capture_on_commit_callbacks
):
    no_token = visitor.post(FORM, {"email": "ada@example.org", "form_token": "made-up"})
    assert no_token.status_code == 422 and "This form has expired" in no_token.content.decode()
    bad = _sign_up(visitor, django_capture_on_commit_callbacks, email="not an address")
    assert bad.status_code == 422 and "Email" in bad.content.decode()
    assert not Contact.objects.exists() and not ConsentEvent.objects.exists() and not smtp.messages


def test_closed_or_unknown_forms_are_not_found(alice, visitor, signup_purpose):
    make_purpose(alice, "quiet", text="Yes.")
    assert visitor.get("/public/consent/quiet/").status_code == 404
    assert visitor.get("/public/consent/nope/").status_code == 404


def test_the_form_may_be_framed_only_by_the_sites_configured(signup_purpose, visitor, settings):
    alone = visitor.get(FORM)
    assert "frame-ancestors 'none'" in alone["Content-Security-Policy"]
    assert alone["X-Frame-Options"] == "DENY"
    settings.RAPPORT_CONSENT_EMBED_ORIGINS = ["https://www.example.com"]
    framed = visitor.get(FORM)
    assert "frame-ancestors https://www.example.com" in framed["Content-Security-Policy"]
    assert "X-Frame-Options" not in framed
