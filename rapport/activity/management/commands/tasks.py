"""`rapport tasks list|add|done`: tasks from a terminal, through the same services as
the pages and the API, acting as ``--as USER`` (default: $RAPPORT_USER, else admin)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from rapport.access.commands import RecordCommand
from rapport.access.models import User
from rapport.activity.models import Task
from rapport.activity.selectors import tasks as selectors
from rapport.activity.services import tasks as services
from rapport.activity.services.zones import user_zone


class Command(RecordCommand):
    help = "List, add and complete tasks."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        common = [self.common()]
        listing = sub.add_parser("list", parents=common, help="Open tasks of a user.")
        listing.add_argument("--user", help="Whose tasks (default: the acting user).")
        listing.add_argument("--overdue", action="store_true", help="Only overdue ones.")
        add = sub.add_parser("add", parents=common, help="Add a task.")
        add.add_argument("title")
        add.add_argument(
            "--due", help="A day (2026-03-01) or a time (2026-03-01T14:30, in the assignee's zone)."
        )
        add.add_argument("--contact", type=int, action="append", help="Related contact id.")
        add.add_argument("--organization", type=int, action="append")
        add.add_argument("--assignee", help="Username (default: the acting user).")
        add.add_argument("--priority", help="low, normal, high or urgent.")
        add.add_argument("--kind", help="todo, call, email or meeting.")
        add.add_argument("--remind", type=int, metavar="MINUTES", help="Remind so long before.")
        add.add_argument("--repeat", metavar="RRULE", help="e.g. FREQ=WEEKLY;BYDAY=MO")
        add.add_argument("--notes", default="")
        done = sub.add_parser("done", parents=common, help="Complete a task.")
        done.add_argument("id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        action = options["action"]
        if action == "list":
            self.list(actor, options)
        elif action == "add":
            self.add(actor, options)
        else:
            task = self.fetch(Task, options["id"])
            done = self.call(services.task_complete, actor=actor, task=task)
            if options["json"]:
                self.stdout.write(
                    json.dumps(
                        {
                            "id": task.pk,
                            "status": done.task.status,
                            "next_task": done.next_task.pk if done.next_task else None,
                            "log_call_url": done.log_call_url,
                        }
                    )
                )
                return
            self.stdout.write(
                f"Task {task.pk} was already done." if done.already_done else f"Done: {task.title}"
            )
            if done.next_task:
                self.stdout.write(f"Next: task {done.next_task.pk}, due {self.due(done.next_task)}")
            if done.log_call_url:
                self.stdout.write(f"Log the call: {done.log_call_url}")

    def due(self, task: Task) -> str:
        if task.due_at:
            return f"{timezone.localtime(task.due_at, user_zone(task.assignee)):%Y-%m-%d %H:%M %Z}"
        return task.due_date.isoformat() if task.due_date else "-"

    def list(self, actor: User, options: dict[str, Any]) -> None:
        assignee = actor
        if options["user"]:
            found = User.objects.filter(username=options["user"]).first()
            if found is None:
                raise CommandError(f"There is no user named {options['user']}.")
            assignee = found
        wanted = ["overdue"] if options["overdue"] else list(selectors.SECTIONS)
        groups = [
            (selectors.SECTIONS[key], self.section_rows(actor, assignee, key)) for key in wanted
        ]
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        label.lower().replace(" ", "_"): [
                            {"id": t.pk, "title": t.title, "due": self.due(t), "kind": t.kind}
                            for t in rows
                        ]
                        for label, rows in groups
                    }
                )
            )
            return
        if not any(rows for _, rows in groups):
            self.stdout.write("No overdue tasks." if options["overdue"] else "No open tasks.")
            return
        for label, rows in groups:
            if not rows:
                continue
            self.stdout.write(f"{label}:")
            for t in rows:
                self.stdout.write(f"  {t.pk:>6}  {self.due(t):<22} {t.title}")

    def section_rows(self, actor: User, assignee: User, section: str) -> list[Task]:
        """Every task of one section of My tasks, page after page."""
        rows: list[Task] = []
        cursor = None
        while True:
            page = self.call(
                selectors.my_tasks_section,
                actor=actor,
                assignee=assignee,
                section=section,
                cursor=cursor,
                limit=selectors.MAX_LIMIT,
            )
            rows += page.items
            if not page.next_cursor:
                return rows
            cursor = page.next_cursor

    def add(self, actor: User, options: dict[str, Any]) -> None:
        data: dict[str, Any] = {"title": options["title"], "notes": options["notes"]}
        for key, name in (
            ("assignee", "assignee"),
            ("priority", "priority"),
            ("kind", "kind"),
            ("repeat", "recurrence"),
            ("remind", "remind_before"),
        ):
            if options[key] is not None:
                data[name] = options[key]
        if options["contact"]:
            data["contact_ids"] = options["contact"]
        if options["organization"]:
            data["organization_ids"] = options["organization"]
        due = (options["due"] or "").strip()
        if due:
            if len(due) == 10:
                data["due_date"] = due
            else:
                moment = due.replace(" ", "T")
                if not moment.endswith("Z") and "+" not in moment[10:] and "-" not in moment[10:]:
                    # a wall time: in the assignee's (else the actor's) zone
                    who = User.objects.filter(username=data.get("assignee") or "").first() or actor
                    parsed = parse_datetime(moment)
                    if parsed is None:
                        raise CommandError(f"--due: cannot read {due!r} as a day or a time.")
                    moment = parsed.replace(tzinfo=user_zone(who)).isoformat()
                data["due_at"] = moment
        task = self.call(services.task_create, actor=actor, data=data)
        if options["json"]:
            self.stdout.write(json.dumps({"id": task.pk, "title": task.title}))
        else:
            self.stdout.write(f"Created task {task.pk}: {task.title} (due {self.due(task)})")
