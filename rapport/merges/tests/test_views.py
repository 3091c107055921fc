"""The merge pages: pick, compare, confirm, merge; list and unmerge; old links redirect."""

from __future__ import annotations

from rapport.access.models import ChangeRecord
from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact, make_organization
from rapport.merges.models import Merge


def test_compare_confirm_merge_and_unmerge_through_the_pages(bob_client, bob):
    keep = make_contact(bob, given_name="Ada", family_name="Lovelace")
    other = make_contact(bob, given_name="Augusta", family_name="King", job_title="Analyst")
    page = bob_client.get(f"/merges/contacts/new/?ids={keep.pk}&ids={other.pk}")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="choice-name"' in html and "merge-row--differ" in html
    form = {"ids": [keep.pk, other.pk], "survivor": keep.pk, "choice-name": other.pk}
    confirm = bob_client.post("/merges/contacts/", form)
    assert confirm.status_code == 200 and b"Merge into" in confirm.content
    assert Contact.objects.filter(pk=other.pk).exists()  # not before the confirmation
    done = bob_client.post("/merges/contacts/", {**form, "confirm": "1"})
    assert done.status_code == 302 and done["Location"] == f"/contacts/{keep.pk}/"
    assert Contact.objects.get(pk=keep.pk).display_name == "Augusta King"
    old = bob_client.get(f"/contacts/{other.pk}/")
    assert old.status_code == 302 and old["Location"] == f"/contacts/{keep.pk}/"
    assert bob_client.get(f"/contacts/{other.pk}/edit/")["Location"] == f"/contacts/{keep.pk}/edit/"
    detail = bob_client.get(f"/contacts/{keep.pk}/").content.decode()
    assert "merged this contact" in detail
    merge = Merge.objects.get()
    listing = bob_client.get("/merges/").content.decode()
    assert f"/merges/{merge.pk}/undo/" in listing
    assert bob_client.get(f"/merges/{merge.pk}/undo/").status_code == 200
    assert bob_client.post(f"/merges/{merge.pk}/undo/").status_code == 302
    assert Contact.objects.filter(pk=other.pk).exists()
    assert ChangeRecord.objects.filter(object_id=other.pk, action="unmerge").exists()


def test_a_never_merged_id_is_still_a_404(bob_client):
    assert bob_client.get("/contacts/987654/").status_code == 404


def test_an_organization_link_follows_its_merge(bob_client, bob):
    from rapport.merges import services

    keep, other = make_organization(bob), make_organization(bob)
    services.organizations_merge(actor=bob, survivor_id=keep.pk, merged_ids=[other.pk])
    response = bob_client.get(f"/organizations/{other.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/organizations/{keep.pk}/"


def test_readers_cannot_open_the_merge_page(charlie_client):
    assert charlie_client.get("/merges/contacts/new/").status_code == 403


def test_the_history_shows_merges_with_a_link_to_them(alice, alice_client):
    from rapport.contacts.tests.factories import make_contact, make_organization
    from rapport.merges import services as merges

    a = make_contact(alice, given_name="Ada", family_name="Lovelace")
    b = make_contact(alice, given_name="Ada", family_name="King", job_title="Countess")
    merges.contacts_merge(actor=alice, survivor_id=a.pk, merged_ids=[b.pk])
    page = alice_client.get(f"/contacts/{a.pk}/").content.decode()
    assert f"Merged in: Ada King (#{b.pk})" in page
    assert 'href="/merges/"' in page
    org = make_organization(alice, name="Acme")
    assert (
        f"/merges/organizations/new/?ids={org.pk}"
        in alice_client.get(f"/organizations/{org.pk}/").content.decode()
    )
