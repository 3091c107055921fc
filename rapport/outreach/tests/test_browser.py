"""Preferences edited in place on a contact's page, in a real Chromium (htmx swaps the
box; a mistake keeps what was typed; the saved hours show at once)."""

from __future__ import annotations

import os

import pytest

from rapport.contacts.tests.test_browser import _sign_in, page  # noqa: F401 (fixture)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = pytest.mark.browser


def test_preferences_are_edited_in_place_from_the_contact_page(page):  # noqa: F811
    from playwright.sync_api import expect

    from rapport.access.models import User
    from rapport.contacts.services import contact_create

    _sign_in(page)
    ann = contact_create(
        actor=User.objects.get(username="alice"),
        data={"full_name": "Ann Lee", "time_zone": "Asia/Kathmandu"},
        via="ui",
    )
    page.goto(f"{page.base_url}/contacts/{ann.pk}/")
    box = page.locator("#outreach-panel")
    expect(box).to_contain_text("Email OK now")
    box.get_by_role("link", name="Edit preferences").click()
    expect(box.get_by_label("Monday")).to_be_visible()
    box.get_by_label("Monday").fill("09:00-12:00, 11:00-13:00")
    box.locator("#channel-sms").select_option("refused")
    box.get_by_role("button", name="Save").click()
    expect(box).to_contain_text("overlaps Monday 09:00–12:00")
    expect(box.get_by_label("Monday")).to_have_value("09:00-12:00, 11:00-13:00")
    box.get_by_label("Monday").fill("09:00-12:00, 14:00-17:00")
    box.get_by_role("button", name="Save").click()
    expect(box).to_contain_text("The preferences were saved.")
    expect(box).to_contain_text("No SMS")
    expect(box).to_contain_text("Mon 09:00–12:00, 14:00–17:00")
    assert page.url.endswith(f"/contacts/{ann.pk}/")
