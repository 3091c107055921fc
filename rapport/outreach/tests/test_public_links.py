"""The links in every mail: the one-click unsubscribe (a GET only shows a page, the POST
unsubscribes, recorded in the ledger as given by the person) and the preference page;
forged and expired links change nothing."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from django.test import Client
from django.utils import timezone

from rapport.activity.tests.tasks_support import Inbox, smtp_fixture  # noqa: F401 (fixture)
from rapport.consent.models import ConsentEvent
from rapport.consent.selectors import consent_event_get, consent_verdict
from rapport.consent.tests.support import make_purpose, record
from rapport.outreach.models import ContactPreferences
from rapport.outreach.services import sending

pytestmark = pytest.mark.django_db


@pytest.fixture
def newsletter(alice):
    return make_purpose(alice, "bulletin", is_marketing=True)


@pytest.fixture
def sent(bob, alice, make_contact, newsletter, smtp: Inbox):
    ann = make_contact("Ann Lee", email="ann@example.com")
    record(alice, ann, "grant", purpose="bulletin", method="checkbox")
    result = sending.message_send(
        actor=bob,
        contact=ann,
        purpose="bulletin",
        subject="News",
        body_text="Hello",
        kind="bulk",
        base_url="http://testserver",
    )
    assert result.status == "sent"
    [mail] = smtp.messages
    return ann, mail


def _unsubscribe_url(mail) -> str:
    header = " ".join(str(mail["List-Unsubscribe"]).split())
    return re.search(r"<http://testserver(/public/u/[^>]+)>", header).group(1)


def _allowed(contact) -> bool:
    return consent_verdict(
        contact_id=contact.pk, purpose="bulletin", channel="email", at=timezone.now()
    ).allowed


def test_a_get_on_the_unsubscribe_link_only_shows_a_page(sent):
    ann, mail = sent
    before = ConsentEvent.objects.count()
    page = Client().get(_unsubscribe_url(mail))
    assert page.status_code == 200
    assert b'<button type="submit">Unsubscribe</button>' in page.content
    assert ConsentEvent.objects.count() == before
    assert _allowed(ann)


def test_the_one_click_post_unsubscribes_once_as_given_by_the_person(sent):
    ann, mail = sent
    url = _unsubscribe_url(mail)
    client = Client(enforce_csrf_checks=True)
    response = client.post(url, {"List-Unsubscribe": "One-Click"}, HTTP_USER_AGENT="MailClient/1.0")
    assert response.status_code == 200, response.content
    assert b"You are unsubscribed" in response.content
    assert not _allowed(ann)
    event = ConsentEvent.objects.order_by("-seq").first()
    assert (event.action, event.channel, event.source, event.method, event.recorded_by_id) == (
        "withdraw",
        "email",
        "email_link",
        "one_click",
        None,
    )
    again = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    assert ConsentEvent.objects.filter(action="withdraw").count() == 1


def test_forged_and_expired_links_change_nothing(sent, settings):
    ann, mail = sent
    url = _unsubscribe_url(mail)
    before = ConsentEvent.objects.count()
    forged = url[:-6] + ("A" if url[-6] != "A" else "B") + url[-5:]
    response = Client().post(forged)
    assert response.status_code == 400 and b"This link is not valid" in response.content
    settings.RAPPORT_LINK_DAYS = 0
    expired = Client().post(url)
    assert expired.status_code == 410 and b"This link has expired" in expired.content
    assert ConsentEvent.objects.count() == before
    assert _allowed(ann)
    page = Client().get(re.sub(r"/public/u/", "/public/p/", forged))
    assert page.status_code == 400


def _preference_url(mail) -> str:
    return re.search(r"http://testserver(/public/p/\S+/)", Inbox.text(mail)).group(1)


def test_the_preference_page_changes_channels_hours_and_topics_as_the_person(sent, alice):
    ann, mail = sent
    url = _preference_url(mail)
    client = Client(enforce_csrf_checks=True)
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="topics" value="bulletin" checked' in page.content
    token = page.cookies["csrftoken"].value
    form = {
        "csrfmiddlewaretoken": token,
        "channel_sms": "refused",
        "hours_mon": "09:00-12:00, 14:00-17:00",
        "language": "fr",
    }
    saved = client.post(url, form)
    assert saved.status_code == 200, saved.content
    assert b"Unsubscribed: bulletin" in saved.content
    prefs = ContactPreferences.objects.get(contact=ann)
    assert (prefs.sms, prefs.email, prefs.language) == ("refused", "", "fr")
    assert prefs.hours is not None
    assert prefs.updated_by is None
    assert not _allowed(ann)
    # both changes are in the ledger as given by the person, with what changed in words
    changes, withdrawal = ConsentEvent.objects.order_by("-seq")[:2][::-1]
    assert (withdrawal.action, withdrawal.source) == ("withdraw", "preference_page")
    assert (changes.action, changes.source, changes.method) == (
        "set_preferences",
        "preference_page",
        "form",
    )
    assert changes.recorded_by_id is None and changes.purpose_id is None
    view = consent_event_get(actor=alice, event_id=changes.pk)
    assert view.note == (
        "SMS: not said → no; Mon hours: (none) → 09:00-12:00, 14:00-17:00; Language: (none) → fr"
    )
    assert view.ip_address == "127.0.0.1"

    # saving the same choices again adds nothing
    before = ConsentEvent.objects.count()
    form["topics"] = []
    assert client.post(url, form).status_code == 200
    assert ConsentEvent.objects.count() == before


def test_the_preference_page_needs_its_csrf_token_and_names_bad_hours(sent):
    ann, mail = sent
    url = _preference_url(mail)
    client = Client(enforce_csrf_checks=True)
    assert client.post(url, {"language": "fr"}).status_code == 403
    token = client.get(url).cookies["csrftoken"].value
    bad = client.post(url, {"csrfmiddlewaretoken": token, "hours_tue": "9h", "topics": "bulletin"})
    assert bad.status_code == 422
    assert not ContactPreferences.objects.filter(contact=ann).exists()


def test_unsubscribing_from_everything_objects_to_direct_marketing(sent):
    ann, mail = sent
    url = _preference_url(mail)
    client = Client()
    client.post(url, {"topics": "bulletin", "unsubscribe_all": "yes"})
    actions = list(ConsentEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-2:] == ["withdraw", "object_marketing"]
    assert not _allowed(ann)


def test_the_preference_page_is_rate_limited(sent, settings):
    _, mail = sent
    settings.RAPPORT_PREFERENCE_PAGE_LIMIT = 2
    url = _preference_url(mail)
    client = Client()
    codes = [client.post(url, {"topics": "bulletin"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def _unsubscribe_mail(to: str, subject: str, sender: str = "ann@example.com") -> bytes:
    return (
        f"From: Ann Lee <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        "Date: Mon, 09 Mar 2026 10:00:00 +0000\r\n"
        f"Message-ID: <{abs(hash((to, subject, sender)))}@example.com>\r\n\r\nPlease stop.\r\n"
    ).encode()


def test_an_unsubscribe_mail_to_the_mailto_address_withdraws(
    bob, alice, make_contact, newsletter, smtp: Inbox, settings
):
    from rapport.activity.mail.intake import mail_capture

    settings.RAPPORT_UNSUBSCRIBE_MAILTO = "Unsubscribe <unsubscribe@crm.example.com>"
    ann = make_contact("Ann Lee", email="ann@example.com")
    record(alice, ann, "grant", purpose="bulletin", method="checkbox")
    sending.message_send(
        actor=bob,
        contact=ann,
        purpose="bulletin",
        subject="News",
        body_text="Hello",
        kind="bulk",
        base_url="http://testserver",
    )
    [mail] = smtp.messages
    header = " ".join(str(mail["List-Unsubscribe"]).split())
    found = re.search(
        r"<mailto:unsubscribe@crm\.example\.com\?subject=unsubscribe%20([^>]+)>", header
    )
    assert found, header
    token = unquote(found.group(1))  # as the person's mail program decodes it

    # a forged token, or the right subject to another address: nothing changes
    mail_capture(
        _unsubscribe_mail("unsubscribe@crm.example.com", "unsubscribe " + token[:-3] + "xyz"),
        owner=bob,
    )
    mail_capture(_unsubscribe_mail("sales@crm.example.com", "unsubscribe " + token), owner=bob)
    assert _allowed(ann)
    assert not ConsentEvent.objects.filter(action="withdraw").exists()

    # the mail the person's mail program sends from the header, read from a mailbox
    mail_capture(
        _unsubscribe_mail("unsubscribe@crm.example.com", "unsubscribe " + token), owner=bob
    )
    assert not _allowed(ann)
    event = ConsentEvent.objects.get(action="withdraw")
    assert (event.source, event.method, event.channel) == ("email_link", "email", "email")
    assert event.recorded_by_id is None
    # read again (a second mailbox, a re-run): still one withdrawal
    mail_capture(
        _unsubscribe_mail("unsubscribe@crm.example.com", "Re: unsubscribe " + token, "a@b.example"),
        owner=bob,
    )
    assert ConsentEvent.objects.filter(action="withdraw").count() == 1
