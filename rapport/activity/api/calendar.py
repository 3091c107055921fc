"""Calendars over the API: import an .ics file, and keep subscribed calendar URLs.

Thin on purpose: ``rapport.activity.calendar`` validates, checks permissions and does
the work.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import ConfigDict

from rapport.activity.calendar import subscriptions as service
from rapport.activity.calendar.importing import calendar_import, read_limited
from rapport.activity.models import CalendarSubscription
from rapport.contacts.api._http import READ_ERRORS, WRITE_ERRORS, ObjectId, actor
from rapport.core import policy
from rapport.core.errors import InvalidInput

router = Router(tags=["calendar"])


class CalendarProblemOut(Schema):
    uid: str
    summary: str
    occurrence: str = Field(description="The occurrence's RECURRENCE-ID, or empty.")
    severity: str = Field(description="`error`: not stored; `warning`: stored anyway.")
    reason: str


class CalendarImportCounts(Schema):
    created: int
    updated: int
    unchanged: int
    cancelled: int = Field(description="Stored meetings now marked cancelled.")
    skipped: int = Field(description="Cancelled events that were never stored.")
    failed: int = Field(description="Events or occurrences not stored (see problems).")


class CalendarImportOut(Schema):
    file_name: str
    events: int = Field(description="Events (UIDs) in the file.")
    counts: CalendarImportCounts
    problems: list[CalendarProblemOut]


class CalendarSubscriptionOut(Schema):
    id: int
    name: str
    url: str = Field(description="The address, with any password in it hidden.")
    refresh_minutes: int
    enabled: bool
    status: str
    status_text: str
    error: str
    consecutive_failures: int
    last_attempt_at: dt.datetime | None
    last_refreshed_at: dt.datetime | None
    next_refresh_at: dt.datetime | None
    last_report: dict[str, Any]
    created_at: dt.datetime


class CalendarSubscriptionIn(Schema):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    url: str | None = Field(None, description="http, https or webcal address of an ICS feed.")
    refresh_minutes: int | None = Field(None, description="5 to 10080; default 60.")
    enabled: bool | None = None


def subscription_out(subscription: CalendarSubscription) -> dict[str, Any]:
    return {
        "id": subscription.pk,
        "name": subscription.name,
        "url": service.subscription_url_shown(subscription),
        "refresh_minutes": subscription.refresh_minutes,
        "enabled": subscription.enabled,
        "status": subscription.status,
        "status_text": subscription.get_status_display(),
        "error": subscription.error,
        "consecutive_failures": subscription.consecutive_failures,
        "last_attempt_at": subscription.last_attempt_at,
        "last_refreshed_at": subscription.last_refreshed_at,
        "next_refresh_at": subscription.next_refresh_at,
        "last_report": subscription.last_report or {},
        "created_at": subscription.created_at,
    }


@router.post(
    "/import", response={200: CalendarImportOut, **READ_ERRORS}, summary="Import an .ics file"
)
def import_calendar(request: HttpRequest, file: File[UploadedFile | None] = None) -> dict[str, Any]:
    """Multipart upload (field `file`: an iCalendar file, at most 5 MB by default).

    Each event, and each occurrence of a recurring event within the window, becomes a
    meeting; sending the same file again updates what changed and duplicates nothing.
    A bad event is counted as `failed` with its reason in `problems`; the others land.
    """
    who = actor(request)
    policy.require(who, "calendars.import")
    if file is None:
        raise InvalidInput.single("file", "Send an .ics file in the multipart field `file`.")
    file.seek(0)
    data = read_limited(file, size=file.size)
    return calendar_import(actor=who, data=data, file_name=file.name or "upload").as_dict()


@router.get(
    "/subscriptions",
    response={200: list[CalendarSubscriptionOut], **READ_ERRORS},
    summary="List my subscribed calendars",
)
def list_subscriptions(request: HttpRequest) -> list[dict[str, Any]]:
    return [subscription_out(s) for s in service.subscription_list(actor=actor(request))]


@router.post(
    "/subscriptions",
    response={201: CalendarSubscriptionOut, **WRITE_ERRORS},
    summary="Subscribe to a calendar URL",
)
def create_subscription(
    request: HttpRequest, response: HttpResponse, payload: CalendarSubscriptionIn
) -> Status[dict[str, Any]]:
    """The first refresh runs soon in the background; poll the subscription's `status`."""
    subscription = service.subscription_create(
        actor=actor(request), data=payload.dict(exclude_unset=True)
    )
    response["Location"] = f"{request.path.rstrip('/')}/{subscription.pk}"
    return Status(201, subscription_out(subscription))


@router.get(
    "/subscriptions/{subscription_id}",
    response={200: CalendarSubscriptionOut, **READ_ERRORS},
    summary="Read a subscribed calendar",
)
def get_subscription(request: HttpRequest, subscription_id: ObjectId) -> dict[str, Any]:
    return subscription_out(
        service.subscription_get(actor=actor(request), subscription_id=subscription_id)
    )


@router.patch(
    "/subscriptions/{subscription_id}",
    response={200: CalendarSubscriptionOut, **WRITE_ERRORS},
    summary="Change a subscribed calendar",
)
def patch_subscription(
    request: HttpRequest, subscription_id: ObjectId, payload: CalendarSubscriptionIn
) -> dict[str, Any]:
    who = actor(request)
    subscription = service.subscription_get(actor=who, subscription_id=subscription_id)
    changed = service.subscription_update(
        actor=who, subscription=subscription, data=payload.dict(exclude_unset=True)
    )
    return subscription_out(changed)


@router.delete(
    "/subscriptions/{subscription_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Unsubscribe (the meetings stay)",
)
def delete_subscription(request: HttpRequest, subscription_id: ObjectId) -> Status[None]:
    who = actor(request)
    subscription = service.subscription_get(actor=who, subscription_id=subscription_id)
    service.subscription_delete(actor=who, subscription=subscription)
    return Status(204, None)


@router.post(
    "/subscriptions/{subscription_id}/refresh",
    response={202: CalendarSubscriptionOut, **WRITE_ERRORS},
    summary="Refresh a subscribed calendar now",
)
def refresh_subscription(request: HttpRequest, subscription_id: ObjectId) -> Status[dict[str, Any]]:
    """Queues a refresh in the background; poll the subscription for its outcome."""
    who = actor(request)
    subscription = service.subscription_get(actor=who, subscription_id=subscription_id)
    service.subscription_request_refresh(actor=who, subscription=subscription)
    return Status(
        202,
        subscription_out(service.subscription_get(actor=who, subscription_id=subscription_id)),
    )
