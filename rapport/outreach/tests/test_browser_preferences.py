"""The person's side, in a real Chromium: a mail sent through a real SMTP server carries
a link to their preference page; opening it, they turn a channel off and unsubscribe
from one topic (subscribing to another), and the consent ledger records it as given by
them, not by staff."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

from rapport.activity.tests.tasks_support import Inbox, smtp_fixture  # noqa: F401 (fixture)
from rapport.contacts.tests.test_browser import page  # noqa: F401 (fixture)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = pytest.mark.browser


@pytest.fixture
def ledger_emptied_after(transactional_db) -> Iterator[None]:
    """A live-server test's database is flushed afterwards, which the append-only
    ledger refuses: empty its tables with the triggers lifted first (triggers back on)."""
    yield
    from django.db import connection

    from rapport.consent.tests.support import triggers_dropped
    from rapport.consent.triggers import PROTECTED

    with triggers_dropped():
        for table in PROTECTED:  # the events first: they point at the texts
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (our own table names)


def test_the_person_changes_a_channel_and_unsubscribes_from_a_topic_on_the_linked_page(
    page,  # noqa: F811
    ledger_emptied_after,
    alice,
    bob,
    make_contact,
    smtp: Inbox,
):
    from playwright.sync_api import expect

    from rapport.consent.models import ConsentEvent
    from rapport.consent.tests.support import make_purpose, record
    from rapport.outreach.models import ContactPreferences
    from rapport.outreach.services import sending

    make_purpose(alice, "bulletin", name="Monthly bulletin", is_marketing=True)
    make_purpose(alice, "events", name="Event invitations", is_marketing=True)
    ann = make_contact("Ann Lee", email="ann@example.com")
    record(alice, ann, "grant", purpose="bulletin", method="checkbox")
    result = sending.message_send(
        actor=bob,
        contact=ann,
        purpose="bulletin",
        subject="Our news",
        body_text="Hello {{ contact.given_name }}",
        kind="bulk",
        base_url=page.base_url,
    )
    assert result.status == "sent", result.message.reasons
    [mail] = smtp.to("ann@example.com")
    link = re.search(r"(http://\S+/public/p/\S+/)", Inbox.text(mail)).group(1)
    assert link.startswith(page.base_url)
    before = ConsentEvent.objects.count()

    page.goto(link)
    expect(page.get_by_role("heading", name="Your preferences")).to_be_visible()
    bulletin = page.get_by_role("checkbox", name="Monthly bulletin")
    events = page.get_by_role("checkbox", name="Event invitations")
    expect(bulletin).to_be_checked()
    expect(events).not_to_be_checked()
    bulletin.uncheck()
    events.check()
    page.locator("#channel_sms").select_option(label="No")
    page.get_by_role("button", name="Save my preferences").click()
    expect(page.get_by_role("status")).to_contain_text("Unsubscribed: bulletin")
    expect(page.get_by_role("status")).to_contain_text("Subscribed: events")
    expect(page.get_by_role("checkbox", name="Monthly bulletin")).not_to_be_checked()
    expect(page.locator("#channel_sms")).to_have_value("refused")

    rows = list(ConsentEvent.objects.filter(seq__gt=before).order_by("seq"))
    by_purpose = {e.purpose_key: e for e in rows}
    assert set(by_purpose) == {"", "bulletin", "events"}  # "": the channel change
    assert by_purpose[""].action == "set_preferences"
    withdrawn, granted = by_purpose["bulletin"], by_purpose["events"]
    assert (withdrawn.action, withdrawn.source) == ("withdraw", "preference_page")
    assert (granted.action, granted.source, granted.method) == (
        "grant",
        "preference_page",
        "checkbox",
    )
    assert granted.text_id is not None  # the text the person saw is what they agreed to
    # given by the person: no staff member recorded it
    assert all(e.recorded_by_id is None for e in rows)
    assert all(e.contact_id == ann.pk for e in rows)
    prefs = ContactPreferences.objects.get(contact=ann)
    assert prefs.sms == "refused"
    assert prefs.updated_by is None
