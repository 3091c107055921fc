"""Merge then unmerge gives back the whole database: every table, every column, every id."""

from __future__ import annotations

from rapport.contacts.models import Contact
from rapport.merges import services
from rapport.merges.tests.dump import differences, dump_database, without_merge_records


def same_database(before, after, *, counting=()) -> list[str]:
    """Differences, apart from the version and time of change of ``counting`` rows.

    A record that lived through the merge keeps counting versions up (a version seen
    during the merge must never be handed out again for other content).
    """
    found = differences(without_merge_records(before), without_merge_records(after))
    allowed = {
        f"{table} #{pk}.{column}" for table, pk in counting for column in ("version", "updated_at")
    }
    return [d for d in found if d.split(":")[0] not in allowed]


def test_merge_then_unmerge_of_two_contacts_restores_every_table(world, alice):
    before = dump_database()
    merge = services.contacts_merge(
        actor=alice, survivor_id=world.survivor.pk, merged_ids=[world.merged.pk]
    )
    assert not Contact.objects.filter(pk=world.merged.pk).exists()
    services.merge_undo(actor=alice, merge_id=merge.pk)
    after = dump_database()
    changed = [("contacts.contact", world.survivor.pk)]
    changed += [("contacts.affiliation", c["id"]) for c in merge.snapshot["changed"]]
    assert same_database(before, after, counting=changed) == []


def test_edits_made_after_the_merge_are_kept_and_go_with_the_side_they_concern(world, alice):
    from rapport.contacts import services as contact_services
    from rapport.contacts.models import Email

    merge = services.contacts_merge(
        actor=alice, survivor_id=world.survivor.pk, merged_ids=[world.merged.pk]
    )
    survivor = Contact.objects.get(pk=world.survivor.pk)
    # The UI sends the whole list: every email row is re-created under a new id.
    emails = [
        {"address": e.address, "label": "private" if "home" in e.address else e.label}
        for e in survivor.emails.all()
    ]
    contact_services.contact_update(
        actor=alice,
        contact=survivor,
        data={"emails": [*emails, {"address": "new@example.org"}], "notes": "Met in 2024"},
    )
    services.merge_undo(actor=alice, merge_id=merge.pk)
    survivor = Contact.objects.get(pk=world.survivor.pk)
    merged = Contact.objects.get(pk=world.merged.pk)
    assert survivor.notes == "Met in 2024"  # edited after the merge: kept
    assert sorted(survivor.emails.values_list("address", flat=True)) == [
        "ada@example.org",
        "new@example.org",
    ]
    home = Email.objects.get(address="ada@home.example")
    assert home.contact_id == merged.pk
    assert home.label == "private"  # its edit went back with it
    assert merged.job_title == "Analyst"
    assert survivor.job_title == ""
    assert merged.version > world.merged.version  # changed since: a new version


def test_organization_merge_then_unmerge_restores_every_table(alice):
    from rapport.contacts.tests.factories import employ, make_contact, make_organization

    acme = make_organization(alice, name="Acme", domains=["acme.example"], tags=["Key"])
    dup = make_organization(
        alice,
        name="ACME Inc",
        domains=["acme.com"],
        industry="Tools",
        tags=["Key", "Partner"],
        phones=[{"number": "+44 20 7946 0958"}],
    )
    child = make_organization(alice, name="Acme Labs", parent=dup.pk)
    person, other = make_contact(alice), make_contact(alice)
    employ(person, acme, alice)
    employ(person, dup, alice, title="CTO")
    employ(other, dup, alice, title="Engineer")
    before = dump_database()
    merge = services.organizations_merge(actor=alice, survivor_id=acme.pk, merged_ids=[dup.pk])
    services.merge_undo(actor=alice, merge_id=merge.pk)
    after = dump_database()
    changed = [("contacts.organization", acme.pk)]
    changed += [("contacts.affiliation", c["id"]) for c in merge.snapshot["changed"]]
    assert same_database(before, after, counting=changed) == []
    assert after["contacts.organization"][child.pk]["parent_id"] == dup.pk


def test_three_contacts_merged_at_once_come_back_apart(alice):
    from rapport.contacts.tests.factories import make_contact

    people = [
        make_contact(alice, emails=[{"address": "same@example.org"}], tags=["A"]) for _ in range(3)
    ]
    before = dump_database()
    merge = services.contacts_merge(
        actor=alice, survivor_id=people[0].pk, merged_ids=[p.pk for p in people[1:]]
    )
    services.merge_undo(actor=alice, merge_id=merge.pk)
    assert (
        same_database(before, dump_database(), counting=[("contacts.contact", people[0].pk)]) == []
    )
