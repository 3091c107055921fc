"""Mailboxes a user connects: add, change, remove, test, and ask for a sync.

Every entry path (the Mailboxes page, the API, the CLI) goes through these functions.
A user only ever sees and changes their own mailboxes (policy action ``mailboxes.own``).
The password is encrypted before it is saved and never returned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from rapport.activity.mail.imap.connection import ConnectionReport, Server, connection_test
from rapport.activity.mail.imap.passwords import (
    KeyUnavailable,
    password_decrypt,
    password_encrypt,
)
from rapport.activity.models import Mailbox
from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput

FIELDS = ("name", "host", "port", "security", "username", "password", "policy", "folders")
_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$"
)
MAX_FOLDERS = 50


def mailbox_list(*, actor: Any) -> QuerySet[Mailbox]:
    """The actor's own mailboxes, by name."""
    policy.require(actor, "mailboxes.own")
    return Mailbox.objects.filter(owner=actor).order_by("name", "id")


def mailbox_get(*, actor: Any, pk: int) -> Mailbox:
    """One of the actor's own mailboxes; Mailbox.DoesNotExist for anyone else's."""
    policy.require(actor, "mailboxes.own")
    return Mailbox.objects.get(pk=pk, owner=actor)


def _text(
    data: Mapping[str, Any], key: str, errors: list[FieldError], *, limit: int, required: bool
) -> str:
    value = data.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.append(FieldError(key, "Must be text."))
        return ""
    value = value.strip() if key != "password" else value
    if "\x00" in value:
        errors.append(FieldError(key, "Text cannot contain NUL characters."))
    elif required and not value:
        errors.append(FieldError(key, "This field is required."))
    elif len(value) > limit:
        errors.append(FieldError(key, f"At most {limit} characters."))
    return value


def mailbox_validate(*, data: Mapping[str, Any], instance: Mailbox | None = None) -> dict[str, Any]:
    """Check a mailbox's fields; returns them cleaned, or raises InvalidInput naming each
    field that is wrong. On a change (``instance``) only the fields given are checked,
    and an empty password keeps the stored one."""
    errors: list[FieldError] = []
    unknown = sorted(set(data) - set(FIELDS))
    errors.extend(FieldError(key, "Unknown field.") for key in unknown)
    creating = instance is None
    clean: dict[str, Any] = {}

    def given(key: str) -> bool:
        return creating or key in data

    if given("name"):
        clean["name"] = _text(data, "name", errors, limit=100, required=True)
    if given("host"):
        host = _text(data, "host", errors, limit=253, required=True)
        if host and not _HOST.match(host):
            errors.append(FieldError("host", "Not a host name or address (e.g. imap.example.com)."))
        clean["host"] = host
    if given("security"):
        security = data.get("security") or Mailbox.Security.SSL
        if security not in Mailbox.Security.values:
            errors.append(FieldError("security", "Choose one of: ssl, starttls, none."))
        clean["security"] = security
    if given("port"):
        port: Any = data.get("port")
        if port in (None, ""):
            port = (
                143 if clean.get("security", getattr(instance, "security", "ssl")) != "ssl" else 993
            )
        try:
            port = int(port)
        except (TypeError, ValueError):
            errors.append(FieldError("port", "Must be a whole number."))
            port = 0
        else:
            if not 1 <= port <= 65535:
                errors.append(FieldError("port", "Must be between 1 and 65535."))
        clean["port"] = port
    if given("username"):
        clean["username"] = _text(data, "username", errors, limit=320, required=True)
    if given("password"):
        password = _text(data, "password", errors, limit=1000, required=creating)
        if password:
            clean["password"] = password
    if given("policy"):
        choice = data.get("policy") or Mailbox.Policy.KNOWN
        if choice not in Mailbox.Policy.values:
            errors.append(FieldError("policy", "Choose one of: known, metadata, off."))
        clean["policy"] = choice
    if given("folders"):
        folders = data.get("folders") or []
        if isinstance(folders, str):
            folders = [part for part in folders.split(",")]
        if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
            errors.append(FieldError("folders", "A list of folder names."))
            folders = []
        folders = [f.strip() for f in folders if f.strip()]
        if len(folders) > MAX_FOLDERS:
            errors.append(FieldError("folders", f"At most {MAX_FOLDERS} folders."))
        for i, folder in enumerate(folders):
            if len(folder) > 500 or "\x00" in folder or "\r" in folder or "\n" in folder:
                errors.append(FieldError(f"folders[{i}]", "Not a usable folder name."))
        clean["folders"] = list(dict.fromkeys(folders))
    if errors:
        raise InvalidInput(errors)
    return clean


def _server(clean: Mapping[str, Any], instance: Mailbox | None) -> Server:
    def pick(key: str) -> Any:
        return clean[key] if key in clean else getattr(instance, key)

    password = clean.get("password")
    if password is None and instance is not None:
        password = password_decrypt(instance.password_encrypted)
    return Server(pick("host"), pick("port"), pick("security"), pick("username"), password or "")


def mailbox_test(
    *, actor: Any, data: Mapping[str, Any], instance: Mailbox | None = None
) -> ConnectionReport:
    """Try the settings given (with ``instance``'s for those left out): sign in and
    list the folders. Raises InvalidInput for fields that are wrong on their face."""
    policy.require(actor, "mailboxes.own")
    clean = mailbox_validate(data={**data, "name": data.get("name") or "test"}, instance=instance)
    return connection_test(_server(clean, instance))


def _save(mailbox: Mailbox, clean: Mapping[str, Any]) -> Mailbox:
    for key, value in clean.items():
        if key == "password":
            try:
                mailbox.password_encrypted = password_encrypt(value)
            except KeyUnavailable as exc:
                raise InvalidInput.single("password", str(exc)) from None
        else:
            setattr(mailbox, key, value)
    try:
        with transaction.atomic():
            mailbox.save()
    except IntegrityError:
        raise InvalidInput.single("name", "You already have a mailbox with this name.") from None
    return mailbox


def mailbox_create(*, actor: Any, data: Mapping[str, Any]) -> Mailbox:
    """Add a mailbox for ``actor``; its first sync is due at once."""
    policy.require(actor, "mailboxes.own")
    clean = mailbox_validate(data=data)
    mailbox = Mailbox(owner=actor, next_attempt_at=timezone.now())
    return _save(mailbox, clean)


_RESETS = {"host", "port", "security", "username", "password"}


def mailbox_update(
    *, actor: Any, mailbox: Mailbox, data: Mapping[str, Any], enabled: bool | None = None
) -> Mailbox:
    """Change one of ``actor``'s mailboxes. New connection settings clear a past error
    and make the next sync due at once; ``enabled=False`` pauses syncing, True resumes."""
    policy.require(actor, "mailboxes.own")
    if mailbox.owner_id != actor.pk:
        raise Mailbox.DoesNotExist
    clean = mailbox_validate(data=data, instance=mailbox)
    if _RESETS & set(clean) or "folders" in clean or enabled is not None:
        if mailbox.status != Mailbox.Status.SYNCING or mailbox.sync_stopped:
            if mailbox.status == Mailbox.Status.SYNCING:
                mailbox.claim += 1  # the stopped sync, should it wake, writes nothing more
            paused = enabled is False or (
                enabled is None and mailbox.status == Mailbox.Status.DISABLED
            )
            mailbox.status = Mailbox.Status.DISABLED if paused else Mailbox.Status.OK
        mailbox.consecutive_failures = 0
        mailbox.last_error = ""
        mailbox.next_attempt_at = timezone.now()
    return _save(mailbox, clean)


def mailbox_delete(*, actor: Any, mailbox: Mailbox) -> None:
    """Remove one of ``actor``'s mailboxes and its sync records; the mail already
    logged stays."""
    policy.require(actor, "mailboxes.own")
    if mailbox.owner_id != actor.pk:
        raise Mailbox.DoesNotExist
    mailbox.delete()


def mailbox_sync_request(*, actor: Any, mailbox: Mailbox) -> str:
    """Ask the background worker to sync the mailbox now; returns what happens, in words."""
    policy.require(actor, "mailboxes.own")
    if mailbox.owner_id != actor.pk:
        raise Mailbox.DoesNotExist
    if mailbox.status == Mailbox.Status.DISABLED:
        return "This mailbox is paused; resume it to sync."
    if mailbox.status == Mailbox.Status.SYNCING and not mailbox.sync_stopped:
        return "This mailbox is being synced right now."
    from rapport.activity.mail.imap.tasks import sync_mailbox

    pk = mailbox.pk
    transaction.on_commit(lambda: sync_mailbox.enqueue(mailbox_id=pk, due_only=False))
    return "A sync was started; this page shows its result when it is done."
