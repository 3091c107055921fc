"""Sending an email from a contact's page in a real Chromium: the form opens in place,
the gate's decision shows as soon as a purpose is chosen, and the sent mail is on the
timeline."""

from __future__ import annotations

import os

import pytest

from rapport.activity.tests.tasks_support import Inbox, smtp_fixture  # noqa: F401 (fixture)
from rapport.contacts.tests.test_browser import _sign_in, page  # noqa: F401 (fixture)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = pytest.mark.browser


def test_an_email_is_composed_checked_against_the_gate_and_sent_from_the_contact_page(
    page,  # noqa: F811
    smtp: Inbox,
):
    from playwright.sync_api import expect

    from rapport.access.models import User
    from rapport.contacts.services import contact_create
    from rapport.outreach.services.preferences import contact_preferences_set

    _sign_in(page)
    alice = User.objects.get(username="alice")
    ann = contact_create(
        actor=alice,
        data={"full_name": "Ann Lee", "emails": [{"address": "ann@example.com"}]},
        via="ui",
    )
    contact_preferences_set(
        actor=alice, contact=ann, data={"channels": {"email": "refused"}}, via="ui"
    )
    page.goto(f"{page.base_url}/contacts/{ann.pk}/")
    page.get_by_role("button", name="Send email").click()
    form = page.locator("#compose")
    expect(form).to_be_visible()
    form.get_by_label("Purpose").select_option("sales")
    expect(form.locator("[data-verdict]")).to_have_attribute("data-verdict", "blocked")
    expect(form.locator("#compose-verdict")).to_contain_text("No time will do")
    # they change their mind: email is fine again
    contact_preferences_set(
        actor=alice, contact=ann, data={"channels": {"email": "allowed"}}, via="ui"
    )
    form.get_by_label("Purpose").select_option("support")
    expect(form.locator("[data-verdict]")).to_have_attribute("data-verdict", "allowed")
    form.get_by_role("button", name="Send now").click()
    expect(form.get_by_text("Subject: Give a subject, or a template.")).to_be_visible()
    page.locator("#compose").get_by_label("Subject").fill("Hello Ann")
    page.locator("#compose").get_by_label("Message").fill("A short note.")
    page.locator("#compose").get_by_role("button", name="Send now").click()
    expect(page.get_by_text("The message was sent.")).to_be_visible()
    assert page.url.endswith(f"/contacts/{ann.pk}/")
    expect(page.get_by_text("Hello Ann").first).to_be_visible()
    [mail] = smtp.to("ann@example.com")
    assert mail["Subject"] == "Hello Ann"
