"""Organization fields in segments: the tags, size, addresses, website and custom fields
of the organization a contact currently works at, and the affiliation's department."""

from __future__ import annotations

import pytest

from rapport.contacts.models import Affiliation
from rapport.contacts.services import custom_field_create, tag_create
from rapport.contacts.tests.factories import make_contact, make_organization
from rapport.segments.selectors import query_matching

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(alice):
    from rapport.contacts.services import affiliation_create

    tag_create(actor=alice, data={"name": "Key account"})
    custom_field_create(
        actor=alice,
        data={"target": "organization", "key": "tier", "label": "Tier", "field_type": "text"},
    )
    big = make_organization(
        name="Big AG",
        size_band="1000+",
        tags=["Key account"],
        custom_fields={"tier": "gold"},
        addresses=[{"locality": "Berlin", "country": "DE"}],
        website="https://big.example",
    )
    small = make_organization(
        name="Small Ltd", size_band="1-9", addresses=[{"locality": "Leeds", "country": "GB"}]
    )
    people = {n: make_contact(given_name=n) for n in ("Ann", "Bob", "Cy", "Dee")}
    affiliation_create(
        actor=alice,
        data={"contact": people["Ann"].pk, "organization": big.pk, "department": "Finance"},
    )
    affiliation_create(actor=alice, data={"contact": people["Bob"].pk, "organization": small.pk})
    # Cy left Big AG: a past affiliation does not count
    left = affiliation_create(
        actor=alice, data={"contact": people["Cy"].pk, "organization": big.pk}
    )
    Affiliation.objects.filter(pk=left.pk).update(is_current=False)
    return people


def _names(alice, text: str) -> set[str]:
    return set(query_matching(alice, text).values_list("given_name", flat=True))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('org_tag:"key account"', {"Ann"}),
        ('org_tag:!="Key account"', {"Bob", "Cy", "Dee"}),
        ("org_size:1000+", {"Ann"}),
        ("org_size:1-9 OR org_country:DE", {"Ann", "Bob"}),
        ("org_city:leeds", {"Bob"}),
        ("org_website:*big*", {"Ann"}),
        ("org.custom.tier:gold", {"Ann"}),
        ("org.custom.tier:!=gold", {"Bob", "Cy", "Dee"}),
        ("department:finance", {"Ann"}),
    ],
)
def test_organization_fields_select_the_people_currently_there(alice, world, query, expected):
    assert _names(alice, query) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("org_tag:nothing", "There is no tag “nothing”"),
        ("org_size:huge", "org_size"),
        ("org.custom.nothing:x", "There is no organization custom field “nothing”"),
        ("custom.tier:gold", "There is no custom field “tier”"),  # an organization's field
    ],
)
def test_unknown_organization_values_are_refused_by_name(alice, world, query, message):
    from rapport.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as exc:
        query_matching(alice, query)
    assert message in str(exc.value)
