"""Tasks: list, create, read, replace, change, complete, delete. ETag / If-Match like
contacts; values are checked by services.tasks, so the API says what the form says."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel, ConfigDict

from rapport.activity.models import Task
from rapport.activity.selectors import tasks as selectors
from rapport.activity.services import tasks as services
from rapport.contacts.api._http import (
    READ_ERRORS,
    WRITE_ERRORS,
    ObjectId,
    actor,
    created,
    expected_version,
    replacement,
    sent,
    with_etag,
)
from rapport.core import policy

router = Router(tags=["tasks"])


class TaskIn(Schema):
    """Every field optional on PATCH; PUT treats a field left out as empty."""

    model_config = ConfigDict(extra="forbid")

    title: Any = Field(None, description="Required, at most 300 characters.")
    notes: Any = None
    kind: Any = Field(None, description="todo, call, email or meeting (default todo).")
    due_date: Any = Field(None, description="A due day (2026-03-01); or give due_at.")
    due_at: Any = Field(None, description="A due time with an offset; or give due_date.")
    assignee: Any = Field(None, description="Username; left out on create: you. null: nobody.")
    priority: Any = Field(None, description="low, normal, high, urgent (or 1–4).")
    status: Any = Field(None, description="open, done or cancelled.")
    contact_ids: Any = Field(None, description="Related contacts (replaces the list).")
    organization_ids: Any = Field(None, description="Related organizations.")
    remind_before: Any = Field(
        None, description="Minutes before the due time for a reminder (null: none)."
    )
    recurrence: Any = Field(
        None, description="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO; needs a due."
    )


class TaskOut(BaseModel):
    id: int
    title: str
    notes: str
    kind: str
    due_date: dt.date | None
    due_at: dt.datetime | None
    due_key: dt.datetime | None
    priority: str
    status: str
    assignee: str | None
    created_by: str | None
    completed_at: dt.datetime | None
    completed_by: str | None
    recurrence: str
    remind_before: int | None
    contact_ids: list[int]
    organization_ids: list[int]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    etag: str


class TaskPageOut(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class CompletionOut(BaseModel):
    task: TaskOut
    next_task: TaskOut | None
    log_call_url: str = ""
    already_done: bool = False


class TaskListParams(Schema):
    assignee: str = Field("", description="A username, `me`, or `none` for unassigned.")
    status: str = Field("", description="open, done or cancelled.")
    contact: int | None = Field(None, ge=1, le=2**63 - 1, description="Related to this contact.")
    organization: int | None = Field(None, ge=1, le=2**63 - 1)
    due_before: str = Field("", description="Due before this moment (a day: until its end).")
    due_after: str = Field("", description="Due at or after this moment (a day: from its start).")
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=selectors.MAX_LIMIT)


def _name(user: Any) -> str | None:
    return user.username if user is not None else None


def task_out(task: Task) -> dict[str, Any]:
    return {
        "id": task.pk,
        "title": task.title,
        "notes": task.notes,
        "kind": task.kind,
        "due_date": task.due_date,
        "due_at": task.due_at,
        "due_key": task.due_key,
        "priority": Task.Priority(task.priority).label.lower(),
        "status": task.status,
        "assignee": _name(task.assignee),
        "created_by": _name(task.created_by),
        "completed_at": task.completed_at,
        "completed_by": _name(task.completed_by),
        "recurrence": task.recurrence,
        "remind_before": task.remind_before,
        "contact_ids": getattr(task, "related_contact_ids", []),
        "organization_ids": getattr(task, "related_organization_ids", []),
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "version": task.version,
        "etag": task.etag,
    }


def _get(request: HttpRequest, task_id: int) -> Task:
    return selectors.task_get(actor=actor(request), task_id=task_id)


@router.get("", response={200: TaskPageOut, **READ_ERRORS}, summary="List tasks")
def list_tasks(request: HttpRequest, params: Query[TaskListParams]) -> dict[str, Any]:
    """Tasks in the order they were made, one page at a time (`next_cursor`)."""
    filters = selectors.TaskFilters(
        assignee=params.assignee.strip(),
        status=params.status.strip(),
        contact=params.contact,
        organization=params.organization,
        due_before=params.due_before,
        due_after=params.due_after,
    )
    found = selectors.task_list(
        actor=actor(request), filters=filters, cursor=params.cursor, limit=params.limit
    )
    return {"items": [task_out(t) for t in found.items], "next_cursor": found.next_cursor}


@router.post("", response={201: TaskOut, **WRITE_ERRORS}, summary="Create a task")
def create_task(request: HttpRequest, payload: TaskIn, response: HttpResponse) -> Status[Any]:
    task = services.task_create(actor=actor(request), data=sent(payload))
    task = _get(request, task.pk)
    return created(request, response, task.pk, task.etag, task_out(task))


@router.get("/{task_id}", response={200: TaskOut, **READ_ERRORS}, summary="Read a task")
def get_task(request: HttpRequest, task_id: ObjectId, response: HttpResponse) -> dict[str, Any]:
    task = _get(request, task_id)
    return with_etag(response, task.etag, task_out(task))


def _update(
    request: HttpRequest, task_id: int, data: dict[str, Any], response: HttpResponse
) -> dict[str, Any]:
    policy.require(actor(request), "tasks.change")
    task = Task.objects.get(pk=task_id)
    services.task_update(
        actor=actor(request),
        task=task,
        data=data,
        expected_version=expected_version(request, task),
    )
    task = _get(request, task_id)
    return with_etag(response, task.etag, task_out(task))


@router.patch("/{task_id}", response={200: TaskOut, **WRITE_ERRORS}, summary="Change a task")
def patch_task(
    request: HttpRequest, task_id: ObjectId, payload: TaskIn, response: HttpResponse
) -> dict[str, Any]:
    """Only the fields sent change. Send If-Match with the ETag to avoid overwriting."""
    return _update(request, task_id, sent(payload), response)


@router.put("/{task_id}", response={200: TaskOut, **WRITE_ERRORS}, summary="Replace a task")
def put_task(
    request: HttpRequest, task_id: ObjectId, payload: TaskIn, response: HttpResponse
) -> dict[str, Any]:
    """Every field not sent becomes empty (the assignee: nobody)."""
    data = replacement(payload, TaskIn.model_fields)
    return _update(request, task_id, data, response)


@router.post(
    "/{task_id}/complete",
    response={200: CompletionOut, **WRITE_ERRORS},
    summary="Complete a task",
)
def complete_task(request: HttpRequest, task_id: ObjectId) -> dict[str, Any]:
    """Mark it done. A repeating task opens its next occurrence (`next_task`); a call
    task says where to log the call (`log_call_url`)."""
    policy.require(actor(request), "tasks.change")
    task = Task.objects.get(pk=task_id)
    done = services.task_complete(
        actor=actor(request), task=task, expected_version=expected_version(request, task)
    )
    following = _get(request, done.next_task.pk) if done.next_task else None
    return {
        "task": task_out(_get(request, task_id)),
        "next_task": task_out(following) if following else None,
        "log_call_url": done.log_call_url,
        "already_done": done.already_done,
    }


@router.delete("/{task_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a task")
def delete_task(request: HttpRequest, task_id: ObjectId) -> Status[None]:
    policy.require(actor(request), "tasks.delete")
    task = Task.objects.get(pk=task_id)
    services.task_delete(
        actor=actor(request), task=task, expected_version=expected_version(request, task)
    )
    return Status(204, None)
