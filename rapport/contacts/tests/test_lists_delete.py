"""Deleting every record a list matches deletes the ones the confirmation showed, never
ones that started matching after it: through the page, the API and the CLI, for
contacts and organizations alike."""

from __future__ import annotations

import re

import pytest
from django.core.management import CommandError, call_command

from rapport.contacts import services
from rapport.contacts.models import BulkJob, Contact, Organization
from rapport.contacts.tests.factories import make_contact, make_organization


@pytest.fixture
def people(bob) -> list[Contact]:
    """Four contacts; the first two tagged "Berlin"."""
    return [
        make_contact(bob, given_name="Ada", family_name="Lovelace", tags=["Berlin"]),
        make_contact(bob, given_name="Alan", family_name="Turing", tags=["Berlin"]),
        make_contact(bob, given_name="Grace", family_name="Hopper"),
        make_contact(bob, given_name="Edsger", family_name="Dijkstra"),
    ]


def _confirmation_form(html: str) -> dict[str, list[str]]:
    """The fields the confirmation page's form sends when its button is pressed."""
    start = html.rindex("<form", 0, html.index('name="confirmed"'))
    form = html[start : html.index("</form>", start)]
    fields: dict[str, list[str]] = {}
    for tag in re.findall(r"<input [^>]*>", form):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and name.group(1) != "csrfmiddlewaretoken":
            fields.setdefault(name.group(1), []).append(value.group(1) if value else "")
    return fields


def _ask_to_delete(client, url: str, query: str, heading: str) -> dict[str, list[str]]:
    ask = client.post(url, {"action": "delete", "scope": "all", "query": query})
    html = ask.content.decode()
    assert ask.status_code == 200 and heading in html, html
    return _confirmation_form(html)


def _tag(actor, contact: Contact, *names: str) -> None:
    """A colleague changes a contact's tags in the meantime."""
    services.contact_update(actor=actor, contact=contact, data={"tags": list(names)})


# -- the list page ----------------------------------------------------------------------


def test_deleting_all_matching_deletes_exactly_the_contacts_the_confirmation_showed(
    bob_client, people
):
    form = _ask_to_delete(bob_client, "/contacts/bulk/", "tag=Berlin", "Delete 2 contacts?")
    done = bob_client.post("/contacts/bulk/", form, follow=True)
    assert "2 contacts deleted." in done.content.decode()
    assert done.redirect_chain[-1][0] == "/contacts/?tag=Berlin"
    assert sorted(Contact.objects.values_list("given_name", flat=True)) == ["Edsger", "Grace"]


def test_a_contact_tagged_after_the_confirmation_is_not_deleted_and_the_user_is_told(
    bob_client, people, alice
):
    form = _ask_to_delete(bob_client, "/contacts/bulk/", "tag=Berlin", "Delete 2 contacts?")
    _tag(alice, people[2], "Berlin")  # Grace starts matching; Bob never saw her counted
    again = bob_client.post("/contacts/bulk/", form)
    html = again.content.decode()
    assert "The list changed since you confirmed: 1 more contact matches now." in html
    assert "Nothing was deleted" in html
    assert Contact.objects.count() == 4
    assert not BulkJob.objects.filter(action="delete").exists()
    # The page asks again, now naming Grace; confirming that deletes the three.
    assert "Delete 3 contacts?" in html and "Grace Hopper" in html
    done = bob_client.post("/contacts/bulk/", _confirmation_form(html), follow=True)
    assert "3 contacts deleted." in done.content.decode()
    assert list(Contact.objects.values_list("given_name", flat=True)) == ["Edsger"]


def test_the_same_number_of_other_matches_is_a_change_too(bob_client, people, alice):
    form = _ask_to_delete(bob_client, "/contacts/bulk/", "tag=Berlin", "Delete 2 contacts?")
    _tag(alice, people[1])  # Alan no longer matches …
    _tag(alice, people[2], "Berlin")  # … and Grace does: still two
    html = bob_client.post("/contacts/bulk/", form).content.decode()
    assert "The list changed since you confirmed: other contacts match now" in html
    assert Contact.objects.count() == 4


def test_fewer_matches_are_reported_and_nothing_is_deleted(bob_client, people, alice):
    form = _ask_to_delete(bob_client, "/contacts/bulk/", "tag=Berlin", "Delete 2 contacts?")
    _tag(alice, people[1])
    html = bob_client.post("/contacts/bulk/", form).content.decode()
    assert "The list changed since you confirmed: 1 fewer contact matches now." in html
    assert "Delete 1 contact?" in html and Contact.objects.count() == 4


def test_a_confirmation_without_what_it_showed_asks_again(bob_client, people):
    answer = bob_client.post(
        "/contacts/bulk/",
        {"action": "delete", "scope": "all", "query": "tag=Berlin", "confirmed": "yes"},
    )
    assert "Delete 2 contacts?" in answer.content.decode()
    assert Contact.objects.count() == 4


def test_when_nothing_matches_any_more_the_list_says_so(bob_client, people, alice):
    form = _ask_to_delete(bob_client, "/contacts/bulk/", "tag=Berlin", "Delete 2 contacts?")
    _tag(alice, people[0])
    _tag(alice, people[1])
    done = bob_client.post("/contacts/bulk/", form, follow=True)
    html = done.content.decode()
    assert done.redirect_chain[-1][0] == "/contacts/?tag=Berlin"
    assert "2 fewer contacts match now" in html and "Select at least one contact." in html
    assert Contact.objects.count() == 4


def test_more_than_a_bulk_action_may_cover_is_refused_before_the_confirmation(
    bob_client, people, monkeypatch
):
    monkeypatch.setattr("rapport.contacts.services.bulk.MAX_SELECTION", 3)
    answer = bob_client.post(
        "/contacts/bulk/", {"action": "delete", "scope": "all", "query": ""}, follow=True
    )
    assert "More than 3 contacts match; narrow the search or filters." in answer.content.decode()
    assert Contact.objects.count() == 4


def test_an_organization_that_starts_matching_after_the_confirmation_is_not_deleted(
    bob_client, bob, alice
):
    make_organization(bob, name="Acme", industry="Robotics")
    make_organization(bob, name="Globex", industry="Robotics")
    initech = make_organization(bob, name="Initech", industry="Software")
    form = _ask_to_delete(
        bob_client, "/organizations/bulk/", "industry=Robotics", "Delete 2 organizations?"
    )
    services.organization_update(actor=alice, org=initech, data={"industry": "Robotics"})
    html = bob_client.post("/organizations/bulk/", form).content.decode()
    assert "The list changed since you confirmed: 1 more organization matches now." in html
    assert Organization.objects.count() == 3
    done = bob_client.post("/organizations/bulk/", _confirmation_form(html), follow=True)
    assert "3 organizations deleted." in done.content.decode()
    assert not Organization.objects.exists()


# -- API and CLI ------------------------------------------------------------------------


def test_the_api_deletes_by_filter_only_when_the_expected_count_still_holds(bob_api, people, alice):
    _tag(alice, people[2], "Berlin")
    body = {"action": "delete", "filter": {"tag": ["Berlin"]}, "expected_count": 2}
    refused = bob_api.post("/contacts/bulk", body)
    assert refused.status_code == 412, refused.content
    assert refused.json()["detail"] == (
        "3 contacts match, not the 2 expected. Nothing was deleted."
    )
    assert Contact.objects.count() == 4
    done = bob_api.post("/contacts/bulk", {**body, "expected_count": 3})
    assert done.status_code == 200 and done.json()["changed"] == 3
    assert list(Contact.objects.values_list("given_name", flat=True)) == ["Edsger"]


def test_the_cli_refuses_a_delete_when_not_as_many_match_as_expected(people, alice):
    _tag(alice, people[2], "Berlin")
    command = ["contacts", "bulk", "delete", "--all-matching", "--tag", "berlin", "--yes"]
    with pytest.raises(CommandError, match="3 contacts match, not the 2 expected"):
        call_command(*command, "--expect-count", "2", "--as", "bob")
    assert Contact.objects.count() == 4
    call_command(*command, "--expect-count", "3", "--as", "bob")
    assert Contact.objects.count() == 1
