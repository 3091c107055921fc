"""The main navigation, the security headers and the rule that templates hold no inline code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from rapport.contacts.tests.factories import make_contact, make_organization

RAPPORT = Path(settings.BASE_DIR)


def _main_nav(html: str) -> str:
    return html.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]


def _current(html: str) -> list[str]:
    nav = _main_nav(html)
    return re.findall(r'<a [^>]*aria-current="page"[^>]*>([^<]+)</a>', nav)


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/contacts/", "Contacts"),
        ("/contacts/new/", "Contacts"),
        ("/organizations/", "Organizations"),
        ("/imports/", "Import"),
        ("/quality/", "Quality"),
        ("/duplicates/", "Duplicates"),
        ("/merges/", "Merges"),
        ("/merges/contacts/new/", "Merges"),
        ("/merges/organizations/new/", "Merges"),
        ("/tags/", "Tags"),
        ("/settings/custom-fields/", "Custom fields"),
        ("/users/", "Users"),
        ("/tokens/", "API tokens"),
        ("/app-passwords/", "App passwords"),
        ("/outreach/bulk/", "Bulk sends"),
    ],
)
def test_each_page_marks_exactly_one_navigation_item_current(alice_client, path, current):
    response = alice_client.get(path)
    assert response.status_code == 200
    assert _current(response.content.decode()) == [current]


def test_record_pages_mark_their_section_and_nothing_else(alice_client):
    contact = make_contact(given_name="Ada", family_name="Lovelace")
    organization = make_organization(name="Analytical Engines")
    assert _current(alice_client.get(f"/contacts/{contact.pk}/").content.decode()) == ["Contacts"]
    org_page = alice_client.get(f"/organizations/{organization.pk}/").content.decode()
    assert _current(org_page) == ["Organizations"]
    merge_page = alice_client.get(f"/merges/contacts/new/?ids={contact.pk}").content.decode()
    assert merge_page.count('aria-current="page"') == 1


def test_the_navigation_groups_data_tools_and_settings(alice_client):
    nav = _main_nav(alice_client.get("/contacts/").content.decode())
    data = nav.split(">Data", 1)[1].split("</details>", 1)[0]
    for label in ("Import", "Quality", "Duplicates", "Merges", "Export all contacts (CSV)"):
        assert f">{label}</a>" in data
    settings_group = nav.split(">Settings", 1)[1].split("</details>", 1)[0]
    for label in ("Tags", "Custom fields", "Users", "API tokens"):
        assert f">{label}</a>" in settings_group
    assert 'aria-controls="app-nav"' in alice_client.get("/contacts/").content.decode()


def test_the_current_group_says_so_to_screen_readers(alice_client):
    nav = _main_nav(alice_client.get("/duplicates/").content.decode())
    data = nav.split(">Data", 1)[1].split("</summary>", 1)[0]
    assert "(current section)" in data
    assert nav.count("(current section)") == 1


def test_a_read_only_user_sees_only_what_they_may_open(charlie_client):
    nav = _main_nav(charlie_client.get("/contacts/").content.decode())
    assert ">Quality</a>" in nav
    for hidden in (">Import</a>", ">Merges</a>", ">Users</a>", ">Custom fields</a>"):
        assert hidden not in nav


def test_the_account_menu_links_the_api_documentation(bob_client):
    html = bob_client.get("/contacts/").content.decode()
    menu = html.split('class="user-menu__panel"', 1)[1].split("</details>", 1)[0]
    assert 'href="/api/v1/docs"' in menu


def test_the_api_documentation_fits_a_phone_and_leads_back(bob_client):
    response = bob_client.get("/api/v1/docs")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "Back to Rapport" in html


def _csp(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {
        part.split()[0]: " ".join(part.split()[1:]) for part in header.split(";") if part.strip()
    }


@pytest.mark.parametrize("path", ["/contacts/", "/api/v1/docs", "/login/"])
def test_pages_carry_a_content_security_policy_without_unsafe_inline(client, bob, path):
    if path != "/login/":
        client.force_login(bob)
    response = client.get(path)
    assert response.status_code == 200
    policy = _csp(response)
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    # The headers that were there before stay.
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


INLINE_CODE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>"  # inline script
    r"|<style\b"  # style element
    r"|\sstyle=\""  # style attribute
    r"|\son[a-z]+=\"",  # event handler attribute
    re.IGNORECASE,
)


def test_no_template_holds_inline_scripts_styles_or_handlers():
    offenders = [
        f"{path.relative_to(RAPPORT)}: {match.group(0).strip()}"
        for path in sorted(RAPPORT.rglob("templates/**/*.html"))
        for match in INLINE_CODE.finditer(path.read_text())
    ]
    assert offenders == []


def test_pages_with_tag_colours_hold_no_style_attributes(alice, alice_client):
    from rapport.contacts.services import tag_create

    tag_create(actor=alice, data={"name": "VIP", "color": "#fde68a"})
    contact = make_contact(given_name="Ada", family_name="Lovelace", tags=["VIP"])
    for path in ("/contacts/", f"/contacts/{contact.pk}/", "/tags/"):
        page = alice_client.get(path).content.decode()
        assert 'data-tag-color="#fde68a"' in page
        assert INLINE_CODE.search(page) is None, (path, INLINE_CODE.search(page))


def _served_headers(env: dict[str, str]) -> str:
    script = (
        "import django; django.setup();"
        "from django.conf import settings; print(settings.SECURE_HSTS_SECONDS)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "rapport.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_hsts_is_sent_only_behind_tls(tmp_path, client, bob, settings):
    data = {"RAPPORT_DATA_DIR": str(tmp_path)}
    assert _served_headers({**data, "SECURE_COOKIES": "true"}) == "31536000"
    assert _served_headers({**data, "SECURE_COOKIES": "false"}) == "0"

    settings.SECURE_HSTS_SECONDS = 31536000
    client.force_login(bob)
    response = client.get("/contacts/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000"
