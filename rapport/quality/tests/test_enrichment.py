from __future__ import annotations

import pytest

from rapport.access.models import ChangeRecord
from rapport.contacts.models import Affiliation, Contact, Organization
from rapport.contacts.tests.factories import employ, make_contact, make_organization
from rapport.core.errors import Conflict, NotPermitted
from rapport.quality import enrichment, services
from rapport.quality.models import Suggestion
from rapport.quality.selectors import Scope


def suggestions(contact: Contact, field: str | None = None) -> list[Suggestion]:
    qs = Suggestion.objects.filter(contact=contact)
    return list(qs.filter(field=field) if field else qs)


def test_a_free_mail_address_suggests_no_organization(alice):
    person = make_contact(actor=alice, emails=[{"address": "someone@gmail.com"}])
    services.enrichment_generate(actor=alice, providers=["email_domain"])
    assert suggestions(person, "organization") == []


def test_subdomains_of_free_mail_count_as_free_mail():
    assert enrichment.is_free_mail("gmail.com")
    assert enrichment.is_free_mail("mail.yahoo.co.uk") or enrichment.is_free_mail("yahoo.co.uk")
    assert not enrichment.is_free_mail("acme-tools.co.uk")


def test_a_work_address_suggests_the_organization_using_that_domain(alice):
    acme = make_organization(actor=alice, name="Acme Corporation", domains=["acme.com"])
    person = make_contact(actor=alice, emails=[{"address": "jo@eu.acme.com"}])
    services.enrichment_generate(actor=alice, providers=["email_domain"])
    (s,) = suggestions(person, "organization")
    assert s.suggested_value == "Acme Corporation"
    assert s.payload["organization_id"] == acme.pk
    assert "acme.com" in s.reason


def test_an_unknown_work_domain_suggests_a_new_organization_named_after_it(alice):
    person = make_contact(actor=alice, emails=[{"address": "kim@bright-harbour.co.uk"}])
    services.enrichment_generate(actor=alice, providers=["email_domain"])
    (s,) = suggestions(person, "organization")
    assert s.suggested_value == "Bright Harbour"
    assert s.payload == {
        "organization_id": None,
        "name": "Bright Harbour",
        "domain": "bright-harbour.co.uk",
    }


def test_someone_already_at_an_organization_gets_no_organization_suggestion(alice):
    person = make_contact(actor=alice, emails=[{"address": "jo@initech.com"}])
    employ(person, make_organization(actor=alice, name="Initech"), actor=alice)
    services.enrichment_generate(actor=alice, providers=["email_domain"])
    assert suggestions(person) == []


def test_a_phone_number_suggests_country_and_time_zone(alice):
    person = make_contact(actor=alice, phones=[{"number": "+44 20 7946 0000"}])
    services.enrichment_generate(actor=alice, providers=["phone"])
    found = {s.field: s.suggested_value for s in suggestions(person)}
    assert found == {"country": "GB", "time_zone": "Europe/London"}


def test_a_number_spanning_several_time_zones_suggests_only_the_country(alice):
    # A US mobile number could be anywhere in the country.
    person = make_contact(actor=alice, phones=[{"number": "+1 212 555 0123"}])
    services.enrichment_generate(actor=alice, providers=["phone"])
    found = {s.field: s.suggested_value for s in suggestions(person)}
    assert found.get("country") == "US"
    assert found.get("time_zone") in (None, "America/New_York")


def test_an_address_in_a_one_zone_country_suggests_its_time_zone(alice):
    person = make_contact(actor=alice, addresses=[{"locality": "Paris", "country": "FR"}])
    other = make_contact(actor=alice, addresses=[{"locality": "Denver", "country": "US"}])
    services.enrichment_generate(actor=alice, providers=["address"])
    assert [s.suggested_value for s in suggestions(person)] == ["Europe/Paris"]
    assert suggestions(other) == []  # the US has many time zones


@pytest.mark.parametrize(
    ("text", "first", "expected"),
    [
        ("JEAN-LUC", True, "Jean-Luc"),
        ("o'brien", False, "O'Brien"),
        ("MCDONALD", False, "McDonald"),
        ("VAN DER BERG", False, "van der Berg"),
        ("VAN DER BERG", True, "Van der Berg"),
        ("de la fuente", False, "de la Fuente"),
        ("ÉLODIE", True, "Élodie"),
    ],
)
def test_names_are_capitalised_with_care_for_prefixes(text, first, expected):
    assert enrichment.proper_case(text, first=first) == expected


def test_names_in_capitals_or_lower_case_get_a_suggestion(alice):
    shouting = make_contact(actor=alice, given_name="LUDWIG", family_name="VAN BEETHOVEN")
    flat = make_contact(actor=alice, given_name="sean", family_name="o'neill")
    fine = make_contact(actor=alice, given_name="Vincent", family_name="van Gogh")
    services.enrichment_generate(actor=alice, providers=["name_case"])
    assert [s.suggested_value for s in suggestions(shouting)] == ["Ludwig van Beethoven"]
    assert [s.suggested_value for s in suggestions(flat)] == ["Sean O'Neill"]
    assert suggestions(fine) == []


def test_generating_twice_makes_nothing_new_and_rejected_ones_stay_away(alice):
    person = make_contact(actor=alice, given_name="ANNA", phones=[{"number": "+44 20 7946 0000"}])
    first = services.enrichment_generate(actor=alice)
    assert sum(first.values()) == 3  # name, country, time zone
    services.suggestion_reject(actor=alice, suggestion_ids=[s.pk for s in suggestions(person)])
    assert sum(services.enrichment_generate(actor=alice).values()) == 0


def test_generation_can_be_limited_to_one_source(alice):
    mine = make_contact(actor=alice, given_name="ANNA", source="Old CRM")
    other = make_contact(actor=alice, given_name="BORIS")
    services.enrichment_generate(actor=alice, scope=Scope(source="Old CRM"), chunk=1)
    assert len(suggestions(mine)) == 1 and suggestions(other) == []


def test_accepting_a_time_zone_goes_through_contact_update_with_history(alice):
    person = make_contact(actor=alice, phones=[{"number": "+44 20 7946 0000"}])
    services.enrichment_generate(actor=alice, providers=["phone"])
    (s,) = suggestions(person, "time_zone")
    services.suggestion_accept(actor=alice, suggestion_id=s.pk, via="api")
    person.refresh_from_db()
    assert person.time_zone == "Europe/London"
    s.refresh_from_db()
    assert s.status == Suggestion.Status.ACCEPTED and s.decided_by == alice
    record = ChangeRecord.objects.filter(object_type="contact", object_id=person.pk).first()
    assert record.changes["time_zone"] == ["", "Europe/London"] and record.via == "api"


def test_accepting_a_country_adds_it_to_the_address(alice):
    person = make_contact(
        actor=alice, phones=[{"number": "+33 1 42 68 53 00"}], addresses=[{"locality": "Lyon"}]
    )
    services.enrichment_generate(actor=alice, providers=["phone"])
    (s,) = suggestions(person, "country")
    services.suggestion_accept(actor=alice, suggestion_id=s.pk)
    assert list(person.addresses.values_list("locality", "country")) == [("Lyon", "FR")]


def test_accepting_a_new_organization_creates_it_once_and_links_both_people(alice):
    a = make_contact(actor=alice, emails=[{"address": "a@northwind.io"}])
    b = make_contact(actor=alice, emails=[{"address": "b@northwind.io"}])
    services.enrichment_generate(actor=alice, providers=["email_domain"])
    result = services.suggestion_accept_many(
        actor=alice, suggestion_ids=[s.pk for s in Suggestion.objects.filter(contact__in=[a, b])]
    )
    assert result == {"accepted": 2, "failed": []}
    (org,) = Organization.objects.filter(name="Northwind")
    assert org.domains == ["northwind.io"]
    assert set(
        Affiliation.objects.filter(organization=org).values_list("contact_id", flat=True)
    ) == {a.pk, b.pk}


def test_accepting_a_name_rewrites_the_parts(alice):
    person = make_contact(actor=alice, given_name="MARIE", family_name="CURIE")
    services.enrichment_generate(actor=alice, providers=["name_case"])
    (s,) = suggestions(person)
    services.suggestion_accept(actor=alice, suggestion_id=s.pk)
    person.refresh_from_db()
    assert (person.given_name, person.family_name, person.display_name) == (
        "Marie",
        "Curie",
        "Marie Curie",
    )


def test_a_suggestion_is_not_applied_over_a_later_edit(alice):
    from rapport.contacts.services import contact_update

    person = make_contact(actor=alice, phones=[{"number": "+44 20 7946 0000"}])
    services.enrichment_generate(actor=alice, providers=["phone"])
    (s,) = suggestions(person, "time_zone")
    contact_update(actor=alice, contact=person, data={"time_zone": "Europe/Dublin"})
    with pytest.raises(services.SuggestionOutdated):
        services.suggestion_accept(actor=alice, suggestion_id=s.pk)
    person.refresh_from_db()
    assert person.time_zone == "Europe/Dublin"
    s.refresh_from_db()
    assert s.status == Suggestion.Status.OUTDATED


def test_a_decided_suggestion_cannot_be_accepted_again(alice):
    person = make_contact(actor=alice, given_name="ANNA")
    services.enrichment_generate(actor=alice, providers=["name_case"])
    (s,) = suggestions(person)
    services.suggestion_reject(actor=alice, suggestion_ids=[s.pk])
    with pytest.raises(Conflict):
        services.suggestion_accept(actor=alice, suggestion_id=s.pk)


def test_read_only_users_cannot_generate_accept_or_reject(alice, charlie):
    person = make_contact(actor=alice, given_name="ANNA")
    services.enrichment_generate(actor=alice)
    (s,) = suggestions(person)
    with pytest.raises(NotPermitted):
        services.enrichment_generate(actor=charlie)
    with pytest.raises(NotPermitted):
        services.suggestion_accept(actor=charlie, suggestion_id=s.pk)
    with pytest.raises(NotPermitted):
        services.suggestion_reject(actor=charlie, suggestion_ids=[s.pk])
    s.refresh_from_db()
    assert s.status == Suggestion.Status.PENDING


@pytest.mark.parametrize(
    "address",
    [
        "ana@correo.es",
        "jo@example.co.uk",
        "max@example.de",
        "lea@mail.example.fr",
        "ivan@yandex.ru",
        "lena@web.de",
        "tom@gmx.net",
        "sara@libero.it",
        "paul@orange.fr",
        "olga@mail.ru",
    ],
)
def test_personal_and_example_addresses_in_any_language_suggest_no_organization(
    alice, client, address
):
    from rapport.conftest import bearer

    make_contact(actor=alice, emails=[{"address": address}])
    response = client.post(
        "/api/v1/quality/suggestions/generate",
        '{"providers": ["email_domain"]}',
        content_type="application/json",
        **bearer(alice),
    )
    assert response.status_code in (200, 201, 202), response.content
    listed = client.get("/api/v1/quality/suggestions?field=organization", **bearer(alice))
    assert listed.json()["items"] == []
