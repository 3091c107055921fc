"""Tasks: creating, changing, completing, reopening and deleting them.

Every entry path (the pages, the API, ``rapport tasks``) ends here, so validation,
permissions, reminders, notifications and the contact columns ("next step") are the
same whichever way a task was written. After every write the related contacts, before
and after, get their "next step" recomputed, and the task's reminder is rescheduled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dateutil import rrule
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date

from rapport.access.models import User
from rapport.activity.models import Task
from rapport.activity.services import notifications, reminders
from rapport.activity.services._input import moment_in
from rapport.activity.services.participants import contacts_refresh_activity
from rapport.activity.services.zones import at_local, day_start, user_zone
from rapport.contacts.models import Contact, Organization
from rapport.core import policy
from rapport.core.errors import Conflict, FieldError, InvalidInput

MAX_TITLE = 300
MAX_NOTES = 100_000
MAX_RELATED = 100
MAX_REMIND_BEFORE = 366 * 24 * 60  # a year, in minutes
MAX_RECURRENCE = 500
KINDS = frozenset(Task.Kind.values)
STATUSES = frozenset(Task.Status.values)
PRIORITY_NAMES = {label.lower(): value for value, label in Task.Priority.choices}
FREQUENCIES = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
_RULE_PARTS = frozenset(
    {
        "FREQ",
        "INTERVAL",
        "COUNT",
        "UNTIL",
        "BYDAY",
        "BYMONTHDAY",
        "BYMONTH",
        "BYSETPOS",
        "BYYEARDAY",
        "BYWEEKNO",
        "WKST",
    }
)
_FIELDS = frozenset(
    {
        "title",
        "notes",
        "kind",
        "due_date",
        "due_at",
        "assignee",
        "priority",
        "status",
        "contact_ids",
        "organization_ids",
        "remind_before",
        "recurrence",
    }
)


@dataclass
class TaskDraft:
    """A task's input checked and ready to save."""

    fields: dict[str, Any]
    contact_ids: list[int] | None = None
    organization_ids: list[int] | None = None


@dataclass
class Completion:
    """What completing a task did: the task, the next one of a recurring series, and for
    a call the page where the call can be logged (the contact's, with ``?log=call``)."""

    task: Task
    next_task: Task | None = None
    log_call_url: str = ""
    already_done: bool = False
    notes: list[str] = field(default_factory=list)


# -- validation ------------------------------------------------------------------------


def _text(value: Any, path: str, errors: list[FieldError], *, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.append(FieldError(path, "Must be text."))
        return ""
    text = value.strip()
    if "\x00" in text:
        errors.append(FieldError(path, "Text cannot contain NUL characters."))
        return ""
    if len(text) > limit:
        errors.append(FieldError(path, f"At most {limit:,} characters are allowed."))
        return ""
    return text


def _date(value: Any, path: str, errors: list[FieldError]) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        errors.append(FieldError(path, "Give a day such as 2026-03-01, without a time."))
        return None
    if isinstance(value, dt.date):
        day: dt.date | None = value
    elif isinstance(value, str):
        try:
            day = parse_date(value.strip())
        except ValueError:
            day = None
    else:
        day = None
    if day is None:
        errors.append(FieldError(path, "Give a day such as 2026-03-01."))
        return None
    if not dt.date(1900, 1, 1) <= day <= dt.date(2200, 1, 1):
        errors.append(FieldError(path, "This date is out of range."))
        return None
    return day


def _ids(value: Any, path: str, errors: list[FieldError]) -> list[int] | None:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        errors.append(FieldError(path, "Must be a list of ids."))
        return None
    if len(value) > MAX_RELATED:
        errors.append(FieldError(path, f"At most {MAX_RELATED} are allowed."))
        return None
    ids: list[int] = []
    for i, item in enumerate(value):
        if isinstance(item, str) and item.strip().isdecimal():
            item = int(item.strip())
        if not isinstance(item, int) or isinstance(item, bool) or not 1 <= item < 2**63:
            errors.append(FieldError(f"{path}[{i}]", "Must be a record id."))
            continue
        if item not in ids:
            ids.append(item)
    return ids


def _priority(value: Any, errors: list[FieldError]) -> int:
    if value in (None, ""):
        return int(Task.Priority.NORMAL)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in PRIORITY_NAMES:
            return int(PRIORITY_NAMES[text])
        if text.isdecimal():
            value = int(text)
    if isinstance(value, int) and not isinstance(value, bool) and value in Task.Priority.values:
        return value
    errors.append(FieldError("priority", "Must be one of: low, normal, high, urgent (or 1–4)."))
    return int(Task.Priority.NORMAL)


def recurrence_parts(text: str) -> dict[str, str]:
    """The parts of an RRULE (``FREQ=WEEKLY;BYDAY=MO``), upper-cased; ValueError when it
    is no rule this app repeats tasks by."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body or "\n" in body or "\r" in body:
        raise ValueError("Give one rule such as FREQ=WEEKLY;BYDAY=MO.")
    parts: dict[str, str] = {}
    for piece in body.split(";"):
        name, sep, value = piece.partition("=")
        name = name.strip().upper()
        if not sep or not value.strip():
            raise ValueError(f"“{piece}” is not NAME=VALUE.")
        if name not in _RULE_PARTS:
            raise ValueError(f"{name} is not supported in a task's repeat rule.")
        parts[name] = value.strip().upper()
    if parts.get("FREQ") not in FREQUENCIES:
        raise ValueError("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY.")
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValueError("Give COUNT or UNTIL, not both.")
    if "COUNT" in parts and not (parts["COUNT"].isdecimal() and 1 <= int(parts["COUNT"]) <= 10_000):
        raise ValueError("COUNT must be a whole number from 1 to 10,000.")
    # dateutil reads every other part (and rejects what it cannot read).
    rrule.rrulestr(_rule_text(parts), dtstart=dt.datetime(2026, 1, 1), ignoretz=True)
    return parts


def _rule_text(parts: Mapping[str, str]) -> str:
    return ";".join(f"{name}={value}" for name, value in parts.items())


def _recurrence(value: Any, errors: list[FieldError]) -> str:
    text = _text(value, "recurrence", errors, limit=MAX_RECURRENCE)
    if not text:
        return ""
    try:
        return _rule_text(recurrence_parts(text))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        message = str(exc) or "Not a repeat rule."
        errors.append(FieldError("recurrence", f"Not a repeat rule this app reads: {message}"))
        return ""


def _assignee(value: Any, errors: list[FieldError]) -> User | None:
    if value in (None, ""):
        return None
    if isinstance(value, User):
        return value
    if not isinstance(value, str):
        errors.append(FieldError("assignee", "Give a username."))
        return None
    user = User.objects.filter(username=value.strip(), is_active=True).first()
    if user is None:
        errors.append(FieldError("assignee", f"There is no active user {value.strip()!r}."))
    return user


def task_validate(
    data: Mapping[str, Any], *, current: Task | None = None, actor: Any = None
) -> TaskDraft:
    """Check a task's input, all fields at once; raise InvalidInput naming each bad
    field. With ``current``, fields not given keep their values (a partial update).
    A new task without ``assignee`` goes to the actor; ``null`` leaves it unassigned."""
    errors: list[FieldError] = []
    for key in sorted(set(data) - _FIELDS):
        errors.append(FieldError(key, "Unknown field."))

    def given(key: str) -> bool:
        return current is None or key in data

    fields: dict[str, Any] = {}
    if given("title"):
        fields["title"] = _text(data.get("title"), "title", errors, limit=MAX_TITLE)
        if not fields["title"] and not any(e.path == "title" for e in errors):
            errors.append(FieldError("title", "This field is required."))
    if given("notes"):
        fields["notes"] = _text(data.get("notes"), "notes", errors, limit=MAX_NOTES)
    if given("kind"):
        kind = data.get("kind") or Task.Kind.TODO
        if kind not in KINDS:
            errors.append(FieldError("kind", f"Must be one of: {', '.join(sorted(KINDS))}."))
            kind = Task.Kind.TODO
        fields["kind"] = kind
    if given("priority"):
        fields["priority"] = _priority(data.get("priority"), errors)
    if given("status"):
        status = data.get("status") or Task.Status.OPEN
        if status not in STATUSES:
            errors.append(FieldError("status", f"Must be one of: {', '.join(sorted(STATUSES))}."))
            status = current.status if current else Task.Status.OPEN
        fields["status"] = status
    if "assignee" in data:
        fields["assignee"] = _assignee(data.get("assignee"), errors)
    elif current is None:
        fields["assignee"] = actor if getattr(actor, "pk", None) else None
    # Due: a day or a moment, never both; giving one clears the other.
    due_date = current.due_date if current else None
    due_at = current.due_at if current else None
    if "due_date" in data or "due_at" in data:
        new_date = _date(data.get("due_date"), "due_date", errors) if "due_date" in data else None
        new_at = moment_in(data.get("due_at"), "due_at", errors) if "due_at" in data else None
        if new_date and new_at:
            errors.append(FieldError("due_at", "Give a due day or a due time, not both."))
        if "due_date" in data and "due_at" in data:
            due_date, due_at = new_date, new_at
        elif "due_date" in data:
            due_date, due_at = new_date, None if new_date else due_at
        else:
            due_date, due_at = None if new_at else due_date, new_at
    fields["due_date"], fields["due_at"] = due_date, due_at
    if given("remind_before"):
        remind = data.get("remind_before")
        if isinstance(remind, str) and remind.strip().isdecimal():
            remind = int(remind.strip())
        if remind in (None, ""):
            remind = None
        elif (
            not isinstance(remind, int)
            or isinstance(remind, bool)
            or not 0 <= remind <= MAX_REMIND_BEFORE
        ):
            errors.append(
                FieldError("remind_before", "Give whole minutes from 0 to 527,040 (a year).")
            )
            remind = None
        fields["remind_before"] = remind
    if given("recurrence"):
        fields["recurrence"] = _recurrence(data.get("recurrence"), errors)
    recurrence = fields.get("recurrence", current.recurrence if current else "")
    if recurrence and not (due_date or due_at):
        errors.append(FieldError("recurrence", "A repeating task needs a due day or time."))
    remind_before = fields.get("remind_before", current.remind_before if current else None)
    if remind_before is not None and not (due_date or due_at):
        errors.append(FieldError("remind_before", "A reminder needs a due day or time."))
    draft = TaskDraft(fields=fields)
    for key, model, action, noun in (
        ("contact_ids", Contact, "contacts.view", "contact"),
        ("organization_ids", Organization, "organizations.view", "organization"),
    ):
        if key not in data:
            continue
        ids = _ids(data.get(key), key, errors)
        setattr(draft, key, ids)
        if not ids:
            continue
        if actor is not None and not policy.can(actor, action):
            # what the actor may not see, it may not name either
            errors.append(FieldError(key, f"You may not see {noun}s, so you cannot relate any."))
            continue
        found = set(model._default_manager.filter(pk__in=ids).values_list("id", flat=True))
        errors += [
            FieldError(f"{key}[{i}]", f"There is no {noun} {pk}.")
            for i, pk in enumerate(ids)
            if pk not in found
        ]
    if errors:
        raise InvalidInput(errors)
    return draft


# -- what follows from a task's fields -------------------------------------------------


def due_key_of(task: Task) -> dt.datetime | None:
    """When the task falls due: its time, or the start of its day in the assignee's zone."""
    if task.due_at:
        return task.due_at
    if task.due_date:
        return day_start(task.due_date, user_zone(task.assignee))
    return None


def next_occurrence(task: Task) -> tuple[dt.date | None, dt.datetime | None, str] | None:
    """The due day or time of the next task of a repeating series, and the rule it
    carries (COUNT counted down); None when the series is over."""
    if not task.recurrence:
        return None
    parts = recurrence_parts(task.recurrence)
    following = dict(parts)
    if "COUNT" in parts:
        left = int(parts.pop("COUNT"))
        if left <= 1:
            return None
        following["COUNT"] = str(left - 1)
    zone = user_zone(task.assignee)
    # Repeat on the wall clock of the assignee, so a weekly 09:00 stays 09:00 across DST.
    if task.due_at:
        start = task.due_at.astimezone(zone).replace(tzinfo=None)
    elif task.due_date:
        start = dt.datetime.combine(task.due_date, dt.time(0))
    else:
        return None
    rule = rrule.rrulestr(_rule_text(parts), dtstart=start, ignoretz=True)
    after = rule.after(start)
    if after is None:
        return None
    if task.due_at:
        return None, at_local(after.date(), after.time(), zone), _rule_text(following)
    return after.date(), None, _rule_text(following)


def log_call_url(task: Task, contact_ids: Iterable[int]) -> str:
    """Where a completed call is logged: the first related contact's page, asking it to
    open the call form for this task."""
    if task.kind != Task.Kind.CALL:
        return ""
    first = min(contact_ids, default=None)
    if first is None:
        return ""
    return reverse("contacts:detail", args=[first]) + f"?log=call&task={task.pk}"


def _contact_ids(task: Task) -> set[int]:
    return set(
        Task.contacts.through.objects.filter(task_id=task.pk).values_list("contact_id", flat=True)
    )


def _after_write(task: Task, contacts_before: set[int], contacts_after: set[int]) -> None:
    reminders.task_reminder_sync(task)
    contacts_refresh_activity(contacts_before | contacts_after)


def _notify_assignee(task: Task, actor: Any, previous_assignee_id: int | None) -> None:
    if (
        task.assignee_id
        and task.assignee_id != previous_assignee_id
        and task.assignee_id != getattr(actor, "pk", None)
    ):
        notifications.notify_task_assigned(task=task, actor=actor)


def _lock(task: Task, expected_version: int | None) -> Task:
    current = (
        Task.objects.select_for_update(of=("self",))
        .select_related("assignee")
        .filter(pk=task.pk)
        .first()
    )
    if current is None:
        raise Conflict("This task has been deleted.")
    if expected_version is not None and current.version != expected_version:
        raise Conflict("This task was changed by someone else since you loaded it.")
    return current


def _save(task: Task, *, bump: bool) -> Task:
    task.due_key = due_key_of(task)
    if bump and task.pk:
        task.version = F("version") + 1  # type: ignore[assignment]
    task.save()
    if bump:
        task.refresh_from_db()
    return task


# -- writes ----------------------------------------------------------------------------


@transaction.atomic
def task_create(*, actor: Any, data: Mapping[str, Any]) -> Task:
    """Create a task. A task without ``assignee`` is the actor's own; one given to
    someone else notifies them. Raises NotPermitted, or InvalidInput naming each bad
    field."""
    policy.require(actor, "tasks.add")
    draft = task_validate(data, actor=actor)
    task = Task(**draft.fields, created_by=actor if getattr(actor, "pk", None) else None)
    if task.status == Task.Status.DONE:
        task.completed_at = timezone.now()
        task.completed_by = task.created_by
    _save(task, bump=False)
    if draft.contact_ids:
        task.contacts.set(draft.contact_ids)
    if draft.organization_ids:
        task.organizations.set(draft.organization_ids)
    _after_write(task, set(), set(draft.contact_ids or []))
    _notify_assignee(task, actor, None)
    return task


@transaction.atomic
def task_update(
    *,
    actor: Any,
    task: Task,
    data: Mapping[str, Any],
    expected_version: int | None = None,
) -> Task:
    """Change a task; ``contact_ids`` / ``organization_ids``, when given, replace the
    related records. Setting ``status`` to done completes it (a repeating task opens its
    next one). Raises Conflict when ``expected_version`` is stale, NotPermitted,
    InvalidInput."""
    policy.require(actor, "tasks.change")
    current = _lock(task, expected_version)
    draft = task_validate(data, current=current, actor=actor)
    before = _contact_ids(current)
    previous_assignee = current.assignee_id
    was_open = current.status == Task.Status.OPEN
    for key, value in draft.fields.items():
        setattr(current, key, value)
    if current.status == Task.Status.DONE and was_open:
        current.completed_at = timezone.now()
        current.completed_by = actor if getattr(actor, "pk", None) else None
    elif current.status == Task.Status.OPEN:
        current.completed_at = None
        current.completed_by = None
    _save(current, bump=True)
    if draft.contact_ids is not None:
        current.contacts.set(draft.contact_ids)
    if draft.organization_ids is not None:
        current.organizations.set(draft.organization_ids)
    after = _contact_ids(current)
    if current.status == Task.Status.DONE and was_open:
        _open_next(current, actor)
    _after_write(current, before, after)
    _notify_assignee(current, actor, previous_assignee)
    return current


def _open_next(task: Task, actor: Any) -> Task | None:
    found = next_occurrence(task)
    if found is None:
        return None
    due_date, due_at, rule = found
    following = Task(
        title=task.title,
        notes=task.notes,
        kind=task.kind,
        due_date=due_date,
        due_at=due_at,
        priority=task.priority,
        assignee=task.assignee,
        created_by=task.created_by,
        recurrence=rule,
        remind_before=task.remind_before,
    )
    _save(following, bump=False)
    following.contacts.set(_contact_ids(task))
    following.organizations.set(
        list(
            task.organizations.through.objects.filter(task_id=task.pk).values_list(
                "organization_id", flat=True
            )
        )
    )
    reminders.task_reminder_sync(following)
    return following


@transaction.atomic
def task_complete(*, actor: Any, task: Task, expected_version: int | None = None) -> Completion:
    """Mark a task done in one call. A repeating task opens its next occurrence; a call
    task returns where to log the call. Completing a task already done changes nothing
    (a key pressed twice). Raises Conflict, NotPermitted."""
    policy.require(actor, "tasks.change")
    current = _lock(task, expected_version)
    contacts = _contact_ids(current)
    if current.status == Task.Status.DONE:
        return Completion(
            task=current, log_call_url=log_call_url(current, contacts), already_done=True
        )
    current.status = Task.Status.DONE
    current.completed_at = timezone.now()
    current.completed_by = actor if getattr(actor, "pk", None) else None
    _save(current, bump=True)
    following = _open_next(current, actor)
    _after_write(current, contacts, contacts)
    return Completion(
        task=current, next_task=following, log_call_url=log_call_url(current, contacts)
    )


@transaction.atomic
def task_reopen(*, actor: Any, task: Task, expected_version: int | None = None) -> Task:
    """Open a done or cancelled task again (its reminder comes back when still ahead).
    The next task a repeating one opened stays: reopening does not undo it."""
    policy.require(actor, "tasks.change")
    current = _lock(task, expected_version)
    if current.status == Task.Status.OPEN:
        return current
    current.status = Task.Status.OPEN
    current.completed_at = None
    current.completed_by = None
    _save(current, bump=True)
    contacts = _contact_ids(current)
    _after_write(current, contacts, contacts)
    return current


@transaction.atomic
def task_delete(*, actor: Any, task: Task, expected_version: int | None = None) -> None:
    """Delete a task with its reminders; its contacts' "next step" moves on."""
    policy.require(actor, "tasks.delete")
    current = _lock(task, expected_version)
    contacts = _contact_ids(current)
    current.delete()
    contacts_refresh_activity(contacts)


def task_form_initial(*, contact_id: Any = None, organization_id: Any = None) -> dict[str, Any]:
    """What a new task form starts with when opened from a contact or organization page
    (``?contact=<id>`` / ``?organization=<id>``); unknown ids are ignored."""
    initial: dict[str, Any] = {"contact_ids": [], "organization_ids": []}
    for key, model, target in (
        (contact_id, Contact, "contact_ids"),
        (organization_id, Organization, "organization_ids"),
    ):
        text = str(key or "").strip()
        if (
            text.isdecimal()
            and 0 < int(text) < 2**63
            and model._default_manager.filter(pk=int(text)).exists()
        ):
            initial[target] = [int(text)]
    return initial
