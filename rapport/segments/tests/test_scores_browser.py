"""The score editor in a real Chromium: an admin adds a rule without saving, fills in a
match rule and a decayed activity rule, saves, and the score's page reads well on a
phone."""

from __future__ import annotations

import os

import pytest

from rapport.contacts.tests.test_browser import _no_horizontal_scroll, _sign_in, page  # noqa: F401

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = pytest.mark.browser


def test_an_admin_defines_a_score_in_the_browser(page):  # noqa: F811
    from playwright.sync_api import expect

    from rapport.access.models import User
    from rapport.contacts.services import tag_create
    from rapport.contacts.tests.factories import make_contact
    from rapport.segments import services
    from rapport.segments.models import Score

    _sign_in(page)
    tag_create(actor=User.objects.get(username="alice"), data={"name": "vip"})
    make_contact(given_name="Ada", family_name="Lovelace", tags=["vip"])

    page.goto(page.base_url + "/scores/new/")
    page.get_by_label("Name", exact=True).fill("Engagement")
    page.locator("#rule-0-kind").select_option("match")
    page.locator("#rule-0-points").fill("15")
    page.locator("#rule-0-match-query").fill("tag:vip")
    page.get_by_role("button", name="Add a rule").click()
    page.locator("#rule-1-kind").select_option("activity")
    page.locator("#rule-1-points").fill("2")
    page.locator("#rule-1-activity-interaction").select_option("email")
    page.locator("#rule-1-activity-half_life_days").fill("14")
    page.get_by_role("button", name="Save score").click()
    expect(page.get_by_role("heading", name="Engagement", exact=True)).to_be_visible()
    score = Score.objects.get()
    assert [r.summary for r in score.rules.all()] == [
        "+15 when tag:vip",
        "+2 per email in the last 90 days, halved every 14 days",
    ]

    services.scores_refresh(score=score)
    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()
    expect(page.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    _no_horizontal_scroll(page)
    page.goto(page.base_url + f"/scores/{score.pk}/edit/")
    _no_horizontal_scroll(page)
