"""Controls repeated on a page say which record they act on (WCAG 2.4.6, 4.1.2).

A screen-reader user who lists a page's buttons hears "End role of Ada Lovelace", not five
times "End role". The name is the visible word plus visually hidden context.
"""

from __future__ import annotations

import html
import re

from rapport.contacts.tests.factories import employ, make_contact, make_organization


def _names(page: str, tag: str) -> list[str]:
    """The text of every <tag> element: what assistive technology reads as its name."""
    found = re.findall(rf"<{tag}\b[^>]*>(.*?)</{tag}>", page, flags=re.DOTALL)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split()) for text in found]


def test_role_controls_on_an_organization_name_the_person(alice_client):
    org = make_organization(name="Analytical Engines")
    ada = make_contact(given_name="Ada", family_name="Lovelace")
    charles = make_contact(given_name="Charles", family_name="Babbage")
    employ(ada, org, title="Analyst")
    employ(charles, org, title="Engineer")

    page = alice_client.get(f"/organizations/{org.pk}/").content.decode()
    buttons, links = _names(page, "button"), _names(page, "a")
    assert "End role of Ada Lovelace" in buttons
    assert "End role of Charles Babbage" in buttons
    assert "Edit Ada Lovelace’s role" in links
    assert "End role" not in buttons

    contact_page = alice_client.get(f"/contacts/{ada.pk}/").content.decode()
    assert "Edit role at Analytical Engines" in _names(contact_page, "a")


def test_repeated_rows_on_the_contact_form_are_numbered(alice_client):
    page = alice_client.get("/contacts/new/").content.decode()
    buttons, labels = _names(page, "button"), _names(page, "label")
    assert "Remove email 1" in buttons
    assert "Remove phone 1" in buttons
    assert "Remove address 1" in buttons
    assert "Primary email 1" in labels
    assert "Remove" not in buttons


def test_admin_lists_name_the_tag_field_token_and_user(alice, alice_client):
    from rapport.access.services import token_create
    from rapport.contacts.services import custom_field_create, tag_create

    tag_create(actor=alice, data={"name": "VIP"})
    custom_field_create(
        actor=alice, data={"label": "Contract value", "field_type": "number", "target": "contact"}
    )
    token_create(user=alice, name="laptop")

    tags = alice_client.get("/tags/").content.decode()
    assert "Delete tag “VIP”" in _names(tags, "button")
    assert "Rename or recolour tag “VIP”" in _names(tags, "summary")
    fields = alice_client.get("/settings/custom-fields/").content.decode()
    assert "Delete field “Contract value”" in _names(fields, "button")
    assert "Edit field “Contract value”" in _names(fields, "a")
    assert "Revoke token “laptop”" in _names(
        alice_client.get("/tokens/").content.decode(), "button"
    )
    assert "Save role of alice" in _names(alice_client.get("/users/").content.decode(), "button")


def test_merge_survivor_radios_name_the_record(alice_client):
    ada = make_contact(given_name="Ada", family_name="Lovelace")
    other = make_contact(given_name="Ada", family_name="King")
    page = alice_client.get(f"/merges/contacts/new/?ids={ada.pk}&ids={other.pk}").content.decode()
    labels = _names(page, "label")
    assert f"Keep Ada Lovelace (#{ada.pk})" in labels
    assert f"Keep Ada King (#{other.pk})" in labels
