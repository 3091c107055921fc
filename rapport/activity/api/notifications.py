"""Notifications: the signed-in user's own, newest first; marking them read."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import BaseModel, ConfigDict

from rapport.activity.models import Notification
from rapport.activity.services import notifications as services
from rapport.contacts.api._http import READ_ERRORS, actor
from rapport.core import policy

router = Router(tags=["notifications"])


class NotificationOut(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    url: str
    task_id: int | None
    contact_id: int | None
    interaction_id: int | None
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int


class NotificationParams(Schema):
    unread: bool = Field(False, description="Only unread ones.")
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


class MarkReadIn(Schema):
    model_config = ConfigDict(extra="forbid")

    ids: list[int] | None = Field(
        None, max_length=1000, description="These notifications; left out: all of yours."
    )


class MarkedOut(BaseModel):
    marked: int
    unread: int


def notification_out(n: Notification) -> dict[str, Any]:
    return {
        "id": n.pk,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "url": n.url,
        "task_id": n.task_id,
        "contact_id": n.contact_id,
        "interaction_id": n.interaction_id,
        "created_at": n.created_at,
        "read_at": n.read_at,
    }


@router.get("", response={200: NotificationPage, **READ_ERRORS}, summary="My notifications")
def list_notifications(request: HttpRequest, params: Query[NotificationParams]) -> dict[str, Any]:
    """Yours only, newest first, with how many are unread."""
    user = actor(request)
    policy.require(user, "notifications.own")
    rows, next_cursor = services.notification_list(
        user=user, cursor=params.cursor, limit=params.limit, unread=params.unread
    )
    return {
        "items": [notification_out(n) for n in rows],
        "next_cursor": next_cursor,
        "unread": services.unread_count(user=user),
    }


@router.post("/read", response={200: MarkedOut, **READ_ERRORS}, summary="Mark read")
def mark_read(request: HttpRequest, payload: MarkReadIn) -> dict[str, Any]:
    """Mark the given notifications read, or all of yours when `ids` is left out."""
    user = actor(request)
    policy.require(user, "notifications.own")
    marked = services.notifications_mark_read(user=user, ids=payload.ids)
    return {"marked": marked, "unread": services.unread_count(user=user)}
