"""/api/v1/tasks, /api/v1/notifications and /api/v1/keep-in-touch as a client sees them."""

from __future__ import annotations

import pytest

from rapport.activity.models import Notification, Task
from rapport.activity.services import tasks as services
from rapport.activity.tests.tasks_support import contact
from rapport.conftest import bearer

pytestmark = pytest.mark.django_db
JSON = "application/json"


def test_create_read_change_and_delete_a_task_with_etags(client, bob, alice):
    auth = bearer(bob)
    ann = contact(bob)
    made = client.post(
        "/api/v1/tasks",
        {
            "title": "Call Ann",
            "kind": "call",
            "due_at": "2026-04-01T09:00:00+02:00",
            "contact_ids": [ann.pk],
            "assignee": "alice",
            "priority": "high",
        },
        content_type=JSON,
        **auth,
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["assignee"] == "alice" and body["priority"] == "high"
    assert body["contact_ids"] == [ann.pk] and body["due_key"] == "2026-04-01T07:00:00Z"
    assert made["Location"].endswith(f"/api/v1/tasks/{body['id']}")
    assert Notification.objects.filter(user=alice, kind="task_assigned").count() == 1
    url = f"/api/v1/tasks/{body['id']}"
    read = client.get(url, **auth)
    etag = read["ETag"]
    assert etag == f'"{body["id"]}-1"'
    changed = client.patch(
        url, {"title": "Call Ann again"}, content_type=JSON, HTTP_IF_MATCH=etag, **auth
    )
    assert changed.status_code == 200 and changed.json()["title"] == "Call Ann again"
    stale = client.patch(url, {"title": "Lost"}, content_type=JSON, HTTP_IF_MATCH=etag, **auth)
    assert stale.status_code == 412
    assert Task.objects.get().title == "Call Ann again"
    replaced = client.put(url, {"title": "Only a title"}, content_type=JSON, **auth)
    assert replaced.status_code == 200
    assert replaced.json()["assignee"] is None and replaced.json()["contact_ids"] == []
    assert client.delete(url, HTTP_IF_MATCH=etag, **auth).status_code == 412
    assert client.delete(url, HTTP_IF_MATCH=replaced["ETag"], **auth).status_code == 204
    assert client.get(url, **auth).status_code == 404


def test_bad_input_is_422_with_field_paths(client, bob):
    response = client.post(
        "/api/v1/tasks",
        {"title": "", "contact_ids": [99999, "x"], "recurrence": "FREQ=HOURLY"},
        content_type=JSON,
        **bearer(bob),
    )
    assert response.status_code == 422
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert fields == {
        "title": "This field is required.",
        "contact_ids[0]": "There is no contact 99999.",
        "contact_ids[1]": "Must be a record id.",
        "recurrence": "Not a repeat rule this app reads: FREQ must be DAILY, WEEKLY, MONTHLY "
        "or YEARLY.",
    }
    unknown = client.post(
        "/api/v1/tasks", {"title": "x", "nope": 1}, content_type=JSON, **bearer(bob)
    )
    assert unknown.json()["errors"] == [{"field": "nope", "message": "Unknown field."}]
    assert not Task.objects.exists()


def test_read_only_users_read_but_cannot_write(client, bob, charlie):
    services.task_create(actor=bob, data={"title": "Visible"})
    auth = bearer(charlie)
    assert client.get("/api/v1/tasks", **auth).json()["items"][0]["title"] == "Visible"
    assert (
        client.post("/api/v1/tasks", {"title": "x"}, content_type=JSON, **auth).status_code == 403
    )


def test_complete_opens_the_next_of_a_series_and_offers_to_log_a_call(client, bob):
    ann = contact(bob)
    task = services.task_create(
        actor=bob,
        data={
            "title": "Weekly call",
            "kind": "call",
            "due_date": "2026-03-02",
            "recurrence": "FREQ=WEEKLY",
            "contact_ids": [ann.pk],
        },
    )
    response = client.post(f"/api/v1/tasks/{task.pk}/complete", **bearer(bob))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["task"]["status"] == "done"
    assert body["next_task"]["due_date"] == "2026-03-09"
    assert body["next_task"]["contact_ids"] == [ann.pk]
    assert body["log_call_url"] == f"/contacts/{ann.pk}/?log=call&task={task.pk}"


def test_the_list_filters_and_pages_in_a_fixed_number_of_queries(
    client, bob, alice, django_assert_num_queries
):
    ann = contact(bob)
    for i in range(5):
        services.task_create(
            actor=bob,
            data={"title": f"Bob {i}", "due_date": f"2026-01-0{i + 1}", "contact_ids": [ann.pk]},
        )
    services.task_create(actor=alice, data={"title": "Alice's"})
    auth = bearer(bob)
    client.get("/api/v1/tasks?limit=1", **auth)  # the token's last-used time is stamped
    titles: list[str] = []
    cursor = ""
    while True:
        # the token with its user, the page, its contacts and its organizations
        with django_assert_num_queries(4):
            page = client.get(
                f"/api/v1/tasks?assignee=me&contact={ann.pk}&limit=2&cursor={cursor}", **auth
            ).json()
        titles += [t["title"] for t in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
    assert titles == [f"Bob {i}" for i in range(5)]
    due = client.get(
        "/api/v1/tasks?due_after=2026-01-02&due_before=2026-01-03&assignee=bob", **auth
    ).json()
    assert [t["title"] for t in due["items"]] == ["Bob 1", "Bob 2"]
    assert client.get("/api/v1/tasks?status=later", **auth).status_code == 422
    assert client.get("/api/v1/tasks?cursor=garbage", **auth).status_code == 422


def test_notifications_are_ones_own_and_can_be_marked_read(
    client, bob, alice, django_assert_num_queries
):
    for i in range(3):
        services.task_create(actor=alice, data={"title": f"For Bob {i}", "assignee": "bob"})
    services.task_create(actor=bob, data={"title": "For Alice", "assignee": "alice"})
    auth = bearer(bob)
    client.get("/api/v1/notifications?limit=1", **auth)  # the token's last-used time is stamped
    with django_assert_num_queries(3):  # the token with its user, the page, the unread count
        page = client.get("/api/v1/notifications?limit=2", **auth).json()
    assert [n["title"] for n in page["items"]] == [
        "Alice gave you a task: For Bob 2",
        "Alice gave you a task: For Bob 1",
    ]
    assert page["unread"] == 3
    rest = client.get(f"/api/v1/notifications?cursor={page['next_cursor']}", **auth).json()
    assert [n["title"] for n in rest["items"]] == ["Alice gave you a task: For Bob 0"]
    first = page["items"][0]["id"]
    marked = client.post("/api/v1/notifications/read", {"ids": [first]}, content_type=JSON, **auth)
    assert marked.json() == {"marked": 1, "unread": 2}
    everything = client.post("/api/v1/notifications/read", {}, content_type=JSON, **auth)
    assert everything.json() == {"marked": 2, "unread": 0}
    assert Notification.objects.filter(user=alice, read_at__isnull=True).count() == 1


def test_keep_in_touch_cadences_over_the_api(client, bob):
    auth = bearer(bob)
    ann = contact(bob, tags=["Friends"])
    made = client.post(
        "/api/v1/keep-in-touch", {"tag": "friends", "every_days": 30}, content_type=JSON, **auth
    )
    assert made.status_code == 201, made.content
    cadence = made.json()
    assert cadence["tag"] == "Friends" and cadence["every_days"] == 30
    url = f"/api/v1/keep-in-touch/{cadence['id']}"
    assert (
        client.patch(url, {"every_days": 10}, content_type=JSON, **auth).json()["every_days"] == 10
    )
    ann.refresh_from_db()
    assert ann.reach_out_by is not None
    assert [c["id"] for c in client.get("/api/v1/keep-in-touch", **auth).json()["items"]] == [
        cadence["id"]
    ]
    bad = client.post("/api/v1/keep-in-touch", {"every_days": 0}, content_type=JSON, **auth)
    assert bad.status_code == 422
    assert client.delete(url, **auth).status_code == 204
    ann.refresh_from_db()
    assert ann.reach_out_by is None
