"""Reading tasks: one task, the "My tasks" sections (each paged by its own keyset), and
the keyset-paged list the API serves. Related contact and organization ids come in one
query per page."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
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
SECTION_PAGE = 50  # tasks per section and page on My tasks


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


# The sections of My tasks, in the order the page shows them.
SECTIONS: dict[str, str] = {
    "overdue": "Overdue",
    "today": "Today",
    "upcoming": "Upcoming",
    "undated": "No due date",
}
# Dated sections read the most pressing first: the earliest due, then the highest
# priority; undated ones the highest priority, then the oldest. The id breaks ties, so
# every order is total and a keyset cursor resumes exactly after the last row shown.
_DATED_ORDER = ("due_key", "-priority", "id")
_UNDATED_ORDER = ("-priority", "created_at", "id")


@dataclass
class TaskSection:
    """One section of My tasks: a keyset page of its tasks, ``next_cursor`` when more
    follow, and ``total``, how many the whole section holds."""

    key: str
    label: str
    items: list[Task]
    next_cursor: str | None
    total: int = 0


@dataclass
class MyTasks:
    """The open tasks of one assignee, by when they fall due (in the assignee's zone):
    the first page of each section (see SECTIONS)."""

    sections: list[TaskSection] = field(default_factory=list)

    def section(self, key: str) -> TaskSection:
        return next(s for s in self.sections if s.key == key)

    @property
    def empty(self) -> bool:
        return not any(s.items for s in self.sections)


@dataclass(frozen=True)
class _Bounds:
    """Where today starts and ends for the assignee, and the moment of reading."""

    now: dt.datetime
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def of(cls, assignee: User | None, now: dt.datetime | None) -> _Bounds:
        now = now or timezone.now()
        zone = user_zone(assignee)
        today = now.astimezone(zone).date()
        return cls(now, day_start(today, zone), day_start(today + dt.timedelta(days=1), zone))

    def where(self, section: str) -> Q:
        """The tasks of ``section``: overdue (a day that has passed, or a time that
        has), today, upcoming, or without a due date."""
        if section == "overdue":
            return Q(due_key__lt=self.start) | Q(due_at__lt=self.now)
        if section == "today":
            return Q(due_key__gte=self.start, due_key__lt=self.end) & (
                Q(due_at__isnull=True) | Q(due_at__gte=self.now)
            )
        if section == "upcoming":
            return Q(due_key__gte=self.end)
        return Q(due_key__isnull=True)


def _open_of(assignee: User | None) -> QuerySet[Task]:
    mine = _base().filter(status=Task.Status.OPEN)
    return mine.filter(assignee=assignee) if assignee else mine.filter(assignee__isnull=True)


def _section_key(section: str, task: Task) -> list[Any]:
    if section == "undated":
        return [task.priority, task.created_at.isoformat(), task.pk]
    assert task.due_key is not None
    return [task.due_key.isoformat(), task.priority, task.pk]


def _section_after(section: str, cursor: str) -> Q:
    """The rows of ``section`` that come after the row ``cursor`` names."""
    first, second, pk = decode_cursor(cursor, 3)
    moment = parse_datetime(second if section == "undated" else first)
    priority = first if section == "undated" else second
    if (
        moment is None
        or timezone.is_naive(moment)
        or not isinstance(priority, int)
        or isinstance(priority, bool)
        or not isinstance(pk, int)
    ):
        raise InvalidInput.single("cursor", "This cursor is not valid.")
    if section == "undated":
        return (
            Q(priority__lt=priority)
            | Q(priority=priority, created_at__gt=moment)
            | Q(priority=priority, created_at=moment, pk__gt=pk)
        )
    return (
        Q(due_key__gt=moment)
        | Q(due_key=moment, priority__lt=priority)
        | Q(due_key=moment, priority=priority, pk__gt=pk)
    )


def _section_page(
    query: QuerySet[Task], bounds: _Bounds, section: str, cursor: str | None, limit: int
) -> TaskSection:
    rows = query.filter(bounds.where(section))
    if cursor:
        rows = rows.filter(_section_after(section, cursor))
    order = _UNDATED_ORDER if section == "undated" else _DATED_ORDER
    found = list(rows.order_by(*order)[: limit + 1])
    more = len(found) > limit
    found = found[:limit]
    return TaskSection(
        key=section,
        label=SECTIONS[section],
        items=found,
        next_cursor=encode_cursor(_section_key(section, found[-1])) if more else None,
    )


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.single("limit", f"Must be between 1 and {MAX_LIMIT}.")


def my_tasks(
    *,
    actor: Any,
    assignee: User | None,
    now: dt.datetime | None = None,
    limit: int = SECTION_PAGE,
) -> MyTasks:
    """Open tasks of ``assignee`` (None: unassigned ones), section by section (see
    SECTIONS): the first ``limit`` of each, the most pressing first, with each
    section's total and the cursor of its next page (``my_tasks_section``). Related
    records come named; a fixed number of queries whatever the tasks."""
    policy.require(actor, "tasks.view")
    _check_limit(limit)
    bounds = _Bounds.of(assignee, now)
    mine = _open_of(assignee)
    totals = mine.aggregate(**{key: Count("id", filter=bounds.where(key)) for key in SECTIONS})
    result = MyTasks(sections=[_section_page(mine, bounds, key, None, limit) for key in SECTIONS])
    for section in result.sections:
        section.total = totals[section.key] or 0
    attach_related([t for s in result.sections for t in s.items], names=True)
    return result


def my_tasks_section(
    *,
    actor: Any,
    assignee: User | None,
    section: str,
    cursor: str | None = None,
    now: dt.datetime | None = None,
    limit: int = SECTION_PAGE,
) -> TaskSection:
    """The next page of one section of My tasks, after ``cursor`` (a ``next_cursor``
    of ``my_tasks`` or of an earlier page). Raises InvalidInput for an unknown section,
    a bad cursor or limit. ``total`` is not counted here (0)."""
    policy.require(actor, "tasks.view")
    if section not in SECTIONS:
        raise InvalidInput.single("section", f"Must be one of: {', '.join(SECTIONS)}.")
    _check_limit(limit)
    page = _section_page(_open_of(assignee), _Bounds.of(assignee, now), section, cursor, limit)
    attach_related(page.items, names=True)
    return page


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
    _check_limit(limit)
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
