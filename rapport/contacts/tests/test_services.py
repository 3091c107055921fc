from __future__ import annotations

import pytest

from rapport.access.models import ChangeRecord
from rapport.contacts import selectors, services
from rapport.contacts.models import Contact, Email, Organization, Tag
from rapport.contacts.tests.factories import employ, make_contact, make_organization
from rapport.core.errors import Conflict, InvalidInput, NotPermitted


def errors_of(exc: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return exc.value.by_field()


def test_it_saves_a_contact_with_every_kind_of_detail(bob):
    contact = services.contact_create(
        actor=bob,
        data={
            "full_name": "Dr. Ada King Lovelace",
            "emails": [
                {"address": "Ada@Example.ORG", "label": "work"},
                {"address": "ada@home.example"},
            ],
            "phones": [{"number": "020 7946 0958", "label": "office"}],
            "addresses": [
                {
                    "street": "12 St James's Square",
                    "locality": "London",
                    "country": "United Kingdom",
                }
            ],
            "urls": [{"url": "linkedin.com/in/ada", "kind": "social", "label": "LinkedIn"}],
            "birthday": "1815-12-10" if False else "1985-12-10",
            "lifecycle_stage": "customer",
            "tags": ["VIP", "Math"],
            "time_zone": "Europe/London",
            "language": "en-gb",
        },
    )
    assert contact.display_name == "Dr. Ada King Lovelace"
    assert (contact.given_name, contact.middle_name, contact.family_name) == (
        "Ada",
        "King",
        "Lovelace",
    )
    assert [e.address for e in contact.emails.all()] == ["Ada@example.org", "ada@home.example"]
    assert contact.emails.all()[0].primary is True
    phone = contact.phones.get()
    # The number has no country code; the contact's address country decides how it is read.
    assert phone.e164 == "+442079460958"
    assert phone.number == "020 7946 0958"
    assert contact.addresses.get().country == "GB"
    assert contact.links.get().url == "https://linkedin.com/in/ada"
    assert sorted(t.name for t in contact.tags.all()) == ["Math", "VIP"]
    assert contact.language == "en-GB"
    assert contact.owner == bob


def test_explicit_name_parts_win_over_the_split_full_name(bob):
    contact = services.contact_create(
        actor=bob, data={"full_name": "Mary Ann Smith", "given_name": "Mary Ann", "middle_name": ""}
    )
    assert (contact.given_name, contact.middle_name, contact.family_name) == (
        "Mary Ann",
        "",
        "Smith",
    )


def test_it_reports_every_invalid_field_by_path_and_saves_nothing(bob):
    with pytest.raises(InvalidInput) as exc:
        services.contact_create(
            actor=bob,
            data={
                "given_name": "Broken",
                "emails": [{"address": "ok@example.com"}, {"address": "not-an-email"}],
                "phones": [{"number": "12"}],
                "addresses": [{"country": "Atlantis"}],
                "birthday": "2999-01-01",
                "lifecycle_stage": "friend",
            },
        )
    errors = errors_of(exc)
    assert set(errors) == {
        "emails[1].address",
        "phones[0].number",
        "addresses[0].country",
        "birthday",
        "lifecycle_stage",
    }
    assert Contact.objects.count() == 0
    assert Email.objects.count() == 0


def test_it_refuses_the_same_email_twice_on_one_contact(bob):
    with pytest.raises(InvalidInput) as exc:
        services.contact_create(
            actor=bob,
            data={"given_name": "A", "emails": [{"address": "a@x.com"}, {"address": "A@X.COM"}]},
        )
    assert "emails[1].address" in errors_of(exc)


def test_a_contact_needs_a_name_or_a_way_to_reach_them(bob):
    with pytest.raises(InvalidInput) as exc:
        services.contact_create(actor=bob, data={"notes": "who?"})
    assert "given_name" in errors_of(exc)
    reachable = services.contact_create(
        actor=bob, data={"emails": [{"address": "who@example.com"}]}
    )
    assert reachable.display_name == "who@example.com"


def test_it_rejects_unknown_fields(bob):
    with pytest.raises(InvalidInput) as exc:
        services.contact_create(actor=bob, data={"given_name": "A", "shoe_size": 44})
    assert errors_of(exc) == {"shoe_size": ["Unknown field."]}


def test_a_partial_update_keeps_what_was_not_sent(bob):
    contact = make_contact(bob, given_name="Grace", family_name="Hopper", job_title="Admiral")
    updated = services.contact_update(
        actor=bob, contact=contact, data={"job_title": "Rear Admiral"}
    )
    assert updated.job_title == "Rear Admiral"
    assert updated.given_name == "Grace"
    assert updated.emails.count() == 1
    assert updated.version == contact.version + 1


def test_a_full_update_clears_what_was_not_sent(bob):
    contact = make_contact(bob, given_name="Grace", family_name="Hopper", job_title="Admiral")
    updated = services.contact_update(
        actor=bob, contact=contact, data={"given_name": "Grace"}, partial=False
    )
    assert (updated.family_name, updated.job_title, updated.emails.count()) == ("", "", 0)


def test_a_stale_version_is_a_conflict_and_changes_nothing(bob, alice):
    contact = make_contact(bob, job_title="Engineer")
    services.contact_update(actor=alice, contact=contact, data={"job_title": "Manager"})
    with pytest.raises(Conflict):
        services.contact_update(
            actor=bob, contact=contact, data={"job_title": "CTO"}, expected_version=contact.version
        )
    assert Contact.objects.get(pk=contact.pk).job_title == "Manager"


def test_every_change_is_recorded_with_who_and_old_and_new_values(bob, alice):
    contact = make_contact(bob, given_name="Linus", family_name="T")
    services.contact_update(
        actor=alice,
        contact=contact,
        data={"family_name": "Torvalds", "phones": [{"number": "+1 415 555 2671"}]},
    )
    history = selectors.history_for(actor=bob, object_type="contact", object_id=contact.pk)
    assert [r.action for r in history] == ["update", "create"]
    change = history[0]
    assert change.actor == alice
    assert change.changes["family_name"] == ["T", "Torvalds"]
    assert change.changes["phones"] == [[], ["+14155552671 *"]]
    assert history[1].actor == bob


def test_deleting_a_contact_keeps_its_history(bob):
    contact = make_contact(bob)
    services.contact_delete(actor=bob, contact=contact)
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert ChangeRecord.objects.filter(object_id=contact.pk, action="delete").exists()


def test_read_only_users_cannot_write(charlie, bob):
    with pytest.raises(NotPermitted):
        services.contact_create(actor=charlie, data={"given_name": "Nope"})
    contact = make_contact(bob)
    with pytest.raises(NotPermitted):
        services.contact_update(actor=charlie, contact=contact, data={"given_name": "Nope"})
    with pytest.raises(NotPermitted):
        services.contact_delete(actor=charlie, contact=contact)


def test_custom_fields_are_validated_by_type_and_requiredness(alice, bob):
    services.custom_field_create(
        actor=alice,
        data={"target": "contact", "label": "Seats", "field_type": "number", "required": True},
    )
    services.custom_field_create(
        actor=alice,
        data={
            "target": "contact",
            "label": "Plan",
            "field_type": "choice",
            "choices": ["Free", "Pro"],
        },
    )
    services.custom_field_create(
        actor=alice, data={"target": "contact", "label": "Renewal", "field_type": "date"}
    )
    with pytest.raises(InvalidInput) as exc:
        services.contact_create(
            actor=bob,
            data={"given_name": "X", "custom_fields": {"plan": "Gold", "renewal": "soon"}},
        )
    assert set(errors_of(exc)) == {
        "custom_fields.seats",
        "custom_fields.plan",
        "custom_fields.renewal",
    }
    contact = services.contact_create(
        actor=bob,
        data={
            "given_name": "X",
            "custom_fields": {"seats": "12", "plan": "Pro", "renewal": "2027-01-31"},
        },
    )
    assert contact.custom_fields == {"seats": 12, "plan": "Pro", "renewal": "2027-01-31"}


def test_only_admins_define_custom_fields(bob):
    with pytest.raises(NotPermitted):
        services.custom_field_create(
            actor=bob, data={"target": "contact", "label": "Seats", "field_type": "number"}
        )


def test_tags_are_shared_and_matched_ignoring_case(bob, charlie):
    first = make_contact(bob, tags=["Partner"])
    second = make_contact(bob, tags=["partner", "Beta"])
    assert Tag.objects.count() == 2
    assert first.tags.get() == second.tags.get(name_key="partner")
    # Read-only users may not invent tags.
    with pytest.raises(NotPermitted):
        services.contact_create(actor=charlie, data={"given_name": "X", "tags": ["New"]})


def test_renaming_a_tag_updates_search(alice, bob):
    contact = make_contact(bob, tags=["Trade show"])
    tag = Tag.objects.get()
    services.tag_update(actor=alice, tag=tag, data={"name": "Conference"})
    found = selectors.contact_list(actor=bob, q="conference").items
    assert found == [contact]


def test_an_organization_hierarchy_cannot_loop(bob):
    group = make_organization(bob, name="Holding")
    sub = make_organization(bob, name="Subsidiary", parent=group.pk)
    with pytest.raises(InvalidInput) as exc:
        services.organization_update(actor=bob, org=group, data={"parent": sub.pk})
    assert "parent" in errors_of(exc)
    assert Organization.objects.get(pk=group.pk).parent is None


def test_organizations_normalise_domains_and_website(bob):
    org = make_organization(
        bob, name="Acme", domains=["https://www.Acme.com/", "acme.co.uk"], website="acme.com"
    )
    assert org.domains == ["acme.com", "acme.co.uk"]
    assert org.website == "https://acme.com"


def test_reporting_lines_stay_inside_the_organization_and_never_loop(bob):
    org = make_organization(bob)
    other = make_organization(bob)
    ceo, cto, dev, outsider = (make_contact(bob) for _ in range(4))
    employ(ceo, org)
    employ(cto, org, reports_to=ceo.pk, buying_role="decision_maker")
    dev_job = employ(dev, org, reports_to=cto.pk)
    employ(outsider, other)
    with pytest.raises(InvalidInput) as exc:
        services.affiliation_update(
            actor=bob, affiliation=ceo.affiliations.get(), data={"reports_to": dev.pk}
        )
    assert "cannot loop" in errors_of(exc)["reports_to"][0]
    with pytest.raises(InvalidInput) as exc:
        services.affiliation_update(
            actor=bob, affiliation=dev_job, data={"reports_to": outsider.pk}
        )
    assert "does not currently work at" in errors_of(exc)["reports_to"][0]


def test_the_chart_follows_reports_to_and_marks_buying_roles(bob):
    org = make_organization(bob)
    ceo = make_contact(bob, given_name="Ceo")
    cto = make_contact(bob, given_name="Cto")
    employ(ceo, org, buying_role="economic_buyer")
    employ(cto, org, reports_to=ceo.pk, buying_role="champion")
    roots = selectors.organization_chart(actor=bob, org=org)
    assert [n.affiliation.contact for n in roots] == [ceo]
    assert [n.affiliation.contact for n in roots[0].reports] == [cto]
    assert roots[0].reports[0].affiliation.buying_role == "champion"


def test_when_someone_leaves_their_reports_move_up(bob):
    org = make_organization(bob)
    ceo, cto, dev = (make_contact(bob) for _ in range(3))
    employ(ceo, org)
    cto_job = employ(cto, org, reports_to=ceo.pk)
    employ(dev, org, reports_to=cto.pk)
    services.affiliation_update(
        actor=bob, affiliation=cto_job, data={"end_date": "2025-01-31", "is_current": False}
    )
    assert dev.affiliations.get().reports_to == ceo


def test_an_affiliation_makes_the_person_findable_by_organization(bob):
    org = make_organization(bob, name="Initech")
    person = make_contact(bob)
    employ(person, org, title="Analyst")
    assert selectors.contact_list(actor=bob, q="initech").items == [person]
    services.organization_update(actor=bob, org=org, data={"name": "Initrode"})
    assert selectors.contact_list(actor=bob, q="initrode").items == [person]


def test_text_with_nul_bytes_is_refused_not_crashed_on(bob):
    with pytest.raises(InvalidInput) as exc:
        services.contact_create(
            actor=bob, data={"given_name": "Nul\x00l", "emails": [{"address": "a\x00@x.com"}]}
        )
    assert {"given_name", "emails[0].address"} <= set(errors_of(exc))


def test_a_person_holds_one_current_role_per_organization(bob):
    org = make_organization(bob)
    person = make_contact(bob)
    employ(person, org, title="Engineer")
    with pytest.raises(InvalidInput) as exc:
        employ(person, org, title="Manager")
    assert "already works at" in errors_of(exc)["organization"][0]
    employ(person, org, title="Intern", is_current=False, end_date="2020-01-01")
    assert person.affiliations.count() == 2


def test_a_contact_keeps_one_external_id_per_source_and_no_two_contacts_share_one(bob):
    first = make_contact(
        bob, external_ids=[{"source": "Old CRM", "id": "C-17"}, {"source": "Phone", "id": "9"}]
    )
    assert sorted((x.source, x.value) for x in first.external_ids.all()) == [
        ("Old CRM", "C-17"),
        ("Phone", "9"),
    ]
    with pytest.raises(InvalidInput) as exc:
        make_contact(bob, external_ids=[{"source": "Old CRM", "id": "C-17"}])
    assert f"already belongs to contact {first.pk}" in errors_of(exc)["external_ids[0].id"][0]
    with pytest.raises(InvalidInput) as exc:
        make_contact(bob, external_ids=[{"source": "X", "id": "1"}, {"source": "x", "id": "2"}])
    assert "external_ids[1].source" in errors_of(exc)
    # Saving the contact again with its own ids is fine.
    services.contact_update(actor=bob, contact=first, data={"job_title": "CEO"})
    assert first.external_ids.count() == 2
