"""/api/v1/mailboxes: the caller's own IMAP mailboxes. The password is write-only:
sent on create (and on a change), never returned."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict

from rapport.activity.mail.imap import services
from rapport.activity.models import Mailbox
from rapport.contacts.api._http import READ_ERRORS, WRITE_ERRORS, Detail, ObjectId, actor

router = Router(tags=["mailboxes"])

Security = Literal["ssl", "starttls", "none"]
LogPolicy = Literal["known", "metadata", "off"]


class MailboxIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=100, examples=["Work mail"])
    host: str | None = Field(None, max_length=253, examples=["imap.example.com"])
    port: int | None = Field(None, description="993 for ssl, 143 otherwise when left out.")
    security: Security | None = None
    username: str | None = Field(None, max_length=320, examples=["me@example.com"])
    password: str | None = Field(
        None, max_length=1000, description="Write-only: stored encrypted, never returned."
    )
    policy: LogPolicy | None = Field(
        None,
        description="known: messages with a known contact; metadata: the same without "
        "bodies; off: nothing is synced.",
    )
    folders: list[str] | None = Field(
        None, max_length=50, description="Folders to sync; empty means INBOX and Sent."
    )
    enabled: bool | None = Field(None, description="False pauses syncing, true resumes it.")


class FolderOut(Schema):
    name: str
    uidvalidity: int | None
    highest_uid: int
    last_sync_at: dt.datetime | None
    seen: int
    stored: int
    joined: int
    skipped: int
    failed: int
    error: str
    reconcile_report: str


class MailboxOut(Schema):
    id: int
    name: str
    host: str
    port: int
    security: str
    username: str
    policy: str
    folders: list[str]
    status: str
    status_text: str
    last_sync_at: dt.datetime | None
    last_error: str
    consecutive_failures: int
    next_attempt_at: dt.datetime | None
    folder_states: list[FolderOut]


class MailboxList(Schema):
    items: list[MailboxOut]


class SyncStarted(Schema):
    detail: str


class ConnectionTestOut(Schema):
    ok: bool
    message: str
    folders: list[str]
    sent_folder: str | None
    condstore: bool


def mailbox_out(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "id": mailbox.pk,
        "name": mailbox.name,
        "host": mailbox.host,
        "port": mailbox.port,
        "security": mailbox.security,
        "username": mailbox.username,
        "policy": mailbox.policy,
        "folders": list(mailbox.folders),
        "status": mailbox.status,
        "status_text": "Sync stopped" if mailbox.sync_stopped else mailbox.get_status_display(),
        "last_sync_at": mailbox.last_sync_at,
        "last_error": mailbox.last_error,
        "consecutive_failures": mailbox.consecutive_failures,
        "next_attempt_at": mailbox.next_attempt_at,
        "folder_states": [
            {
                "name": f.name,
                "uidvalidity": f.uidvalidity,
                "highest_uid": f.highest_uid,
                "last_sync_at": f.last_sync_at,
                "seen": f.seen,
                "stored": f.stored,
                "joined": f.joined,
                "skipped": f.skipped,
                "failed": f.failed,
                "error": f.error,
                "reconcile_report": f.reconcile_report,
            }
            for f in mailbox.folder_states.all()
        ],
    }


def _data(payload: MailboxIn) -> tuple[dict[str, Any], bool | None]:
    data = payload.model_dump(exclude_unset=True)
    enabled = data.pop("enabled", None)
    return data, enabled


@router.get("", response={200: MailboxList, **READ_ERRORS}, summary="List my mailboxes")
def list_mailboxes(request: HttpRequest) -> dict[str, Any]:
    mailboxes = services.mailbox_list(actor=actor(request)).prefetch_related("folder_states")
    return {"items": [mailbox_out(m) for m in mailboxes]}


@router.post("", response={201: MailboxOut, **WRITE_ERRORS}, summary="Add a mailbox")
def create_mailbox(
    request: HttpRequest, payload: MailboxIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    """Its first sync is due at once (the background worker picks it up)."""
    data, enabled = _data(payload)
    mailbox = services.mailbox_create(actor=actor(request), data=data)
    if enabled is False:
        mailbox = services.mailbox_update(
            actor=actor(request), mailbox=mailbox, data={}, enabled=False
        )
    response["Location"] = f"{request.path.rstrip('/')}/{mailbox.pk}"
    return Status(201, mailbox_out(mailbox))


@router.post(
    "/test", response={200: ConnectionTestOut, **READ_ERRORS}, summary="Test connection settings"
)
def test_connection(request: HttpRequest, payload: MailboxIn) -> dict[str, Any]:
    """Sign in with the settings sent and list the folders; nothing is saved. ``ok`` is
    false with the reason in ``message`` when the server cannot be reached or refuses."""
    data, _ = _data(payload)
    report = services.mailbox_test(actor=actor(request), data=data)
    return {
        "ok": report.ok,
        "message": report.message,
        "folders": report.folders,
        "sent_folder": report.sent_folder,
        "condstore": report.condstore,
    }


@router.get("/{mailbox_id}", response={200: MailboxOut, **READ_ERRORS}, summary="Read a mailbox")
def get_mailbox(request: HttpRequest, mailbox_id: ObjectId) -> dict[str, Any]:
    return mailbox_out(services.mailbox_get(actor=actor(request), pk=mailbox_id))


@router.patch(
    "/{mailbox_id}", response={200: MailboxOut, **WRITE_ERRORS}, summary="Change a mailbox"
)
def patch_mailbox(request: HttpRequest, mailbox_id: ObjectId, payload: MailboxIn) -> dict[str, Any]:
    """Only the fields sent change; without ``password`` the stored one is kept."""
    mailbox = services.mailbox_get(actor=actor(request), pk=mailbox_id)
    data, enabled = _data(payload)
    mailbox = services.mailbox_update(
        actor=actor(request), mailbox=mailbox, data=data, enabled=enabled
    )
    return mailbox_out(mailbox)


@router.delete("/{mailbox_id}", response={204: None, **WRITE_ERRORS}, summary="Remove a mailbox")
def delete_mailbox(request: HttpRequest, mailbox_id: ObjectId) -> Status[None]:
    """The mail already logged from it stays."""
    mailbox = services.mailbox_get(actor=actor(request), pk=mailbox_id)
    services.mailbox_delete(actor=actor(request), mailbox=mailbox)
    return Status(204, None)


@router.post(
    "/{mailbox_id}/sync",
    response={202: SyncStarted, 409: Detail, **WRITE_ERRORS},
    summary="Sync a mailbox now",
)
def sync_mailbox(request: HttpRequest, mailbox_id: ObjectId) -> Status[dict[str, Any]]:
    """Queues a sync for the background worker; read the mailbox for its result. 409
    when the mailbox is paused or being synced already (a sync whose process stopped
    reporting is taken over)."""
    mailbox = services.mailbox_get(actor=actor(request), pk=mailbox_id)
    if mailbox.status == Mailbox.Status.DISABLED or (
        mailbox.status == Mailbox.Status.SYNCING and not mailbox.sync_stopped
    ):
        message = services.mailbox_sync_request(actor=actor(request), mailbox=mailbox)
        return Status(409, {"detail": message})
    message = services.mailbox_sync_request(actor=actor(request), mailbox=mailbox)
    return Status(202, {"detail": message})
