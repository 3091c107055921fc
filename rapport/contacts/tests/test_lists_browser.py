"""The contact list in a real Chromium: select a range with shift-click, tag it; phone rows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rapport.contacts.tests.test_browser import (  # noqa: F401  (the page fixture)
    PHONE_WIDTH,
    _no_horizontal_scroll,
    _sign_in,
    page,
)

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("RAPPORT_SHOTS", "/tmp/shots-lists"))
# A phone row shows the tick box, the name and one line under it.
PHONE_ROW_MAX_HEIGHT = 72


def _shot(page, name: str) -> None:  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_user_ticks_a_range_with_shift_and_tags_it(page):  # noqa: F811
    from playwright.sync_api import expect

    from rapport.contacts.models import Contact
    from rapport.contacts.tests.factories import employ, make_contact, make_organization

    _sign_in(page)
    acme = make_organization(name="Analytical Engines Ltd")
    names = ["Ada Byron", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov"]
    for name in names:
        given, family = name.split()
        contact = make_contact(
            given_name=given,
            family_name=family,
            job_title="Engineer",
            emails=[{"address": f"{given.lower()}@example.com"}],
            phones=[{"number": "+44 20 7946 0018"}],
            tags=["Pioneer"],
        )
        employ(contact, acme)
    page.goto(page.base_url + "/contacts/")
    results = page.locator("#results")
    expect(results).to_contain_text("5 contacts")

    rows = page.locator("input[data-bulk-row]")
    rows.nth(1).check()  # Alan Turing (name order: Ada, Alan, Barbara, Edsger, Grace)
    rows.nth(3).click(modifiers=["Shift"])  # through Edsger Dijkstra
    expect(page.locator("[data-bulk-status]")).to_have_text("3 selected")
    assert [rows.nth(i).is_checked() for i in range(5)] == [False, True, True, True, False]

    page.get_by_label("Action for the selected contacts").select_option("tag")
    page.get_by_label("Tag to add or remove").fill("Laureate")
    expect(page.get_by_label("New owner")).to_be_hidden()
    _shot(page, "contacts-selected-1280")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".flash")).to_contain_text("Tag “Laureate” added to 3 contacts.")
    tagged = Contact.objects.filter(tags__name="Laureate").values_list("given_name", flat=True)
    assert sorted(tagged) == ["Alan", "Barbara", "Edsger"]
    _shot(page, "contacts-tagged-1280")

    page.get_by_text("Columns", exact=True).click()
    _shot(page, "contacts-columns-1280")
    page.get_by_text("Columns", exact=True).click()

    # The whole page, then every match; delete asks first.
    page.get_by_label("Select every contact on this page").check()
    expect(page.locator("[data-bulk-status]")).to_have_text("5 selected")
    page.get_by_label("Action for the selected contacts").select_option("delete")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete 5 contacts?")
    _shot(page, "contacts-confirm-delete-1280")
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contacts")
    assert Contact.objects.count() == 5

    from rapport.access.models import User
    from rapport.contacts.models import BulkJob

    job = BulkJob.objects.create(
        action="set_stage",
        value="customer",
        ids=list(Contact.objects.values_list("pk", flat=True)),
        total=5,
        done=2,
        status="running",
        started_by=User.objects.get(username="alice"),
    )
    page.goto(page.base_url + f"/contacts/bulk/{job.pk}/")
    expect(page.locator("#bulk-progress")).to_contain_text("2 of 5 contacts")
    _shot(page, "bulk-progress-1280")
    BulkJob.objects.filter(pk=job.pk).update(status="done", done=5, changed=5)
    expect(page.locator("#bulk-progress")).to_contain_text(
        "Lifecycle stage set to Customer on 5 contacts.", timeout=5_000
    )

    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    page.goto(page.base_url + "/contacts/")
    heights = page.eval_on_selector_all(
        "table.contact-table tbody tr:not(.load-more-row)",
        "rows => rows.map(r => r.getBoundingClientRect().height)",
    )
    assert len(heights) == 5
    assert max(heights) <= PHONE_ROW_MAX_HEIGHT, f"phone rows are {heights} px tall"
    _no_horizontal_scroll(page)
    _shot(page, "contacts-390")
    page.locator("input[data-bulk-row]").first.check()
    page.get_by_label("Action for the selected contacts").select_option("set_stage")
    expect(page.get_by_label("New lifecycle stage")).to_be_visible()
    _no_horizontal_scroll(page)
    _shot(page, "contacts-selected-390")

    page.goto(page.base_url + "/organizations/")
    _no_horizontal_scroll(page)
    _shot(page, "organizations-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(page.base_url + "/organizations/")
    _shot(page, "organizations-1280")


def test_a_user_ticks_a_range_of_organizations_with_shift_and_tags_it(page):  # noqa: F811
    from playwright.sync_api import expect

    from rapport.contacts.models import Organization
    from rapport.contacts.tests.factories import make_organization

    _sign_in(page)
    for name in ("Acme", "Globex", "Initech", "Soylent", "Umbrella"):
        make_organization(name=name, industry="Manufacturing")
    page.goto(page.base_url + "/organizations/")
    expect(page.locator("#results")).to_contain_text("5 organizations")
    expect(page.locator("[data-bulk-status]")).to_have_text(
        "Tick organizations to tag, export, merge or delete them."
    )

    rows = page.locator("input[data-bulk-row]")
    rows.nth(1).check()  # Globex
    rows.nth(3).click(modifiers=["Shift"])  # through Soylent
    expect(page.locator("[data-bulk-status]")).to_have_text("3 selected")
    assert [rows.nth(i).is_checked() for i in range(5)] == [False, True, True, True, False]

    action = page.get_by_label("Action for the selected organizations")
    assert "set_stage" not in action.locator("option").evaluate_all("o => o.map(x => x.value)")
    action.select_option("tag")
    page.get_by_label("Tag to add or remove").fill("Supplier")
    _shot(page, "organizations-selected-1280")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".flash")).to_contain_text("Tag “Supplier” added to 3 organizations.")
    tagged = Organization.objects.filter(tags__name="Supplier").values_list("name", flat=True)
    assert sorted(tagged) == ["Globex", "Initech", "Soylent"]

    page.get_by_label("Select every organization on this page").check()
    action.select_option("delete")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete 5 organizations?")
    page.get_by_role("button", name="Cancel").click()
    assert Organization.objects.count() == 5

    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    page.goto(page.base_url + "/organizations/")
    heights = page.eval_on_selector_all(
        "table.organization-table tbody tr:not(.load-more-row)",
        "rows => rows.map(r => r.getBoundingClientRect().height)",
    )
    assert len(heights) == 5 and max(heights) <= PHONE_ROW_MAX_HEIGHT, heights
    _no_horizontal_scroll(page)
    _shot(page, "organizations-selectable-390")
