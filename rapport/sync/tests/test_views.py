"""The "Phones and address books" page: how to connect, a QR code of the server, the
books, the devices that synced and how far, and the conflicts to decide."""

from __future__ import annotations

import pytest
from django.utils import timezone

from rapport.access.services import app_password_create
from rapport.contacts.tests.factories import make_contact
from rapport.sync.models import Device, SyncConflict
from rapport.sync.services import books

pytestmark = pytest.mark.django_db


def test_the_page_says_how_to_connect_and_which_devices_synced(alice_client, alice):
    phone, _secret = app_password_create(user=alice, name="Alice's iPhone")
    app_password_create(user=alice, name="Laptop")
    make_contact(given_name="Ada", family_name="Lovelace")
    book = books.book_refresh(books.book_default(alice)).book
    Device.objects.create(app_password=phone, book=book, seq=book.seq, synced_at=timezone.now())

    page = alice_client.get("/address-books/").content.decode()
    assert "http://testserver/" in page and "<svg" in page  # the QR code, drawn here
    assert "/dav/addressbooks/alice/contacts/" in page
    assert "Alice&#x27;s iPhone" in page and "All contacts: up to date" in page
    assert "Laptop" in page and "None yet" in page
    assert "Nothing clashed." in page


def test_a_conflict_is_decided_on_the_page(alice_client, alice):
    ada = make_contact(given_name="Ada", family_name="Lovelace", job_title="Countess")
    book = books.book_default(alice)
    conflict = SyncConflict.objects.create(
        book=book, contact_id=ada.pk, contact_name=ada.display_name, device="Alice's iPhone",
        field="job_title", base_value="", server_value="Countess", client_value="Mathematician",
    )  # fmt: skip
    page = alice_client.get("/address-books/").content.decode()
    assert "Job title" in page and "Mathematician" in page and "Countess" in page

    response = alice_client.post(f"/address-books/conflicts/{conflict.pk}/", {"choice": "device"})
    assert response.status_code == 302
    ada.refresh_from_db()
    conflict.refresh_from_db()
    assert ada.job_title == "Mathematician" and conflict.resolution == "taken"
    assert "Nothing clashed." in alice_client.get("/address-books/").content.decode()


def test_no_one_decides_another_user_s_conflicts(bob_client, alice):
    ada = make_contact(given_name="Ada", family_name="Lovelace")
    conflict = SyncConflict.objects.create(
        book=books.book_default(alice), contact_id=ada.pk, contact_name="Ada",
        field="job_title", server_value="a", client_value="b",
    )  # fmt: skip
    assert (
        bob_client.post(
            f"/address-books/conflicts/{conflict.pk}/", {"choice": "device"}
        ).status_code
        == 404
    )


def test_the_command_line_lists_devices_and_decides_conflicts(alice):
    import io

    from django.core.management import call_command

    ada = make_contact(given_name="Ada", family_name="Lovelace", job_title="Countess")
    phone, _secret = app_password_create(user=alice, name="Alice's iPhone")
    book = books.book_refresh(books.book_default(alice)).book
    Device.objects.create(app_password=phone, book=book, seq=0, synced_at=timezone.now())
    out = io.StringIO()
    call_command("carddav", "devices", "alice", stdout=out)
    assert "Alice's iPhone" in out.getvalue() and "All contacts: 1 behind" in out.getvalue()

    conflict = SyncConflict.objects.create(
        book=book, contact_id=ada.pk, contact_name=ada.display_name, field="job_title",
        server_value="Countess", client_value="Mathematician",
    )  # fmt: skip
    out = io.StringIO()
    call_command("carddav", "conflicts", "alice", stdout=out)
    assert f"{conflict.pk}\tAda Lovelace" in out.getvalue() and "Mathematician" in out.getvalue()
    call_command("carddav", "conflicts", "alice", "--keep", str(conflict.pk), stderr=io.StringIO())
    ada.refresh_from_db()
    conflict.refresh_from_db()
    assert ada.job_title == "Countess" and conflict.resolution == "kept"


def test_a_book_for_a_tag_is_added_and_removed_on_the_page(alice_client, alice):
    from rapport.contacts.models import Tag
    from rapport.sync.models import AddressBook

    tag = Tag.objects.create(name="Golf partners", name_key="golf partners")
    make_contact(given_name="Ada", family_name="Lovelace", tags=["Golf partners"])
    alice_client.post("/address-books/new/", {"source": f"tag:{tag.pk}"})
    book = AddressBook.objects.get(owner=alice, tag=tag)
    assert book.slug == "golf-partners"
    assert list(books.book_members(book).values_list("family_name", flat=True)) == ["Lovelace"]
    assert "Golf partners" in alice_client.get("/address-books/").content.decode()
    alice_client.post(f"/address-books/{book.pk}/remove/")
    assert not AddressBook.objects.filter(pk=book.pk).exists()
    assert Tag.objects.filter(pk=tag.pk).exists()
