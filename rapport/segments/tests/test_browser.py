"""The segment editor in a real Chromium: a query built with the visual builder writes
its text, a query typed as text redraws the builder, both are one tree, and the live
count follows; the saved segment lists its members."""

from __future__ import annotations

import os

import pytest

from rapport.contacts.tests.test_browser import _sign_in, page  # noqa: F401 (fixture)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = pytest.mark.browser


def test_the_builder_and_the_text_are_one_query(page):  # noqa: F811
    from playwright.sync_api import expect

    from rapport.access.models import User
    from rapport.contacts.services import tag_create
    from rapport.contacts.tests.factories import make_contact
    from rapport.segments.models import Segment

    _sign_in(page)
    alice = User.objects.get(username="alice")
    tag_create(actor=alice, data={"name": "vip"})
    for n in range(3):
        make_contact(given_name=f"Vip{n}", family_name="Person", tags=["vip"],
                     addresses=[{"locality": "Paris" if n else "Berlin", "country": "FR" if n else "DE"}])  # fmt: skip
    make_contact(given_name="Other", family_name="Person")

    page.goto(page.base_url + "/segments/new/")
    page.wait_for_load_state("load")
    builder = page.locator("[data-builder]")
    text = page.locator("#segment-query")
    expect(builder.get_by_label("Field")).to_have_count(1)

    # built with the builder: the text follows, and the count
    builder.get_by_label("Field").fill("tag")
    builder.get_by_label("Value").fill("vip")
    expect(text).to_have_value("tag:vip")
    expect(page.locator("[data-preview-count]")).to_have_text("3")
    builder.get_by_role("button", name="Add condition").click()
    builder.get_by_label("Field").nth(1).fill("city")
    builder.get_by_label("Value").nth(1).fill("Paris")
    expect(text).to_have_value("tag:vip AND city:Paris")
    expect(page.locator("[data-preview-count]")).to_have_text("2")

    # typed as text: the builder is redrawn from the same tree
    text.fill("tag:vip AND NOT (city:Paris OR city:Lyon)")
    text.press("End")
    expect(builder.locator(".builder-group .builder-group")).to_have_count(1)
    expect(builder.get_by_label("Match").nth(1)).to_have_value("or")
    expect(builder.get_by_label("Value").nth(2)).to_have_value("Lyon")
    expect(page.locator("[data-preview-count]")).to_have_text("1")

    # every kind of count reads back as itself: orders and revenue too
    text.fill("orders(last:365d)>=2 OR revenue(last:90d)>100")
    text.press("End")
    expect(builder.get_by_label("Count of").first).to_have_value("orders")
    expect(builder.get_by_label("Count of").nth(1)).to_have_value("revenue")
    builder.get_by_label("Number").first.fill("3")
    expect(text).to_have_value("orders(last:365d)>=3 OR revenue(last:90d)>100")

    # a mistake names its place, the builder keeps the last query it could read
    text.fill("tag:vip AND")
    text.press("End")
    expect(page.locator("[data-preview-error]")).to_contain_text("at 12")

    text.fill("tag:vip AND NOT (city:Paris OR city:Lyon)")
    page.get_by_label("Name", exact=True).fill("VIPs outside Paris")
    page.get_by_role("button", name="Save segment").click()
    page.wait_for_url("**/segments/*/")
    assert Segment.objects.get().query == "tag:vip AND NOT (city:Paris OR city:Lyon)"
    expect(page.get_by_role("link", name="Vip0 Person", exact=True)).to_be_visible()
    page.get_by_role("link", name="Why? Vip0 Person is in the segment").click()
    expect(page.locator("#why")).to_contain_text("in the segment")
