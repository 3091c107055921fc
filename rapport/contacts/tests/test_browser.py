"""The main contact flow in a real Chromium: sign in, create with a mistake, fix, find, open."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls made by
# fixtures in the same thread are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE_WIDTH = 390


def _chromium() -> str:
    path = os.environ.get("RAPPORT_CHROMIUM") or shutil.which("chromium")
    if path and Path(path).exists():
        return path
    message = (
        "Chromium was not found (set RAPPORT_CHROMIUM or install Debian's chromium package); "
        "the browser tests need it."
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def page(live_server, transactional_db) -> Iterator[object]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        tab = context.new_page()
        tab.base_url = live_server.url  # type: ignore[attr-defined]
        # Every browser test also checks the Content-Security-Policy: anything the browser
        # refuses (an inline script or style, eval) is reported to the console.
        refused: list[str] = []
        tab.on(
            "console",
            lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
        )
        try:
            yield tab
            assert refused == [], f"the Content-Security-Policy refused: {refused}"
        finally:
            context.close()
            browser.close()
            # Queries made while Playwright's loop runs use their own connections;
            # close them so the test database can be dropped afterwards.
            from django.db import connections

            connections.close_all()


def _sign_in(page) -> None:
    from rapport.access.models import User

    User.objects.create_user(username="alice", password="correct horse battery", role="admin")
    page.goto(page.base_url + "/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/insights/")  # the home page: the dashboard
    page.goto(page.base_url + "/contacts/")


def _no_horizontal_scroll(page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways at {widths[1]} px: {widths}"


def test_a_user_creates_a_contact_fixes_a_mistake_and_finds_it_again(page):
    from playwright.sync_api import expect

    from rapport.contacts.tests.factories import make_contact

    _sign_in(page)
    make_contact(given_name="Alan", family_name="Turing")

    page.get_by_role("button", name="New contact").click()
    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_label("Email address").fill("grace@example.com")
    page.get_by_role("button", name="+ Add another email").click()
    expect(page.locator('input[name="emails-1-address"]')).to_be_focused()
    page.get_by_label("Phone number").fill("+1 555")
    page.get_by_role("button", name="Create contact").click()

    error = page.locator("#f-phones-0-number-error")
    expect(error).to_contain_text("not a valid phone number")
    expect(page.locator("#f-phones-0-number")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-phones-0-number")).to_have_value("+1 555")

    page.locator("#f-phones-0-number").fill("+44 20 7946 0018")
    page.get_by_role("button", name="Create contact").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Hopper")
    expect(page.locator(".flash")).to_contain_text("Grace Hopper was added.")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    expect(page.locator("#results")).to_contain_text("Alan Turing")
    page.get_by_label("Search contacts", exact=True).press_sequentially("hopp", delay=40)
    expect(page.locator("#results")).not_to_contain_text("Alan Turing")
    expect(page.locator("#results")).to_contain_text("Grace Hopper")
    assert "q=hopp" in page.url, "the search is kept in the address bar"

    page.locator("#results").get_by_role("link", name="Grace Hopper").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Hopper")
    expect(page.locator("main")).to_contain_text("+44 20 7946 0018")
    expect(page.locator("#timeline")).to_contain_text("created this contact")
    contact_url = page.url

    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    for path in ("/contacts/", contact_url, "/contacts/new/", contact_url + "edit/"):
        page.goto(path if path.startswith("http") else page.base_url + path)
        _no_horizontal_scroll(page)


def test_the_header_search_finds_people_and_organizations(page):
    from playwright.sync_api import expect

    from rapport.contacts.tests.factories import make_contact, make_organization

    _sign_in(page)
    make_contact(given_name="Ada", family_name="Lovelace")
    make_organization(name="Lovelace Computing")
    page.get_by_label("Search contacts and organizations").press_sequentially("lovel", delay=40)
    results = page.locator("#global-search-results")
    expect(results).to_contain_text("Ada Lovelace")
    expect(results).to_contain_text("Lovelace Computing")
    results.get_by_role("option", name="Lovelace Computing").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lovelace Computing")
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    _no_horizontal_scroll(page)
