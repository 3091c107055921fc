"""Tasks through their services: validation, due keys in the assignee's zone,
completing (recurrence, calls), conflicts, notifications and the contact columns."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from rapport.activity.models import Notification, Reminder, Task
from rapport.activity.services import interactions
from rapport.activity.services import tasks as services
from rapport.activity.tests.tasks_support import contact
from rapport.core.errors import Conflict, InvalidInput, NotPermitted

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
pytestmark = pytest.mark.django_db


def paths(exc: InvalidInput) -> dict[str, str]:
    return {e.path: e.message for e in exc.errors}


def test_it_names_every_bad_field_and_saves_nothing(bob):
    with pytest.raises(InvalidInput) as caught:
        services.task_create(
            actor=bob,
            data={
                "title": "x" * 301,
                "due_date": "2026-03-01",
                "due_at": "2026-03-01T10:00:00+01:00",
                "assignee": "nobody-here",
                "priority": "extreme",
                "status": "maybe",
                "contact_ids": [999999],
                "organization_ids": ["abc"],
                "remind_before": -5,
                "recurrence": "FREQ=SOMETIMES",
                "colour": "red",
            },
        )
    found = paths(caught.value)
    assert set(found) == {
        "title",
        "due_at",
        "assignee",
        "priority",
        "status",
        "contact_ids[0]",
        "organization_ids[0]",
        "remind_before",
        "recurrence",
        "colour",
    }
    assert "nobody-here" in found["assignee"]
    assert Task.objects.count() == 0


def test_a_title_is_required_and_a_naive_time_is_refused(bob):
    with pytest.raises(InvalidInput) as caught:
        services.task_create(actor=bob, data={"title": "  ", "due_at": "2026-03-01T10:00"})
    assert paths(caught.value) == {
        "title": "This field is required.",
        "due_at": "Say which time zone: add an offset such as +01:00 or Z.",
    }


def test_a_repeat_rule_needs_a_due_day(bob):
    with pytest.raises(InvalidInput) as caught:
        services.task_create(actor=bob, data={"title": "Weekly", "recurrence": "FREQ=WEEKLY"})
    assert "recurrence" in paths(caught.value)


def test_read_only_users_cannot_add_tasks(charlie):
    with pytest.raises(NotPermitted):
        services.task_create(actor=charlie, data={"title": "Nope"})


def test_a_due_day_falls_due_at_midnight_in_the_assignees_zone(bob, alice):
    alice.time_zone = "Europe/Berlin"
    alice.save()
    task = services.task_create(
        actor=bob, data={"title": "Send offer", "due_date": "2026-07-01", "assignee": "alice"}
    )
    assert task.due_key == dt.datetime(2026, 7, 1, tzinfo=BERLIN)
    assert task.due_key == dt.datetime(2026, 6, 30, 22, 0, tzinfo=dt.UTC)


def test_a_new_task_is_the_actors_own_and_one_given_to_someone_else_notifies_them(bob, alice):
    mine = services.task_create(actor=bob, data={"title": "Mine"})
    assert mine.assignee == bob
    assert not Notification.objects.exists()
    given = services.task_create(actor=bob, data={"title": "For Alice", "assignee": "alice"})
    note = Notification.objects.get(user=alice)
    assert note.kind == Notification.Kind.TASK_ASSIGNED
    assert note.task == given
    assert "For Alice" in note.title
    # changing something else does not notify again; giving it to bob (the actor) neither
    services.task_update(actor=bob, task=given, data={"notes": "more"})
    services.task_update(actor=alice, task=given, data={"assignee": "bob"})
    assert Notification.objects.count() == 2  # bob was given it by alice
    assert Notification.objects.filter(user=bob, kind="task_assigned").count() == 1


def test_a_stale_version_is_a_conflict_and_changes_nothing(bob):
    task = services.task_create(actor=bob, data={"title": "First"})
    services.task_update(actor=bob, task=task, data={"title": "Second"}, expected_version=1)
    with pytest.raises(Conflict):
        services.task_update(actor=bob, task=task, data={"title": "Third"}, expected_version=1)
    task.refresh_from_db()
    assert (task.title, task.version) == ("Second", 2)


def test_completing_a_weekly_task_opens_the_next_at_the_same_wall_time_across_dst(bob):
    bob.time_zone = "Europe/Berlin"
    bob.save()
    # Monday 23 March 2026 09:00 CET; the clocks go forward on Sunday 29 March.
    task = services.task_create(
        actor=bob,
        data={
            "title": "Weekly review",
            "due_at": "2026-03-23T09:00:00+01:00",
            "recurrence": "RRULE:FREQ=WEEKLY;COUNT=3",
            "remind_before": 30,
        },
    )
    done = services.task_complete(actor=bob, task=task)
    assert done.task.status == Task.Status.DONE and done.task.completed_by == bob
    following = done.next_task
    assert following is not None
    assert following.due_at.astimezone(BERLIN) == dt.datetime(2026, 3, 30, 9, 0, tzinfo=BERLIN)
    assert following.due_at.utcoffset() == dt.timedelta(hours=2)
    assert following.recurrence == "FREQ=WEEKLY;COUNT=2"
    # the old reminder is gone, the new one is 30 minutes before the new due time
    assert not Reminder.objects.filter(task=task).exists()
    assert Reminder.objects.get(task=following).remind_at == following.due_at - dt.timedelta(
        minutes=30
    )
    last = services.task_complete(actor=bob, task=following).next_task
    assert last is not None and last.recurrence == "FREQ=WEEKLY;COUNT=1"
    assert services.task_complete(actor=bob, task=last).next_task is None


def test_a_monthly_day_task_repeats_on_days(bob):
    task = services.task_create(
        actor=bob,
        data={
            "title": "Invoice",
            "due_date": "2026-01-31",
            "recurrence": "FREQ=MONTHLY;BYMONTHDAY=-1",
        },
    )
    following = services.task_complete(actor=bob, task=task).next_task
    assert following is not None
    assert (following.due_date, following.due_at) == (dt.date(2026, 2, 28), None)


def test_completing_twice_changes_nothing_the_second_time(bob):
    task = services.task_create(
        actor=bob, data={"title": "Daily", "due_date": "2026-01-05", "recurrence": "FREQ=DAILY"}
    )
    services.task_complete(actor=bob, task=task)
    again = services.task_complete(actor=bob, task=task)
    assert again.already_done and again.next_task is None
    assert Task.objects.count() == 2


def test_completing_a_call_says_where_to_log_it(bob):
    ann = contact(bob)
    task = services.task_create(
        actor=bob, data={"title": "Call Ann", "kind": "call", "contact_ids": [ann.pk]}
    )
    done = services.task_complete(actor=bob, task=task)
    assert done.log_call_url == f"/contacts/{ann.pk}/?log=call&task={task.pk}"
    todo = services.task_create(actor=bob, data={"title": "Read", "contact_ids": [ann.pk]})
    assert services.task_complete(actor=bob, task=todo).log_call_url == ""


def test_next_step_and_last_contacted_follow_task_and_interaction_writes(bob):
    ann = contact(bob)
    later = services.task_create(
        actor=bob,
        data={"title": "Send contract", "due_at": "2026-05-02T10:00:00Z", "contact_ids": [ann.pk]},
    )
    sooner = services.task_create(
        actor=bob,
        data={"title": "Call back", "due_at": "2026-05-01T10:00:00Z", "contact_ids": [ann.pk]},
    )
    ann.refresh_from_db()
    assert (ann.next_step, ann.next_step_at) == (
        "Call back",
        dt.datetime(2026, 5, 1, 10, tzinfo=dt.UTC),
    )
    services.task_complete(actor=bob, task=sooner)
    ann.refresh_from_db()
    assert ann.next_step == "Send contract"
    # moving a task to another contact moves the next step with it
    ben = contact(bob, "Ben Ray")
    services.task_update(actor=bob, task=later, data={"contact_ids": [ben.pk]})
    ann.refresh_from_db()
    ben.refresh_from_db()
    assert (ann.next_step, ben.next_step) == (None, "Send contract")
    services.task_delete(actor=bob, task=later)
    ben.refresh_from_db()
    assert ben.next_step is None and ben.next_step_at is None
    # a connected call is "last contacted"; a note is not
    interactions.interaction_create(
        actor=bob,
        data={"kind": "note", "body": "thinking", "participants": [{"contact_id": ann.pk}]},
    )
    ann.refresh_from_db()
    assert ann.last_contacted_at is None
    interactions.interaction_create(
        actor=bob,
        data={
            "kind": "call",
            "outcome": "connected",
            "occurred_at": "2026-04-01T09:00:00Z",
            "participants": [{"contact_id": ann.pk}],
        },
    )
    ann.refresh_from_db()
    assert ann.last_contacted_at == dt.datetime(2026, 4, 1, 9, tzinfo=dt.UTC)


def test_a_reminder_follows_its_task(bob):
    task = services.task_create(
        actor=bob,
        data={"title": "Renewal", "due_at": "2026-06-01T12:00:00Z", "remind_before": 60},
    )
    reminder = Reminder.objects.get(task=task)
    assert (reminder.user, reminder.remind_at) == (bob, dt.datetime(2026, 6, 1, 11, tzinfo=dt.UTC))
    Reminder.objects.filter(pk=reminder.pk).update(
        sent_at=dt.datetime(2026, 6, 1, 11, tzinfo=dt.UTC)
    )
    # moved: scheduled again and due to be delivered again
    services.task_update(actor=bob, task=task, data={"due_at": "2026-06-02T12:00:00Z"})
    reminder.refresh_from_db()
    assert reminder.remind_at == dt.datetime(2026, 6, 2, 11, tzinfo=dt.UTC)
    assert reminder.sent_at is None
    services.task_complete(actor=bob, task=task)
    assert not Reminder.objects.filter(task=task).exists()
    services.task_reopen(actor=bob, task=task)
    assert Reminder.objects.filter(task=task).exists()
    services.task_update(actor=bob, task=task, data={"remind_before": None})
    assert not Reminder.objects.filter(task=task).exists()


def test_giving_a_due_time_clears_the_due_day(bob):
    task = services.task_create(actor=bob, data={"title": "T", "due_date": "2026-01-01"})
    task = services.task_update(actor=bob, task=task, data={"due_at": "2026-01-02T08:00:00Z"})
    assert (task.due_date, task.due_key) == (None, dt.datetime(2026, 1, 2, 8, tzinfo=dt.UTC))
