"""A reminder worker of the concurrency tests, run in a process of its own through
``rapport shell -c``: it seeds the shared database, delivers reminders (as the
``deliver_reminders`` task does) or moves a task, and prints what it did as JSON."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any


def seed(spec: str) -> None:
    """Users (``{"users": [{"username", "digest"}], "tasks": [{"user", "title",
    "due_at"}]}``) with an email address and the UTC zone, and their tasks with a
    reminder when due; prints the tasks' ids by title."""
    from rapport.access.models import User
    from rapport.activity.services import tasks

    data = json.loads(spec)
    users = {}
    for row in data["users"]:
        users[row["username"]] = User.objects.create_user(
            username=row["username"],
            email=f"{row['username']}@example.com",
            role=User.Role.MEMBER,
            time_zone="UTC",
            reminder_digest=row.get("digest", False),
        )
    ids = {}
    for row in data["tasks"]:
        task = tasks.task_create(
            actor=users[row["user"]],
            data={"title": row["title"], "due_at": row["due_at"], "remind_before": 0},
        )
        ids[row["title"]] = task.pk
    print(json.dumps(ids))


def deliver(now: str = "", ready: str = "", go: str = "") -> None:
    """One delivery run (at ``now``, else the clock). With ``ready`` and ``go`` (file
    paths) it first says it is ready and waits for the go, so that two workers start
    together."""
    from rapport.activity.services import reminders

    if ready:
        Path(ready).touch()
        deadline = time.monotonic() + 60
        while not Path(go).exists():
            if time.monotonic() > deadline:
                raise SystemExit("no go")
            time.sleep(0.002)
    moment = dt.datetime.fromisoformat(now) if now else None
    print(json.dumps(asdict(reminders.reminders_deliver(now=moment))))


def move(task_id: int, due_at: str) -> None:
    """Give a task a new due time (its reminder is to be delivered again)."""
    from rapport.activity.models import Task
    from rapport.activity.services import tasks

    task = Task.objects.select_related("assignee").get(pk=task_id)
    tasks.task_update(actor=task.assignee, task=task, data={"due_at": due_at})
    print(json.dumps({"moved": task_id}))


def summary() -> None:
    """How the reminders stand, for the test's assertions."""
    from rapport.activity.models import Notification, Reminder, ReminderDigest

    result: dict[str, Any] = {
        "notifications": Notification.objects.filter(kind="reminder").count(),
        "unmailed": Reminder.objects.filter(emailed_at__isnull=True).count(),
        "digests_sent": ReminderDigest.objects.filter(sent_at__isnull=False).count(),
    }
    print(json.dumps(result))


def reset() -> None:
    """Remove what a test seeded (users take their tasks, reminders and digests along)."""
    from rapport.access.models import User
    from rapport.activity.models import Task

    Task.objects.all().delete()
    User.objects.all().delete()
