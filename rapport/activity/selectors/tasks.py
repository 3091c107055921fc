"""Reading tasks: one task, the "My tasks" sections, and the keyset-paged list the API
serves. Related contact and organization ids come in one query per page."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from rapport.access.models import User
from rapport.activity.models import Task
from rapport.activity.services.zones import day_start, user_zone
from rapport.contacts.models import Contact, Organization
from rapport.core import policy
from rapport.core.cursor import decode_cursor, encode_cursor
from rapport.core.errors import InvalidInput

MAX_LIMIT = 200
SECTION_LIMIT = 100


def _base() -> QuerySet[Task]:
    return Task.objects.select_related("assignee", "created_by", "completed_by")


def attach_related(tasks: Sequence[Task], *, names: bool = False) -> None:
    """Give each task ``related_contact_ids`` and ``related_organization_ids`` (and with
    ``names``, ``related_contacts``: (id, name) pairs) in one or two queries."""
    ids = [t.pk for t in tasks]
    contacts: dict[int, list[int]] = defaultdict(list)
    orgs: dict[int, list[int]] = defaultdict(list)
    if ids:
        for task_id, contact_id in Task.contacts.through.objects.filter(
            task_id__in=ids
        ).values_list("task_id", "contact_id"):
            contacts[task_id].append(contact_id)
        for task_id, org_id in Task.organizations.through.objects.filter(
            task_id__in=ids
        ).values_list("task_id", "organization_id"):
            orgs[task_id].append(org_id)
    labels: dict[int, str] = {}
    org_labels: dict[int, str] = {}
    if names:
        wanted = {c for cs in contacts.values() for c in cs}
        if wanted:
            labels = dict(Contact.objects.filter(pk__in=wanted).values_list("id", "display_name"))
        wanted_orgs = {o for os_ in orgs.values() for o in os_}
        if wanted_orgs:
            org_labels = dict(
                Organization.objects.filter(pk__in=wanted_orgs).values_list("id", "name")
            )
    for task in tasks:
        task.related_contact_ids = sorted(contacts.get(task.pk, []))  # type: ignore[attr-defined]
        task.related_organization_ids = sorted(orgs.get(task.pk, []))  # type: ignore[attr-defined]
        if names:
            task.related_contacts = [  # type: ignore[attr-defined]
                (c, labels.get(c, f"Contact {c}"))
                for c in task.related_contact_ids  # type: ignore[attr-defined]
            ]
            task.related_organizations = [  # type: ignore[attr-defined]
                (o, org_labels.get(o, f"Organization {o}"))
                for o in task.related_organization_ids  # type: ignore[attr-defined]
            ]


def task_get(*, actor: Any, task_id: int) -> Task:
    """One task with its related ids; Task.DoesNotExist when there is none."""
    policy.require(actor, "tasks.view")
    if not 0 < task_id < 2**63:
        raise Task.DoesNotExist
    task = _base().get(pk=task_id)
    attach_related([task], names=True)
    return task


@dataclass
class MyTasks:
    """The open tasks of one assignee, by when they fall due (in the assignee's zone)."""

    overdue: list[Task] = field(default_factory=list)
    today: list[Task] = field(default_factory=list)
    upcoming: list[Task] = field(default_factory=list)
    undated: list[Task] = field(default_factory=list)
    recently_done: list[Task] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.today or self.upcoming or self.undated)


def my_tasks(*, actor: Any, assignee: User | None, now: dt.datetime | None = None) -> MyTasks:
    """Open tasks of ``assignee`` (None: unassigned ones): overdue (a day that has
    passed, or a time that has), today, upcoming, and without a due date; each list at
    most 100, the most pressing first."""
    policy.require(actor, "tasks.view")
    now = now or timezone.now()
    zone = user_zone(assignee)
    today = now.astimezone(zone).date()
    start, end = day_start(today, zone), day_start(today + dt.timedelta(days=1), zone)
    mine = _base().filter(status=Task.Status.OPEN)
    mine = mine.filter(assignee=assignee) if assignee else mine.filter(assignee__isnull=True)
    order = ("due_key", "-priority", "id")
    result = MyTasks(
        overdue=list(
            mine.filter(Q(due_key__lt=start) | Q(due_at__lt=now)).order_by(*order)[:SECTION_LIMIT]
        ),
        today=list(
            mine.filter(due_key__gte=start, due_key__lt=end)
            .exclude(due_at__lt=now)
            .order_by(*order)[:SECTION_LIMIT]
        ),
        upcoming=list(mine.filter(due_key__gte=end).order_by(*order)[:SECTION_LIMIT]),
        undated=list(
            mine.filter(due_key__isnull=True).order_by("-priority", "created_at", "id")[
                :SECTION_LIMIT
            ]
        ),
    )
    attach_related([*result.overdue, *result.today, *result.upcoming, *result.undated], names=True)
    return result


@dataclass
class TaskFilters:
    assignee: str = ""  # a username, "me", or "none" for unassigned
    status: str = ""
    contact: int | None = None
    organization: int | None = None
    due_before: str = ""
    due_after: str = ""


@dataclass
class TaskPage:
    items: list[Task]
    next_cursor: str | None


def _moment(value: str, path: str, end_of_day: bool) -> dt.datetime:
    text = value.strip()
    moment = parse_datetime(text) if "T" in text or " " in text else None
    if moment is None:
        day = parse_date(text) if len(text) == 10 else None
        if day is None:
            raise InvalidInput.single(path, "Give a day (2026-03-01) or a date and time.")
        moment = dt.datetime.combine(day + dt.timedelta(days=1 if end_of_day else 0), dt.time(0))
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def task_list(
    *, actor: Any, filters: TaskFilters, cursor: str | None = None, limit: int = 50
) -> TaskPage:
    """Tasks by id, one keyset page at a time, filtered by assignee, status, related
    contact or organization and due range (``due_before`` a day: until its end)."""
    policy.require(actor, "tasks.view")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.single("limit", f"Must be between 1 and {MAX_LIMIT}.")
    query = _base()
    if filters.assignee:
        if filters.assignee == "me":
            query = query.filter(assignee_id=getattr(actor, "pk", None))
        elif filters.assignee == "none":
            query = query.filter(assignee__isnull=True)
        else:
            query = query.filter(assignee__username=filters.assignee)
    if filters.status:
        if filters.status not in Task.Status.values:
            raise InvalidInput.single(
                "status", f"Must be one of: {', '.join(sorted(Task.Status.values))}."
            )
        query = query.filter(status=filters.status)
    if filters.contact:
        query = query.filter(
            pk__in=Task.contacts.through.objects.filter(contact_id=filters.contact).values(
                "task_id"
            )
        )
    if filters.organization:
        query = query.filter(
            pk__in=Task.organizations.through.objects.filter(
                organization_id=filters.organization
            ).values("task_id")
        )
    if filters.due_before:
        query = query.filter(due_key__lt=_moment(filters.due_before, "due_before", True))
    if filters.due_after:
        query = query.filter(due_key__gte=_moment(filters.due_after, "due_after", False))
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        if not isinstance(after, int):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        query = query.filter(pk__gt=after)
    rows = list(query.order_by("id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    attach_related(rows)
    return TaskPage(items=rows, next_cursor=encode_cursor([rows[-1].pk]) if more else None)
