"""The pages: My tasks (complete with one key), the task form, notifications with the
unread badge, keep-in-touch, due to reach out, preferences; and `rapport tasks`."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from rapport.activity.models import KeepInTouch, Notification, Task
from rapport.activity.services import tasks as services
from rapport.activity.tests.tasks_support import contact
from rapport.contacts.models import Contact

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_my_tasks_shows_overdue_today_upcoming_and_undated(bob_client, bob, alice):
    now = timezone.now()
    services.task_create(
        actor=bob, data={"title": "Late", "due_at": (now - dt.timedelta(hours=1)).isoformat()}
    )
    services.task_create(
        actor=bob, data={"title": "Soon", "due_at": (now + dt.timedelta(days=3)).isoformat()}
    )
    services.task_create(actor=bob, data={"title": "Someday"})
    services.task_create(actor=bob, data={"title": "Alice's", "assignee": "alice"})
    page = bob_client.get("/activity/tasks/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.index("Overdue") < html.index("Late") < html.index("Upcoming") < html.index("Soon")
    assert html.index("No due date") < html.index("Someday")
    assert "Alice&#x27;s" not in html and "Alice's" not in html
    assert "data-task-row" in html and 'aria-keyshortcuts="x"' in html
    assert "activity/tasks.js" in html
    others = bob_client.get("/activity/tasks/?assignee=alice").content.decode()
    assert "Tasks of Alice" in others and "Alice&#x27;s" in others


def test_completing_a_call_from_the_list_offers_to_log_it(bob_client, bob):
    ann = contact(bob)
    task = services.task_create(
        actor=bob, data={"title": "Call Ann", "kind": "call", "contact_ids": [ann.pk]}
    )
    row = bob_client.post(f"/activity/tasks/{task.pk}/complete/", **HTMX)
    assert row.status_code == 200
    html = row.content.decode()
    assert html.lstrip().startswith("<li") and "task-row--done" in html
    assert f'href="/contacts/{ann.pk}/?log=call&amp;task={task.pk}"' in html
    assert "Log the call" in html
    assert Task.objects.get(pk=task.pk).status == "done"
    undo = bob_client.post(f"/activity/tasks/{task.pk}/reopen/", **HTMX)
    assert "data-task-complete" in undo.content.decode()
    # without JavaScript the call goes straight to the contact page's call form
    plain = bob_client.post(f"/activity/tasks/{task.pk}/complete/")
    assert plain.status_code == 302
    assert plain["Location"] == f"/contacts/{ann.pk}/?log=call&task={task.pk}"


def test_the_form_is_prefilled_from_a_contact_and_saves_a_due_time_in_my_zone(bob_client, bob):
    bob.time_zone = "Europe/Paris"
    bob.save()
    ann = contact(bob)
    form = bob_client.get(f"/activity/tasks/new/?contact={ann.pk}").content.decode()
    assert f'name="contact_ids" value="{ann.pk}" id="chip-contact-{ann.pk}" checked' in form
    assert 'class="picker-chip__label">Ann Lee</label>' in form
    assert "Europe/Paris" in form
    saved = bob_client.post(
        "/activity/tasks/new/",
        {
            "title": "Follow up",
            "kind": "call",
            "priority": "3",
            "assignee": "bob",
            "due_date": "2026-07-01",
            "due_time": "09:30",
            "remind_before": "15",
            "contact_ids": [str(ann.pk)],
            "next": f"/contacts/{ann.pk}/",
        },
    )
    assert saved.status_code == 302 and saved["Location"] == f"/contacts/{ann.pk}/"
    task = Task.objects.get()
    assert task.due_at == dt.datetime(2026, 7, 1, 7, 30, tzinfo=dt.UTC)
    assert list(task.contacts.all()) == [Contact.objects.get(pk=ann.pk)]
    assert Contact.objects.get(pk=ann.pk).next_step == "Follow up"
    edit = bob_client.get(f"/activity/tasks/{task.pk}/").content.decode()
    assert 'value="09:30"' in edit and 'value="2026-07-01"' in edit


def test_the_form_shows_what_is_wrong_and_saves_nothing(bob_client):
    response = bob_client.post(
        "/activity/tasks/new/",
        {
            "title": "",
            "due_time": "25:99",
            "recurrence": "custom",
            "recurrence_custom": "FREQ=DAILY",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "nothing was saved" in html and "Give a time such as 14:30." in html
    assert not Task.objects.exists()


def test_the_badge_counts_unread_notifications_with_one_query(bob_client, bob, alice):
    services.task_create(actor=alice, data={"title": "Yours", "assignee": "bob"})
    page = bob_client.get("/activity/notifications/").content.decode()
    assert "data-unread-count>1<" in page
    assert "Alice gave you a task: Yours" in page
    note = Notification.objects.get(user=bob)
    opened = bob_client.get(f"/activity/notifications/{note.pk}/")
    assert opened["Location"] == f"/activity/tasks/{note.task_id}/"
    assert Notification.objects.get(pk=note.pk).read_at is not None
    assert "data-unread-count" not in bob_client.get("/activity/notifications/").content.decode()
    services.task_create(actor=alice, data={"title": "Another", "assignee": "bob"})
    bob_client.post("/activity/notifications/read/", {"all": "1"})
    assert not Notification.objects.filter(user=bob, read_at__isnull=True).exists()


def test_navigation_has_the_activity_group(bob_client):
    html = bob_client.get("/activity/tasks/").content.decode()
    for label in ("My tasks", "Due to reach out", "Keep in touch", "Notifications"):
        assert f">{label}</a>" in html
    assert 'href="/preferences/"' in html


def test_keep_in_touch_form_for_a_contact_and_the_due_list(bob_client, bob):
    ann = contact(bob, owner="bob")
    form = bob_client.get(f"/activity/keep-in-touch/?contact={ann.pk}").content.decode()
    assert "Ann Lee" in form
    saved = bob_client.post("/activity/keep-in-touch/", {"contact_id": ann.pk, "every_days": "1"})
    assert saved.status_code == 302
    assert KeepInTouch.objects.get().every_days == 1
    Contact.objects.filter(pk=ann.pk).update(reach_out_by=timezone.localdate())
    due = bob_client.get("/activity/reach-out/").content.decode()
    assert "Ann Lee" in due and "Every 1 days" in due and "Never" in due
    bad = bob_client.post("/activity/keep-in-touch/", {"contact_id": ann.pk, "every_days": "0"})
    assert bad.status_code == 422


def test_preferences_set_the_time_zone_and_the_digest(bob_client, bob):
    assert "Europe/Berlin" in bob_client.get("/preferences/").content.decode()
    bob_client.post("/preferences/", {"time_zone": "Europe/Berlin", "reminder_digest": "1"})
    bob.refresh_from_db()
    assert (bob.time_zone, bob.reminder_digest) == ("Europe/Berlin", True)
    bad = bob_client.post("/preferences/", {"time_zone": "Mars/Olympus"})
    assert bad.status_code == 422
    bob.refresh_from_db()
    assert bob.time_zone == "Europe/Berlin"


def test_read_only_users_see_tasks_but_get_no_done_button(charlie_client, bob):
    services.task_create(actor=bob, data={"title": "Someone's", "assignee": None})
    html = charlie_client.get("/activity/tasks/?assignee=none").content.decode()
    assert "Someone&#x27;s" in html and "data-task-complete" not in html
    assert charlie_client.get("/activity/tasks/new/").status_code == 403


def test_the_tasks_command_adds_lists_and_completes(bob, alice):
    ann = contact(bob)
    out = StringIO()
    call_command(
        "tasks",
        "add",
        "Call Ann",
        "--due",
        "2000-01-03",
        "--contact",
        str(ann.pk),
        "--kind",
        "call",
        "--as",
        "bob",
        stdout=out,
    )
    task = Task.objects.get()
    assert out.getvalue().startswith(f"Created task {task.pk}: Call Ann")
    listing = StringIO()
    call_command("tasks", "list", "--overdue", "--as", "bob", stdout=listing)
    assert "Overdue:" in listing.getvalue() and "Call Ann" in listing.getvalue()
    other = StringIO()
    call_command("tasks", "list", "--user", "alice", "--as", "bob", "--json", stdout=other)
    assert json.loads(other.getvalue())["overdue"] == []
    done = StringIO()
    call_command("tasks", "done", str(task.pk), "--as", "bob", stdout=done)
    assert f"Log the call: /contacts/{ann.pk}/?log=call&task={task.pk}" in done.getvalue()
    with pytest.raises(CommandError, match="Nothing was saved"):
        call_command("tasks", "add", "", "--as", "bob")
    with pytest.raises(CommandError, match="no task with id 999"):
        call_command("tasks", "done", "999", "--as", "bob")
