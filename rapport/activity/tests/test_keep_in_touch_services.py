"""Keep-in-touch cadences per contact and per tag: the reach-out day, reset by two-way
interactions, moved by tags, listed on "Due to reach out" page by page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.activity.models import KeepInTouch
from rapport.activity.services import interactions, keep_in_touch
from rapport.activity.services.participants import contacts_refresh_activity
from rapport.activity.tests.tasks_support import contact
from rapport.contacts import services as contacts
from rapport.contacts.models import Contact
from rapport.core.errors import InvalidInput, NotPermitted

pytestmark = pytest.mark.django_db


def day(c: Contact) -> dt.date | None:
    return Contact.objects.get(pk=c.pk).reach_out_by


def test_a_contact_cadence_counts_from_creation_until_a_two_way_interaction(bob):
    ann = contact(bob)
    keep_in_touch.keep_in_touch_set(actor=bob, data={"contact_id": ann.pk, "every_days": 30})
    assert day(ann) == timezone.localtime(ann.created_at).date() + dt.timedelta(days=30)
    # a note is no exchange; a meeting is
    interactions.interaction_create(
        actor=bob, data={"kind": "note", "body": "hm", "participants": [{"contact_id": ann.pk}]}
    )
    assert day(ann) == timezone.localtime(ann.created_at).date() + dt.timedelta(days=30)
    met = timezone.now() - dt.timedelta(days=3)
    interactions.interaction_create(
        actor=bob,
        data={
            "kind": "meeting",
            "occurred_at": met.isoformat(),
            "participants": [{"contact_id": ann.pk}],
        },
    )
    assert day(ann) == timezone.localtime(met).date() + dt.timedelta(days=30)


def test_a_tag_cadence_covers_everyone_with_the_tag_and_the_shortest_wins(bob):
    people = [contact(bob, f"P{i} Person", tags=["Investors"]) for i in range(5)]
    outsider = contact(bob, "Out Sider")
    cadence = keep_in_touch.keep_in_touch_set(
        actor=bob, data={"tag": "investors", "every_days": 90}
    )
    created = timezone.localtime(people[0].created_at).date()
    assert {day(p) for p in people} == {created + dt.timedelta(days=90)}
    assert day(outsider) is None
    keep_in_touch.keep_in_touch_set(actor=bob, data={"contact_id": people[0].pk, "every_days": 10})
    assert day(people[0]) == created + dt.timedelta(days=10)
    # the main session's per-contact recompute agrees with the bulk one
    contacts_refresh_activity([p.pk for p in people])
    assert day(people[0]) == created + dt.timedelta(days=10)
    assert day(people[1]) == created + dt.timedelta(days=90)
    keep_in_touch.keep_in_touch_update(actor=bob, cadence=cadence, data={"every_days": 5})
    assert day(people[0]) == created + dt.timedelta(days=5)
    keep_in_touch.keep_in_touch_remove(actor=bob, cadence=cadence)
    assert day(people[0]) == created + dt.timedelta(days=10)
    assert day(people[1]) is None
    assert KeepInTouch.objects.count() == 1


def test_gaining_or_losing_a_tag_moves_the_reach_out_day(bob):
    ann = contact(bob)
    ben = contact(bob, "Ben Ray", tags=["VIP"])
    keep_in_touch.keep_in_touch_set(actor=bob, data={"tag": "VIP", "every_days": 14})
    assert day(ben) is not None and day(ann) is None
    contacts.contact_update(
        actor=bob, contact=Contact.objects.get(pk=ann.pk), data={"tags": ["VIP"]}
    )
    assert day(ann) == timezone.localtime(ann.created_at).date() + dt.timedelta(days=14)
    contacts.contact_update(actor=bob, contact=Contact.objects.get(pk=ann.pk), data={"tags": []})
    assert day(ann) is None


def test_a_tag_cadence_updates_many_contacts_in_few_queries(bob, django_assert_max_num_queries):
    people = [contact(bob, f"P{i} Person", tags=["Bulk"]) for i in range(40)]
    with django_assert_max_num_queries(15):
        keep_in_touch.keep_in_touch_set(actor=bob, data={"tag": "Bulk", "every_days": 7})
    assert (
        Contact.objects.filter(pk__in=[p.pk for p in people], reach_out_by__isnull=False).count()
        == 40
    )


def test_bad_cadences_are_refused_with_their_field(bob, charlie):
    with pytest.raises(InvalidInput) as caught:
        keep_in_touch.keep_in_touch_set(actor=bob, data={"contact_id": 99999, "every_days": 0})
    assert {e.path for e in caught.value.errors} == {"contact_id", "every_days"}
    with pytest.raises(InvalidInput) as caught:
        keep_in_touch.keep_in_touch_set(actor=bob, data={"every_days": 3})
    assert caught.value.errors[0].path == "contact_id"
    with pytest.raises(NotPermitted):
        keep_in_touch.keep_in_touch_set(actor=charlie, data={"tag": "x", "every_days": 3})


def test_due_to_reach_out_pages_by_day_then_id(bob, django_assert_num_queries):
    people = [contact(bob, f"P{i} Person", owner="bob") for i in range(7)]
    today = timezone.localdate()
    for i, person in enumerate(people):
        Contact.objects.filter(pk=person.pk).update(reach_out_by=today - dt.timedelta(days=i % 3))
    Contact.objects.filter(pk=people[0].pk).update(reach_out_by=today + dt.timedelta(days=1))
    seen: list[int] = []
    cursor = None
    while True:
        with django_assert_num_queries(3):  # contacts, own cadences, tag cadences
            page = keep_in_touch.due_to_reach_out(actor=bob, cursor=cursor, limit=2)
        seen += [r.contact.pk for r in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = sorted((Contact.objects.get(pk=p.pk).reach_out_by, p.pk) for p in people[1:])
    assert seen == [pk for _, pk in expected]
