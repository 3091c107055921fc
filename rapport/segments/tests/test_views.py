"""The segment pages: the list with live counts, the editor (errors keep what was typed),
the members with "why", the live preview, and lists."""

from __future__ import annotations

import pytest

from rapport.contacts.services import tag_create
from rapport.contacts.tests.factories import make_contact
from rapport.segments import services
from rapport.segments.models import ContactList, Segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def vips(alice):
    tag_create(actor=alice, data={"name": "vip"})
    return [
        make_contact(given_name=f"Vip{n}", family_name="Person", tags=["vip"]) for n in range(3)
    ]


def test_a_segment_is_made_on_the_page_and_shows_its_members(alice_client, vips):
    page = alice_client.post(
        "/segments/new/", {"name": "VIPs", "query": "tag:vip AND", "shared": "on"}
    )
    assert page.status_code == 422
    text = page.content.decode()
    assert "at 12: The query ends too soon" in text and "tag:vip AND" in text  # kept
    assert not Segment.objects.exists()

    page = alice_client.post("/segments/new/", {"name": "VIPs", "query": "tag:vip", "shared": "on"})
    segment = Segment.objects.get()
    assert page.status_code == 302 and page["Location"] == f"/segments/{segment.pk}/"
    detail = alice_client.get(page["Location"]).content.decode()
    assert all(v.display_name in detail for v in vips) and "Why?" in detail
    assert alice_client.get(f"/segments/{segment.pk}/count/").content.decode() == "3"
    why = alice_client.get(f"/segments/{segment.pk}/why/{vips[0].pk}/").content.decode()
    assert "in the segment" in why and "<code>tag:vip</code>" in why
    listing = alice_client.get("/segments/").content.decode()
    assert "VIPs" in listing and f"/segments/{segment.pk}/count/" in listing


def test_the_live_preview_counts_exactly_or_says_what_is_wrong(alice_client, vips):
    answer = alice_client.post("/segments/preview/", {"query": "tag:vip"}).content.decode()
    assert "<strong data-preview-count>3</strong> contacts match now" in answer
    answer = alice_client.post("/segments/preview/", {"query": "birthday:>banana"}).content.decode()
    assert "“banana” is not a date" in answer
    parsed = alice_client.post("/segments/parse/", {"query": "tag:vip -tag:x"}).json()
    assert parsed["query"] == "tag:vip AND NOT tag:x"


def test_a_stale_edit_is_refused(alice_client, alice, vips):
    segment = services.segment_create(actor=alice, data={"name": "VIPs", "query": "tag:vip"})
    services.segment_update(actor=alice, segment=segment, data={"description": "changed"})
    page = alice_client.post(
        f"/segments/{segment.pk}/edit/",
        {"name": "VIPs", "query": "NOT tag:vip", "version": str(segment.version)},
    )
    assert page.status_code == 422 and "changed by someone else" in page.content.decode()


def test_lists_are_made_filled_and_emptied_on_their_page(alice_client, alice, vips):
    alice_client.post("/lists/new/", {"name": "Call back"})
    found = ContactList.objects.get()
    alice_client.post(f"/lists/{found.pk}/", {"ids": [str(vips[0].pk)], "action": "add"})
    assert vips[0].display_name in alice_client.get(f"/lists/{found.pk}/").content.decode()
    alice_client.post(f"/lists/{found.pk}/", {"ids": [str(vips[0].pk)], "action": "remove"})
    assert "The list is empty." in alice_client.get(f"/lists/{found.pk}/").content.decode()
    services.segment_create(actor=alice, data={"name": "Callers", "query": 'in:"Call back"'})
    refused = alice_client.post(f"/lists/{found.pk}/delete/", follow=True).content.decode()
    assert "Callers refer to “Call back”" in refused and ContactList.objects.exists()
    alice_client.post(f"/segments/{Segment.objects.get().pk}/delete/")
    alice_client.post(f"/lists/{found.pk}/delete/")
    assert not ContactList.objects.exists() and not Segment.objects.exists()


def test_a_reader_sees_segments_but_cannot_make_them(charlie_client, alice, vips):
    services.segment_create(actor=alice, data={"name": "VIPs", "query": "tag:vip"})
    assert "VIPs" in charlie_client.get("/segments/").content.decode()
    assert charlie_client.get("/segments/new/").status_code == 403


def test_every_member_is_tagged_listed_exported_and_deleted_after_confirming(
    alice_client, alice, vips
):
    import csv
    import io

    from rapport.contacts.models import Contact

    segment = services.segment_create(actor=alice, data={"name": "VIPs", "query": "tag:vip"})
    page = alice_client.get(f"/segments/{segment.pk}/").content.decode()
    assert "Apply to all members" in page and 'name="purpose"' in page
    tag_create(actor=alice, data={"name": "gold"})
    alice_client.post(f"/segments/{segment.pk}/bulk/", {"action": "tag", "value": "gold"})
    assert Contact.objects.filter(tags__name="gold").count() == 3
    services.list_create(actor=alice, data={"name": "Call back"})
    alice_client.post(
        f"/segments/{segment.pk}/bulk/", {"action": "add_to_list", "value": "call back"}
    )
    assert ContactList.objects.get().members.count() == 3

    download = alice_client.get(f"/segments/{segment.pk}/export/?format=csv")
    rows = list(
        csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig")))
    )
    assert sorted(r["given_name"] for r in rows) == ["Vip0", "Vip1", "Vip2"]

    confirm = alice_client.post(f"/segments/{segment.pk}/bulk/", {"action": "delete"})
    assert "Delete 3 contacts?" in confirm.content.decode()
    assert Contact.objects.count() == 3  # nothing yet
    snapshot = confirm.context["preview"].snapshot
    make_contact(given_name="Late", family_name="Vip", tags=["vip"])  # joined meanwhile
    alice_client.post(f"/segments/{segment.pk}/bulk/", {"action": "delete", "snapshot": snapshot})
    assert Contact.objects.count() == 4  # the selection changed: nothing deleted
    confirm = alice_client.post(f"/segments/{segment.pk}/bulk/", {"action": "delete"})
    alice_client.post(
        f"/segments/{segment.pk}/bulk/",
        {"action": "delete", "snapshot": confirm.context["preview"].snapshot},
    )
    assert Contact.objects.count() == 0


def test_a_preview_that_takes_longer_than_a_second_says_it_is_still_counting(
    alice_client, vips, monkeypatch
):
    from rapport.segments import views

    monkeypatch.setattr(views, "count_within", lambda queryset, seconds: None)
    quick = alice_client.post("/segments/preview/", {"query": "tag:vip"}).content.decode()
    assert "Still counting" in quick and "data-preview-count>" not in quick
    assert 'hx-vals=\'{"full": "1"}\'' in quick  # asks again for the full count
    full = alice_client.post(
        "/segments/preview/", {"query": "tag:vip", "full": "1"}
    ).content.decode()
    assert "<strong data-preview-count>3</strong>" in full
