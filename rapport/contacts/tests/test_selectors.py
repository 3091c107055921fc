from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.contacts import selectors, services
from rapport.contacts.selectors import ContactFilters
from rapport.contacts.tests.factories import employ, make_contact, make_organization
from rapport.core.errors import InvalidInput, NotPermitted


def names(page) -> list[str]:
    return [c.display_name for c in page.items]


@pytest.fixture
def people(bob):
    acme = make_organization(bob, name="Acme Rockets")
    smith = make_contact(
        bob,
        given_name="John",
        family_name="Smith",
        emails=[{"address": "john.smith@acme.example"}],
        phones=[{"number": "+1 415-555-2671"}],
        addresses=[{"locality": "San Francisco", "country": "US"}],
        tags=["Customer"],
    )
    employ(smith, acme, title="CTO")
    blacksmith = make_contact(
        bob, given_name="Anna", family_name="Blacksmith", addresses=[{"country": "DE"}]
    )
    smithers = make_contact(bob, given_name="Waylon", family_name="Smithers", tags=["Customer"])
    zoe = make_contact(
        bob, given_name="Zoë", family_name="Ångström", emails=[{"address": "zoe@uni.example"}]
    )
    return {
        "smith": smith,
        "blacksmith": blacksmith,
        "smithers": smithers,
        "zoe": zoe,
        "acme": acme,
    }


def test_names_starting_with_the_query_rank_before_other_matches(bob, people):
    assert names(selectors.contact_list(actor=bob, q="smith")) == [
        "John Smith",
        "Waylon Smithers",
        "Anna Blacksmith",
    ]


@pytest.mark.parametrize(
    "query",
    [
        "555 2671",
        "+1 415-555-2671",
        "(415) 555-2671",
        "4155552671",
        "john.smith@acme.example",
        "acme",
        "francisco",
        "customer john",
        "jo sm",
    ],
)
def test_one_box_finds_a_person_by_any_detail(bob, people, query):
    assert "John Smith" in names(selectors.contact_list(actor=bob, q=query))


def test_search_ignores_accents_and_case(bob, people):
    assert names(selectors.contact_list(actor=bob, q="angstrom")) == ["Zoë Ångström"]
    assert names(selectors.contact_list(actor=bob, q="ZOË")) == ["Zoë Ångström"]


def test_filters_narrow_the_list(bob, alice, people):
    customers = selectors.contact_list(actor=bob, filters=ContactFilters(tags=["customer"]))
    assert names(customers) == ["John Smith", "Waylon Smithers"]
    germans = selectors.contact_list(actor=bob, filters=ContactFilters(country="de"))
    assert names(germans) == ["Anna Blacksmith"]
    at_acme = selectors.contact_list(
        actor=bob, filters=ContactFilters(organization=people["acme"].pk)
    )
    assert names(at_acme) == ["John Smith"]
    mine = selectors.contact_list(actor=bob, filters=ContactFilters(owner="alice"))
    assert names(mine) == []
    recent = selectors.contact_list(
        actor=bob, filters=ContactFilters(created_after=timezone.now() - dt.timedelta(hours=1))
    )
    assert len(recent.items) == 4


def test_custom_field_filters(alice, bob):
    services.custom_field_create(
        actor=alice, data={"target": "contact", "label": "Seats", "field_type": "number"}
    )
    make_contact(bob, given_name="Small", custom_fields={"seats": 3})
    make_contact(bob, given_name="Big", custom_fields={"seats": 300})
    big = selectors.contact_list(actor=bob, filters=ContactFilters(custom={"seats__gte": "100"}))
    assert [c.given_name for c in big.items] == ["Big"]
    exact = selectors.contact_list(actor=bob, filters=ContactFilters(custom={"seats": "3"}))
    assert [c.given_name for c in exact.items] == ["Small"]
    with pytest.raises(InvalidInput):
        selectors.contact_list(actor=bob, filters=ContactFilters(custom={"nope": "1"}))


@pytest.mark.parametrize(
    "sort", ["name", "-name", "created", "-created", "updated", "-updated", ""]
)
def test_cursor_pages_walk_every_contact_exactly_once(bob, sort):
    made = {make_contact(bob, given_name=f"P{i:02d}", family_name="Same").pk for i in range(23)}
    seen: list[int] = []
    cursor = None
    while True:
        page = selectors.contact_list(actor=bob, sort=sort, cursor=cursor, limit=5)
        seen += [c.pk for c in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(set(seen))


def test_ranked_search_pages_walk_every_match_exactly_once(bob):
    for i in range(7):
        make_contact(bob, given_name=f"Kim{i}", family_name="Park")
    for i in range(6):
        make_contact(bob, given_name="Lee", family_name=f"Parkinson{i}")
    for i in range(5):
        make_contact(bob, given_name="Jo", family_name=f"Sparks{i}")
    seen: list[str] = []
    cursor = None
    while True:
        page = selectors.contact_list(actor=bob, q="park", cursor=cursor, limit=4)
        seen += names(page)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 18
    assert all("Sparks" in n for n in seen[-5:])


def test_a_forged_cursor_is_invalid_input(bob):
    with pytest.raises(InvalidInput):
        selectors.contact_list(actor=bob, cursor="not-a-cursor")
    with pytest.raises(InvalidInput):
        selectors.contact_list(actor=bob, q="smith", cursor="WzEsMl0")


def test_users_without_a_role_see_nothing(db, django_user_model):
    stranger = django_user_model.objects.create_user(username="x", password="x", role="nobody")
    with pytest.raises(NotPermitted):
        selectors.contact_list(actor=stranger)


def test_a_whole_email_address_finds_exactly_its_owner(bob, people):
    make_contact(bob, given_name="Other", emails=[{"address": "xjohn.smith@acme.example"}])
    assert names(selectors.contact_list(actor=bob, q="John.Smith@acme.example")) == ["John Smith"]
    # A part of an address still finds every contact containing it.
    assert len(selectors.contact_list(actor=bob, q="smith@acme").items) == 2
