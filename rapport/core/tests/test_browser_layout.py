"""The header, navigation, focus and Content-Security-Policy in a real Chromium at 1280 and 390 px.

Set RAPPORT_SCREENSHOTS=/some/folder to keep a screenshot of each main page at both widths.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rapport.contacts.tests.test_browser import _no_horizontal_scroll, _sign_in, page  # noqa: F401

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# Collects what the browser refuses under the Content-Security-Policy; injected before any
# page script runs (init scripts are not subject to the page's policy).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def _data() -> dict[str, int]:
    from rapport.contacts.services import tag_create
    from rapport.contacts.tests.factories import _actor, employ, make_contact, make_organization

    tag_create(actor=_actor(None), data={"name": "VIP", "color": "#fde68a"})
    org = make_organization(name="Analytical Engines Ltd", website="https://engines.example",
                            tags=["VIP"])  # fmt: skip
    ada = make_contact(given_name="Ada", family_name="Lovelace", job_title="Analyst",
                       phones=[{"number": "+44 20 7946 0018"}], tags=["VIP", "speaker"])  # fmt: skip
    make_contact(given_name="Adam", family_name="Smith", emails=[{"address": "adam@gmail.com"}])
    other = make_contact(given_name="Ada", family_name="King", emails=[])
    employ(ada, org, title="Analyst", buying_role="champion")
    return {"contact": ada.pk, "organization": org.pk, "other": other.pk}


def _main_pages(ids: dict[str, int]) -> list[tuple[str, str]]:
    return [
        ("contacts", "/contacts/"),
        ("contact", f"/contacts/{ids['contact']}/"),
        ("contact-edit", f"/contacts/{ids['contact']}/edit/"),
        ("organizations", "/organizations/"),
        ("organization", f"/organizations/{ids['organization']}/"),
        ("search", "/search/?q=ada"),
        ("imports", "/imports/"),
        ("quality", "/quality/"),
        ("quality-problem", "/quality/problems/no_phone/"),
        ("quality-suggestions", "/quality/suggestions/"),
        ("organization-new", "/organizations/new/"),
        ("affiliation-new", f"/contacts/{ids['contact']}/affiliations/new/"),
        ("merge-compare", f"/merges/contacts/new/?ids={ids['contact']}&ids={ids['other']}"),
        ("not-found", "/no-such-page/"),
        ("duplicates", "/duplicates/"),
        ("merges", "/merges/"),
        ("merge-start", f"/merges/contacts/new/?ids={ids['contact']}"),
        ("tags", "/tags/"),
        ("custom-fields", "/settings/custom-fields/"),
        ("users", "/users/"),
        ("tokens", "/tokens/"),
        ("api-docs", "/api/v1/docs"),
    ]


def _shoot(page, name: str) -> None:  # noqa: F811
    folder = os.environ.get("RAPPORT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _header_height(page) -> float:  # noqa: F811
    return page.evaluate("document.querySelector('.app-header').getBoundingClientRect().height")


def test_main_pages_load_without_csp_violations_and_fit_both_widths(page):  # noqa: F811
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.context.add_init_script(WATCH_CSP)
    ids = _data()
    _sign_in(page)

    for width, viewport in (("1280", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(viewport)
        for name, path in _main_pages(ids):
            page.goto(page.base_url + path)
            page.wait_for_load_state("networkidle")
            if name == "api-docs":
                page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
            else:
                assert _header_height(page) <= 64, f"{path} header at {width} px"
                current = page.locator('.app-nav [aria-current="page"]').count()
                assert current == (0 if name in ("search", "not-found") else 1), (
                    f"{path}: {current} current items"
                )
            _no_horizontal_scroll(page)
            assert page.evaluate("window.__cspViolations") == [], path
            if name in ("contacts", "contact", "organization", "tags"):
                colour = page.locator(".tag", has_text="VIP").first.evaluate(
                    "e => getComputedStyle(e).backgroundColor"
                )
                assert colour == "rgb(253, 230, 138)", f"{path}: the tag colour is {colour}"
            _shoot(page, f"{name}-{width}")

    assert [e for e in errors if "Content Security Policy" in e or "Refused" in e] == []


def test_the_desktop_header_is_one_row_and_search_is_one_key_away(page):  # noqa: F811
    from playwright.sync_api import expect

    page.context.add_init_script(WATCH_CSP)
    _data()
    _sign_in(page)

    items = page.locator(".app-nav__list > li")
    tops = {round(box["y"]) for box in (items.nth(i).bounding_box() for i in range(items.count()))}
    assert len(tops) == 1, "the navigation wraps at 1280 px"
    assert _header_height(page) <= 64

    # "/" from anywhere that is not a text field focuses the search.
    page.locator("h1").click()
    page.keyboard.press("/")
    search = page.locator("#global-q")
    expect(search).to_be_focused()
    search.press_sequentially("ada", delay=30)
    options = page.locator("#global-search-results a")
    expect(options.first).to_be_visible()  # htmx works under the policy
    expect(page.locator("#global-search-results")).to_contain_text("Ada Lovelace")
    page.keyboard.press("ArrowDown")
    expect(options.first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(options.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(search).to_be_focused()
    page.keyboard.press("Escape")
    expect(options).to_have_count(0)

    # A typed "/" inside a text field stays text.
    page.goto(page.base_url + "/contacts/")
    list_search = page.get_by_label("Search contacts", exact=True)
    list_search.press_sequentially("a/b")
    expect(list_search).to_have_value("a/b")
    expect(page.locator("#results")).to_contain_text("No contacts match")

    # The list refreshes as the user types; leaving the box does not fetch it again.
    requests: list[str] = []
    # (Each refresh is followed by its count, fetched on its own: not counted here.)
    page.on(
        "request",
        lambda r: (
            requests.append(r.url)
            if "/contacts/?" in r.url and "fragment=count" not in r.url
            else None
        ),
    )
    list_search.fill("")
    list_search.press_sequentially("lovelace", delay=20)
    expect(page.locator("#results")).to_contain_text("Ada Lovelace")
    expect(page.locator("#results")).not_to_contain_text("Adam Smith")
    page.wait_for_timeout(400)
    typed = len(requests)
    page.keyboard.press("Tab")
    page.wait_for_timeout(600)
    assert len(requests) == typed, requests
    page.locator("#sort").select_option(index=1)  # other controls still refresh the list
    page.wait_for_timeout(800)
    assert len(requests) == typed + 1, requests

    # Keyboard focus shows a ring on nav links, group toggles and outline buttons.
    page.locator("h1").click()
    page.keyboard.press("/")
    page.keyboard.press("Shift+Tab")  # the Settings group
    settings = page.locator(".nav-group__toggle", has_text="Settings")
    expect(settings).to_be_focused()
    for _ in range(5):
        page.keyboard.press("Shift+Tab")  # Data, Insights, Segments, Activity, then Organizations
    link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Organizations")
    expect(link).to_be_focused()
    _shoot(page, "focus-ring-1280")
    for element in (link, settings):
        element.focus()
        outline = element.evaluate(
            "e => { const s = getComputedStyle(e); return [s.outlineStyle, s.outlineWidth, s.boxShadow]; }"
        )
        assert outline[0] != "none" and outline[1] != "0px", outline

    link.focus()
    page.keyboard.press("Enter")  # open Organizations
    expect(page.get_by_role("heading", level=1)).to_have_text("Organizations")
    # Outline buttons and table links get the same ring.
    page.get_by_role("link", name="Analytical Engines Ltd").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Analytical Engines Ltd")).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.goto(page.base_url + "/contacts/")
    page.get_by_role("button", name="Import").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"

    # The Data group opens as a menu and its items are links.
    page.locator(".nav-group__toggle", has_text="Data").click()
    _shoot(page, "data-menu-1280")
    page.get_by_role("link", name="Duplicates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Duplicates")
    expect(page.locator('.app-nav [aria-current="page"]')).to_have_text("Duplicates")
    assert page.evaluate("window.__cspViolations") == []


def test_on_a_phone_the_menu_opens_and_cancel_is_quieter_than_save(page):  # noqa: F811
    from playwright.sync_api import expect

    from rapport.contacts.models import Contact

    page.context.add_init_script(WATCH_CSP)
    _data()
    _sign_in(page)
    page.set_viewport_size(PHONE)
    page.reload()

    assert _header_height(page) <= 64
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Organizations")).to_be_visible()
    nav.locator(".nav-group__toggle", has_text="Settings").click()
    _shoot(page, "menu-open-390")
    nav.get_by_role("link", name="Tags").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tags")

    # Suggestions use the phone's width, under the header.
    page.keyboard.press("/")
    page.locator("#global-q").press_sequentially("ada", delay=30)
    suggestions = page.locator("#global-search-results .search-dropdown__panel")
    expect(suggestions).to_contain_text("Ada Lovelace")
    assert suggestions.bounding_box()["width"] >= 360
    _shoot(page, "suggestions-390")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#global-search-results a").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tags")
    expect(nav).to_be_hidden()  # a new page starts with the menu closed

    toggle.click()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(toggle).to_be_focused()

    # On a phone the merge comparison still shows which record to keep.
    ids = {"a": Contact.objects.get(given_name="Ada", family_name="Lovelace").pk}
    ids["b"] = Contact.objects.get(family_name="King").pk
    page.goto(page.base_url + f"/merges/contacts/new/?ids={ids['a']}&ids={ids['b']}")
    expect(page.get_by_label("Keep Ada King", exact=False)).to_be_visible()
    _no_horizontal_scroll(page)

    page.goto(page.base_url + "/contacts/new/")
    cancel = page.get_by_role("button", name="Cancel")
    save = page.get_by_role("button", name="Create contact")
    background = "e => getComputedStyle(e).backgroundColor"
    assert cancel.evaluate(background) in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    assert save.evaluate(background) == "rgb(29, 78, 216)"
    assert page.evaluate("window.__cspViolations") == []
