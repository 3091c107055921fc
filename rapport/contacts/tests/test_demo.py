"""The demo data: the requested amounts of valid, searchable, consistent records."""

from __future__ import annotations

import phonenumbers
import pytest
from django.core.management import call_command

from rapport.access.models import ChangeRecord
from rapport.contacts import demo, normalize, selectors
from rapport.contacts.models import Affiliation, Contact, Email, Organization, Phone, Tag
from rapport.contacts.services.contacts import contact_refresh_search
from rapport.contacts.services.organizations import organization_refresh_search

pytestmark = pytest.mark.django_db


def _reporting_chains_end(org_id: int) -> bool:
    boss = dict(
        Affiliation.objects.filter(organization_id=org_id, is_current=True).values_list(
            "contact_id", "reports_to_id"
        )
    )
    for start in boss:
        seen = set()
        current = start
        while current is not None:
            if current in seen:
                return False
            seen.add(current)
            current = boss.get(current)
    return True


def test_the_demo_command_adds_the_requested_people_and_organizations(alice):
    call_command("demo", contacts=120, organizations=15, realistic=True, seed=1, verbosity=0)

    assert Contact.objects.count() == 120
    assert Organization.objects.count() == 15
    assert Tag.objects.count() == 12
    assert Affiliation.objects.filter(is_current=True).exists()
    assert Affiliation.objects.filter(is_current=False).exists()
    assert set(Contact.objects.values_list("owner__username", flat=True)) <= {"alice", None}
    assert ChangeRecord.objects.filter(object_type="contact", action="create").count() == 120
    countries = set(Contact.objects.values_list("addresses__country", flat=True)) - {None}
    assert len(countries) >= 4


def test_every_phone_number_is_valid_and_every_email_normalised(alice):
    demo.demo_load(contacts=150, organizations=10, seed=2, progress=False)

    assert Phone.objects.count() >= 150
    for phone in Phone.objects.all():
        region = phonenumbers.region_code_for_number(phonenumbers.parse(phone.e164))
        assert normalize.phone(phone.number, region=region).e164 == phone.e164
    for email in Email.objects.all():
        assert normalize.email(email.address) == email.address
        assert email.address_key == normalize.email_key(email.address)


def test_every_demo_person_can_be_saved_again_as_they_are(alice):
    """A number typed the national way is read by the person's address country, else by
    the default region: one without an address must not hold one from elsewhere."""
    from rapport.contacts.services import contact_update

    demo.demo_load(contacts=400, organizations=10, seed=3, progress=False)
    for contact in Contact.objects.all():
        contact_update(actor=alice, contact=contact, data={"nickname": "x"}, via="cli")


def test_stored_search_text_and_sort_keys_match_what_the_services_write(alice):
    demo.demo_load(contacts=80, organizations=8, seed=3, progress=False)

    for contact in Contact.objects.all()[:40]:
        stored = (contact.search_doc, contact.sort_name, contact.family_key)
        contact_refresh_search(contact=contact)
        contact.refresh_from_db()
        assert (contact.search_doc, contact.sort_name, contact.family_key) == stored
    for org in Organization.objects.all():
        stored = (org.search_doc, org.sort_name)
        organization_refresh_search(org=org)
        org.refresh_from_db()
        assert (org.search_doc, org.sort_name) == stored


def test_a_generated_contact_is_found_by_phone_fragment_and_email(alice):
    demo.demo_load(contacts=100, organizations=10, seed=4, progress=False)
    phone = Phone.objects.filter(contact__isnull=False).select_related("contact").first()
    email = Email.objects.select_related("contact").first()

    fragment = phone.e164[-7:-4] + " " + phone.e164[-4:]
    by_phone = selectors.contact_list(actor=alice, q=fragment, limit=200)
    by_email = selectors.contact_list(actor=alice, q=email.address.upper())
    by_name = selectors.contact_list(actor=alice, q=email.contact.family_name, limit=200)

    assert phone.contact in by_phone.items
    assert by_email.items[0] == email.contact
    assert email.contact in by_name.items


def test_reporting_lines_never_loop(alice):
    demo.demo_load(contacts=300, organizations=6, seed=5, progress=False)

    for org_id in Organization.objects.values_list("id", flat=True):
        assert _reporting_chains_end(org_id)
    managers = Affiliation.objects.filter(reports_to__isnull=False)
    assert managers.exists()
    for a in managers:
        assert Affiliation.objects.filter(
            contact_id=a.reports_to_id, organization_id=a.organization_id, is_current=True
        ).exists()


def test_a_bulk_load_rebuilds_the_search_index_it_set_aside(alice, monkeypatch):
    monkeypatch.setattr(demo, "BULK_FROM", 0)
    demo.demo_load(contacts=60, organizations=5, seed=6, progress=False, batch_size=25)

    assert Contact.objects.count() == 60
    contact = Contact.objects.order_by("id").last()
    found = selectors.contact_list(actor=alice, q=contact.search_doc.split(" | ")[1])
    assert contact in found.items
    later = Contact.objects.create(display_name="Zebulon Quartermaine", search_doc="zebulon")
    assert selectors.contact_list(actor=alice, q="zebulo").items == [later]


def test_the_same_seed_gives_the_same_people(alice):
    demo.demo_load(contacts=20, organizations=3, seed=9, progress=False)
    first = list(Contact.objects.order_by("id").values_list("display_name", flat=True))
    Contact.objects.all().delete()
    Organization.objects.all().delete()
    demo.demo_load(contacts=20, organizations=3, seed=9, progress=False)

    assert list(Contact.objects.order_by("id").values_list("display_name", flat=True)) == first
