"""Messages and history name fields by their labels, never by internal names."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from rapport.contacts import services
from rapport.contacts.tests.factories import make_contact
from rapport.contacts.tests.test_cli import run


@pytest.fixture
def contract_value(alice):
    return services.custom_field_create(
        actor=alice,
        data={"target": "contact", "key": "contract_value_eur", "label": "Contract value (EUR)",
              "field_type": "number"},
    )  # fmt: skip


def test_history_names_a_changed_custom_field_by_its_label(alice, alice_client, contract_value):
    contact = make_contact(alice, custom_fields={"contract_value_eur": 1000})
    services.contact_update(
        actor=alice, contact=contact, data={"custom_fields": {"contract_value_eur": 2500}}
    )
    body = alice_client.get(f"/contacts/{contact.pk}/").content.decode()
    history = body[body.index("history__changes") :]
    assert "Contract value (EUR)" in history
    assert "contract_value_eur" not in body


def test_a_bad_filter_on_the_contact_list_names_the_filter_by_its_label(alice_client, db):
    body = alice_client.get("/contacts/", {"created_after": "yesterday"}).content.decode()
    assert "created_after:" not in body
    assert "Created from:" in body


def test_the_terminal_names_bad_fields_by_their_labels(bob):
    with pytest.raises(CommandError) as exc:
        run("contacts", "add", "--as", "bob", "--given-name", "X" * 101)
    assert "Given name:" in str(exc.value)
    assert "given_name" not in str(exc.value)


def test_the_quality_page_says_how_many_months_make_a_contact_stale(alice_client, settings):
    settings.RAPPORT_STALE_MONTHS = 18
    body = alice_client.get("/quality/").content.decode()
    assert "RAPPORT_STALE_MONTHS" not in body
    assert "for 18 months" in body
