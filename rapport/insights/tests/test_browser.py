"""The dashboard in a real Chromium: charts drawn by the vendored Chart.js (no request
leaves the machine), the table beneath a chart holding the same figures, a KPI's
sparkline, and a number that opens the contacts behind it."""

from __future__ import annotations

import os

import pytest

from rapport.contacts.tests.test_browser import _sign_in, page  # noqa: F401 (fixture)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = pytest.mark.browser


def test_the_dashboard_draws_its_charts_and_drills_into_contacts(page):  # noqa: F811
    from playwright.sync_api import expect

    from rapport.access.models import User
    from rapport.contacts.tests.factories import make_contact
    from rapport.insights import services

    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    outside: list[str] = []
    page.on(
        "request", lambda r: outside.append(r.url) if not r.url.startswith(page.base_url) else None
    )
    _sign_in(page)
    alice = User.objects.get(username="alice")
    for n in range(4):
        make_contact(given_name=f"New{n}", family_name="Person", source="Referral")
    services.snapshot()
    services.kpi_create(
        actor=alice,
        data={"name": "Contacts", "metric": "contacts", "baseline_value": 1, "target_value": 10},
    )
    services.snapshot()

    page.goto(page.base_url + "/insights/?days=30")
    canvas = page.locator('canvas[data-chart="new_contacts-source"]')
    expect(canvas).to_be_visible()
    # Chart.js drew it: the canvas holds a chart instance and non-blank pixels
    page.wait_for_function(
        "() => window.Chart && !!window.Chart.getChart("
        "document.querySelector('canvas[data-chart=\"new_contacts-source\"]'))"
    )
    # the same figures as a table, one click away
    page.get_by_text("Data table").first.click()
    table = (
        page.locator("#h-new_contacts-source").locator("xpath=ancestor::figure").locator("table")
    )
    expect(table.locator("thead")).to_contain_text("Referral")
    expect(table.locator("tbody")).to_contain_text("4")
    # the KPI's card: figures and its sparkline drawn
    expect(page.locator(".kpi-card")).to_contain_text("Improving")
    # a headline number opens the contacts behind it
    page.locator(".headline", has_text="New contacts").get_by_role("link").click()
    expect(page.locator("h2#h-records")).to_contain_text("4 contacts")
    expect(page.get_by_role("link", name="New0 Person")).to_be_visible()
    assert outside == [], outside
    assert errors == [], errors
