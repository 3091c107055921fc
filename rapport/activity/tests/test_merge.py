"""Merging contacts moves their interactions, participants, tasks, reminders and cadences
to the survivor; undoing the merge brings every row back exactly."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from rapport.activity.models import (
    CorrespondentSuggestion,
    KeepInTouch,
    Notification,
    Participant,
    Reminder,
    Task,
)
from rapport.activity.selectors import timeline
from rapport.activity.services import interactions as services
from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact
from rapport.merges import services as merges
from rapport.merges.tests.dump import differences, dump_database, without_merge_records


def _activity_of(actor, contact, *, days_ago, body):
    when = timezone.now() - dt.timedelta(days=days_ago)
    services.interaction_create(
        actor=actor,
        data={
            "kind": "meeting",
            "subject": body,
            "occurred_at": when.isoformat(),
            "participants": [{"contact_id": contact.pk}, {"email": "someone@else.example.org"}],
        },
    )
    task = Task.objects.create(title=f"Follow up {body}", created_by=actor, assignee=actor)
    task.contacts.add(contact)
    Reminder.objects.create(kind="task", user=actor, task=task, remind_at=when)
    Reminder.objects.create(kind="birthday", user=actor, contact=contact, remind_at=when)
    Notification.objects.create(user=actor, kind="reminder", title=body, contact=contact)


def test_merge_moves_activity_to_the_survivor_and_undo_restores_every_row(alice):
    survivor = make_contact(alice, given_name="Ada", emails=[{"address": "ada@example.org"}])
    merged = make_contact(alice, given_name="Ada L.", emails=[{"address": "ada@home.example"}])
    _activity_of(alice, survivor, days_ago=10, body="old")
    _activity_of(alice, merged, days_ago=2, body="recent")
    KeepInTouch.objects.create(contact=survivor, every_days=30)
    KeepInTouch.objects.create(contact=merged, every_days=14)
    CorrespondentSuggestion.objects.create(
        address_key="x@y.example.org",
        address="x@y.example.org",
        first_seen_at=timezone.now(),
        last_seen_at=timezone.now(),
        contact=merged,
    )
    from rapport.activity.services.participants import contacts_refresh_activity

    contacts_refresh_activity([survivor.pk, merged.pk])
    before = dump_database()

    merge = merges.contacts_merge(actor=alice, survivor_id=survivor.pk, merged_ids=[merged.pk])
    kept = Contact.objects.get(pk=survivor.pk)
    assert Participant.objects.filter(contact_id=merged.pk).count() == 0
    assert Participant.objects.filter(contact_id=survivor.pk).count() == 2
    subjects = [
        e.item.subject
        for e in timeline.contact_timeline(actor=alice, contact_id=survivor.pk).entries
        if e.source == "interaction"
    ]
    assert subjects == ["recent", "old"]
    assert kept.last_contacted_at > timezone.now() - dt.timedelta(days=3)  # the merged one's
    assert Task.objects.filter(contacts=kept).count() == 2
    assert kept.reach_out_by is not None

    merges.merge_undo(actor=alice, merge_id=merge.pk)
    after = dump_database()
    found = differences(without_merge_records(before), without_merge_records(after))
    allowed = {f"contacts.contact #{survivor.pk}.{c}" for c in ("version", "updated_at")}
    assert [d for d in found if d.split(":")[0] not in allowed] == []
