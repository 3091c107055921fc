"""Merging contacts and organizations: what moves, what is kept, what is refused."""

from __future__ import annotations

import pytest

from rapport.access.models import ChangeRecord
from rapport.contacts import services as contact_services
from rapport.contacts.models import Affiliation, Contact, Email, ExternalId, Organization
from rapport.contacts.tests.factories import employ, make_contact, make_organization
from rapport.core.errors import InvalidInput, NotPermitted
from rapport.ingest.models import ImportBatch, ImportChange
from rapport.merges import selectors, services
from rapport.merges.models import Redirect
from rapport.quality.models import ContactQuality, ContactVerification, Suggestion


def merge(world, actor, **kwargs):
    return services.contacts_merge(
        actor=actor, survivor_id=world.survivor.pk, merged_ids=[world.merged.pk], **kwargs
    )


def test_every_email_phone_link_and_tag_moves_to_the_survivor_once(world, alice):
    merge(world, alice)
    s = Contact.objects.get(pk=world.survivor.pk)
    assert sorted(s.emails.values_list("address_key", flat=True)) == [
        "ada@example.org",
        "ada@home.example",
    ]
    assert sorted(s.phones.values_list("e164", flat=True)) == ["+442079460001", "+442079460958"]
    assert s.links.count() == 2
    assert sorted(s.tags.values_list("name", flat=True)) == ["Math", "VIP"]
    for kind in (s.emails, s.phones, s.addresses, s.links):
        assert kind.filter(primary=True).count() == 1


def test_fields_default_to_the_most_recent_value_and_a_blank_never_wins(world, alice):
    contact_services.contact_update(actor=alice, contact=world.survivor, data={"notes": "Newer"})
    merge(world, alice)
    s = Contact.objects.get(pk=world.survivor.pk)
    assert s.job_title == "Analyst"  # the survivor had none
    assert s.given_name == "Ada"  # the survivor was updated last
    assert s.custom_fields == {"tier": "gold", "ref": "R-7"}
    assert s.photo  # only the merged contact had one


def test_a_choice_picks_the_record_whose_value_survives(world, alice):
    merge(world, alice, choices={"name": world.merged.pk, "custom_fields.tier": world.merged.pk})
    s = Contact.objects.get(pk=world.survivor.pk)
    assert (s.given_name, s.family_name, s.display_name) == (
        "Augusta Ada",
        "King",
        "Augusta Ada King",
    )
    assert s.sort_name == "augusta ada king"
    assert s.family_key == "king"
    assert "augusta ada king" in s.search_doc
    assert s.custom_fields["tier"] == "silver"


def test_an_invalid_value_loses_to_a_valid_one(world, alice):
    Contact.objects.filter(pk=world.merged.pk).update(time_zone="Mars/Olympus")
    Contact.objects.filter(pk=world.survivor.pk).update(updated_at="2000-01-01T00:00:00Z")
    merge(world, alice)
    assert Contact.objects.get(pk=world.survivor.pk).time_zone == "Europe/London"


def test_roles_at_the_same_organization_become_one_and_reporting_lines_follow(world, alice):
    merge(world, alice)
    roles = Affiliation.objects.filter(contact=world.survivor, organization=world.acme)
    assert roles.count() == 1
    assert roles.get().title == "Analyst"  # the survivor's blank filled
    assert roles.get().buying_role == "champion"
    assert Affiliation.objects.filter(contact=world.survivor, organization=world.globex).exists()
    assert Affiliation.objects.get(contact=world.colleague).reports_to_id == world.survivor.pk


def test_a_merge_that_makes_someone_report_to_themselves_is_refused(world, alice):
    role = Affiliation.objects.get(contact=world.survivor, organization=world.acme)
    contact_services.affiliation_update(
        actor=alice, affiliation=role, data={"reports_to": world.merged.pk}
    )
    with pytest.raises(InvalidInput) as exc:
        merge(world, alice)
    assert "reporting loop" in str(exc.value)
    assert Contact.objects.filter(pk=world.merged.pk).exists()


def test_ids_elsewhere_from_one_source_stay_findable_for_a_re_import(world, alice):
    merge(world, alice)
    assert ExternalId.objects.get(source="crm").contact_id == world.survivor.pk
    assert ExternalId.objects.get(source="linkedin").contact_id == world.survivor.pk
    assert selectors.external_id_target(source="crm", value="2") == world.survivor.pk
    assert selectors.external_id_target(source="crm", value="1") == world.survivor.pk


def test_quality_rows_suggestions_history_and_import_records_move(world, alice):
    batch = ImportBatch.objects.create(source="csv", file_name="x.csv", checksum="x")
    ImportChange.objects.create(
        batch=batch, contact_id=world.merged.pk, action="created", version_after=40
    )
    m = merge(world, alice)
    s = world.survivor.pk
    assert ContactVerification.objects.get().contact_id == s
    assert ContactQuality.objects.filter(contact_id=world.merged.pk).count() == 0
    assert Suggestion.objects.get().contact_id == s
    assert ImportChange.objects.get().contact_id == s
    # An import undo must never take the survivor for the contact it created.
    assert Contact.objects.get(pk=s).version > 40
    actions = list(
        ChangeRecord.objects.filter(object_type="contact", object_id=s).values_list(
            "action", flat=True
        )
    )
    assert actions[0] == "merge" and actions.count("create") == 2
    entry = ChangeRecord.objects.get(object_id=world.merged.pk, action="merge")
    assert entry.changes["merge"] == [None, m.pk]


def test_the_same_email_on_both_ends_as_one_row_and_comes_back_on_both(world, alice):
    m = merge(world, alice)
    assert Email.objects.filter(address_key="ada@example.org").count() == 1
    services.merge_undo(actor=alice, merge_id=m.pk)
    assert Email.objects.filter(address_key="ada@example.org").count() == 2


@pytest.mark.parametrize(
    ("survivor", "merged", "path", "message"),
    [
        (1, [], "merged", "at least one other"),
        ("s", [1], "survivor", "Give the id"),
        (None, [None], "survivor", "Give the id"),
    ],
)
def test_bad_ids_are_refused_with_the_field_that_is_wrong(alice, survivor, merged, path, message):
    with pytest.raises(InvalidInput) as exc:
        services.contacts_merge(actor=alice, survivor_id=survivor, merged_ids=merged)
    assert message in " ".join(exc.value.by_field()[path])


def test_a_record_cannot_be_merged_into_itself_or_twice(world, alice):
    with pytest.raises(InvalidInput) as exc:
        services.contacts_merge(
            actor=alice, survivor_id=world.survivor.pk, merged_ids=[world.survivor.pk]
        )
    assert "into itself" in exc.value.by_field()["merged[0]"][0]
    m = merge(world, alice)
    with pytest.raises(InvalidInput) as exc:
        merge(world, alice)
    assert f"merge #{m.pk}" in exc.value.by_field()["merged[0]"][0]
    with pytest.raises(InvalidInput) as exc:
        services.contacts_merge(actor=alice, survivor_id=world.survivor.pk, merged_ids=[99999])
    assert "no contact with id 99999" in exc.value.by_field()["merged[0]"][0]


def test_an_unknown_choice_is_refused(world, alice):
    with pytest.raises(InvalidInput) as exc:
        merge(world, alice, choices={"shoe_size": world.merged.pk, "name": 123456})
    assert set(exc.value.by_field()) == {"choices.shoe_size", "choices.name"}


def test_readers_cannot_merge(world, charlie):
    with pytest.raises(NotPermitted):
        merge(world, charlie)


def test_redirects_follow_chains(alice):
    a, b, c = make_contact(alice), make_contact(alice), make_contact(alice)
    services.contacts_merge(actor=alice, survivor_id=b.pk, merged_ids=[a.pk])
    second = services.contacts_merge(actor=alice, survivor_id=c.pk, merged_ids=[b.pk])
    assert selectors.redirect_target(kind="contact", object_id=a.pk) == c.pk
    assert selectors.redirect_target(kind="contact", object_id=c.pk) is None
    first = Redirect.objects.get(old_id=a.pk).merge
    with pytest.raises(InvalidInput) as exc:
        services.merge_undo(actor=alice, merge_id=first.pk)
    assert f"undo merge #{second.pk} first" in str(exc.value)
    services.merge_undo(actor=alice, merge_id=second.pk)
    services.merge_undo(actor=alice, merge_id=first.pk)
    assert Contact.objects.filter(pk__in=[a.pk, b.pk, c.pk]).count() == 3
    with pytest.raises(InvalidInput) as exc:
        services.merge_undo(actor=alice, merge_id=first.pk)
    assert "already undone" in str(exc.value)


def test_organizations_merge_their_people_domains_and_children(alice):
    acme = make_organization(alice, name="Acme", domains=["acme.example"])
    dup = make_organization(alice, name="ACME Inc", domains=["acme.com"], industry="Tools")
    child = make_organization(alice, name="Acme Labs", parent=dup.pk)
    person = make_contact(alice)
    employ(person, acme, alice)
    employ(person, dup, alice, title="CTO")
    services.organizations_merge(actor=alice, survivor_id=acme.pk, merged_ids=[dup.pk])
    acme.refresh_from_db()
    assert acme.domains == ["acme.example", "acme.com"]
    assert acme.industry == "Tools"
    assert Organization.objects.get(pk=child.pk).parent_id == acme.pk
    assert Affiliation.objects.get(contact=person).title == "CTO"
    assert selectors.redirect_target(kind="organization", object_id=dup.pk) == acme.pk


def test_an_organization_cannot_become_part_of_itself(alice):
    parent = make_organization(alice, name="Acme")
    child = make_organization(alice, name="Acme EU", parent=parent.pk)
    with pytest.raises(InvalidInput) as exc:
        services.organizations_merge(
            actor=alice,
            survivor_id=child.pk,
            merged_ids=[parent.pk],
            choices={"parent": child.pk},
        )
    assert "part of itself" in exc.value.by_field()["choices.parent"][0]
    assert Organization.objects.filter(pk=parent.pk).exists()
