"""Who entered and left a segment, and when: recorded by the worker's duty after contacts
change (and every 15 minutes for queries that count time), shown on the page and in
the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.contacts.services import contact_update, tag_create
from rapport.contacts.tests.factories import make_contact
from rapport.segments import services
from rapport.segments.models import Segment, SegmentMember

pytestmark = pytest.mark.django_db


def test_entries_and_exits_are_recorded_as_contacts_change(alice, alice_client):
    tag_create(actor=alice, data={"name": "vip"})
    ada = make_contact(given_name="Ada", family_name="Lovelace", tags=["vip"])
    bob = make_contact(given_name="Bob", family_name="Miller")
    segment = services.segment_create(actor=alice, data={"name": "VIPs", "query": "tag:vip"})
    assert services.segments_due() == [segment.pk]
    done = services.segment_refresh(segment_id=segment.pk)
    assert (done.entered, done.left, done.count) == (1, 0, 1)
    assert services.segments_due() == []  # recorded, nothing changed

    contact_update(actor=alice, contact=bob, data={"tags": ["vip"]}, via="api")
    contact_update(actor=alice, contact=ada, data={"tags": []}, via="api")
    assert services.segments_due() == [segment.pk]  # a contact changed
    done = services.segment_refresh(segment_id=segment.pk)
    assert (done.entered, done.left, done.count) == (1, 1, 1)
    stays = SegmentMember.objects.filter(segment=segment).order_by("pk")
    assert [(s.contact_id, s.left_at is None) for s in stays] == [(ada.pk, False), (bob.pk, True)]

    since = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    changes = alice_client.get(f"/api/v1/segments/{segment.pk}/changes", {"since": since}).json()
    assert sorted((c["name"], c["change"]) for c in changes) == [
        ("Ada Lovelace", "entered"), ("Ada Lovelace", "left"), ("Bob Miller", "entered"),
    ]  # fmt: skip
    page = alice_client.get(f"/segments/{segment.pk}/").content.decode()
    assert "Ada Lovelace</a> left" in page and "Bob Miller</a> entered" in page


def test_every_segment_is_recorded_again_after_a_while(alice):
    segment = services.segment_create(actor=alice, data={"name": "Everyone", "query": "has:email"})
    services.segment_refresh(segment_id=segment.pk)
    Segment.objects.filter(pk=segment.pk).update(
        counted_at=timezone.now() - services.REFRESH_EVERY - dt.timedelta(seconds=1)
    )
    assert services.segments_due() == [segment.pk]
