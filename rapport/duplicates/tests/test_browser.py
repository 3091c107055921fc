"""The duplicate review in a real Chromium: scan → queue → review with the keyboard →
merge → unmerge from the Merges page; and the warning while a contact is entered."""

from __future__ import annotations

import os

import pytest

from rapport.contacts.tests.test_browser import _no_horizontal_scroll, _sign_in, page  # noqa: F401

# Playwright's sync API runs an event loop in this thread; the ORM calls made by
# fixtures in the same thread are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = pytest.mark.browser


def _people() -> None:
    from rapport.contacts.tests.factories import make_contact

    make_contact(given_name="Robert", family_name="Miller",
                 emails=[{"address": "robert.miller@gmail.com"}], job_title="CTO")  # fmt: skip
    make_contact(given_name="Bob", family_name="Miller",
                 emails=[{"address": "robertmiller@gmail.com"}])  # fmt: skip
    make_contact(given_name="Liz", family_name="Taylor",
                 phones=[{"number": "+44 20 7946 0958"}])  # fmt: skip
    make_contact(given_name="Elizabeth", family_name="Taylor",
                 phones=[{"number": "+44 20 7946 0958"}])  # fmt: skip


def test_a_reviewer_scans_reviews_with_the_keyboard_merges_and_unmerges(page):  # noqa: F811
    from playwright.sync_api import expect

    from rapport.contacts.models import Contact
    from rapport.duplicates.models import DuplicateCluster

    _people()
    _sign_in(page)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_text("Data").click()
    nav.get_by_role("link", name="Duplicates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Duplicates")
    page.get_by_role("button", name="Scan for duplicates").click()
    expect(page.locator("#scan-status")).to_contain_text("2 clusters", timeout=20_000)
    page.reload()
    rows = page.locator("#cluster-list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Miller")  # the most likely first

    rows.first.get_by_role("button", name="Review").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("likely the same person")
    expect(page.locator(".dup-differs").first).to_be_visible()  # differing values marked
    expect(page.locator("#dup-compare")).to_contain_text("Bob Miller")
    first = page.url
    # the shortcuts are bound by a deferred script: wait for it before pressing keys
    page.wait_for_load_state("load")

    page.keyboard.press("n")  # not duplicates: on to the Taylors
    page.wait_for_url(lambda url: url != first)
    expect(page.locator("#dup-compare")).to_contain_text("Elizabeth Taylor")
    page.set_viewport_size({"width": 390, "height": 844})
    _no_horizontal_scroll(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.keyboard.press("m")  # merge with the suggested values
    page.wait_for_url("**/duplicates/")
    assert Contact.objects.filter(family_name="Taylor").count() == 1
    statuses = sorted(DuplicateCluster.objects.values_list("status", flat=True))
    assert statuses == ["dismissed", "merged"]

    # the message says what was merged and undoes it in two clicks
    page.locator(".flash-list").get_by_role("link", name="Undo merge").click()
    page.get_by_role("button", name="Unmerge").click()
    expect(page.locator(".flash-list")).to_be_visible()
    assert Contact.objects.filter(family_name="Taylor").count() == 2


def test_entering_a_likely_duplicate_offers_to_open_merge_or_create_anyway(page):  # noqa: F811
    from playwright.sync_api import expect

    from rapport.contacts.models import Contact
    from rapport.contacts.tests.factories import make_contact

    grace = make_contact(given_name="Grace", family_name="Hopper",
                         emails=[{"address": "grace.hopper@navy.example"}])  # fmt: skip
    _sign_in(page)
    page.goto(page.base_url + "/contacts/new/")
    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_label("Email address").fill("GRACE.HOPPER@navy.example")
    page.get_by_role("button", name="Create contact").click()
    panel = page.locator("#dup-entry")
    expect(panel).to_contain_text("This may be someone you already have")
    expect(panel.get_by_role("button", name="Open")).to_have_attribute(
        "href", f"/contacts/{grace.pk}/"
    )
    panel.get_by_role("button", name="Merge into it").click()
    page.wait_for_url(f"**/contacts/{grace.pk}/")
    assert Contact.objects.count() == 1
