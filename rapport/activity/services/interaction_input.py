"""Checking what an interaction is given, field by field, before anything is saved:
the same rules for a form, the API, a mailbox or a calendar."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from rapport.access.models import User
from rapport.activity.models import Interaction
from rapport.activity.services._input import moment_in
from rapport.activity.services.participants import (
    MAX_PARTICIPANTS,
    ROLES,
    Directory,
    ParticipantDraft,
    draft_resolve,
    e164_of,
    email_key_of,
)
from rapport.activity.services.text import sanitize_html, text_from_html
from rapport.contacts.models import Contact, Organization
from rapport.core.errors import FieldError, InvalidInput

MAX_SUBJECT = 500
MAX_BODY = 1_000_000
MAX_EXTERNAL_ID = 400
MAX_DURATION = 7 * 24 * 3600
KINDS = frozenset(Interaction.Kind.values)
DIRECTIONS = frozenset(Interaction.Direction.values)
OUTCOMES = frozenset(Interaction.Outcome.values)
MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9_.+-]{1,150})")

# The role a contact takes when the caller names no role, by kind.
_DEFAULT_ROLE = {
    "note": "subject",
    "call": "callee",
    "meeting": "attendee",
    "email": "to",
    "message": "to",
    "letter": "to",
    "other": "subject",
}
_FIELDS = frozenset(
    {
        "kind",
        "occurred_at",
        "ends_at",
        "all_day",
        "duration_seconds",
        "outcome",
        "direction",
        "channel",
        "location",
        "cancelled",
        "subject",
        "body",
        "body_html",
        "private",
        "external_id",
        "participants",
        "metadata",
    }
)


@dataclass
class InteractionDraft:
    """An interaction checked and ready to save: its columns and its participants."""

    fields: dict[str, Any]
    participants: list[ParticipantDraft] = field(default_factory=list)
    mentions: list[int] = field(default_factory=list)


def is_two_way(fields: Mapping[str, Any]) -> bool:
    """A real exchange with someone: what resets "last contacted" and keep-in-touch.

    A note is not one, nor a call nobody answered, nor a cancelled meeting; an email,
    message or letter is when it went in or out (not one kept as internal).
    """
    kind = fields.get("kind")
    if kind == "call":
        outcome = fields.get("outcome") or ""
        return outcome == "connected" or (not outcome and bool(fields.get("duration_seconds")))
    if kind == "meeting":
        return not fields.get("cancelled")
    if kind in ("email", "message", "letter"):
        return fields.get("direction") in ("inbound", "outbound")
    return False


def _aware(
    value: Any, path: str, errors: list[FieldError], *, required: bool
) -> dt.datetime | None:
    if value in (None, "") and required:
        errors.append(FieldError(path, "This field is required."))
    return moment_in(value, path, errors)


def _text(
    value: Any, path: str, errors: list[FieldError], *, limit: int, strip: bool = True
) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.append(FieldError(path, "Must be text."))
        return ""
    text = value.strip() if strip else value
    if "\x00" in text:
        errors.append(FieldError(path, "Text cannot contain NUL characters."))
        return ""
    if len(text) > limit:
        errors.append(FieldError(path, f"At most {limit:,} characters are allowed."))
        return ""
    return text


def _choice(
    value: Any, path: str, errors: list[FieldError], choices: frozenset[str], default: str = ""
) -> str:
    if value in (None, ""):
        return default
    if not isinstance(value, str) or value not in choices:
        errors.append(FieldError(path, f"Must be one of: {', '.join(sorted(choices))}."))
        return default
    return value


def _participants(
    rows: Any, kind: str, errors: list[FieldError], directory: Directory
) -> list[ParticipantDraft]:
    if rows in (None, ""):
        return []
    if not isinstance(rows, list):
        errors.append(FieldError("participants", "Must be a list."))
        return []
    if len(rows) > MAX_PARTICIPANTS:
        errors.append(FieldError("participants", f"At most {MAX_PARTICIPANTS} are allowed."))
        return []
    drafts: list[ParticipantDraft] = []
    contact_ids: dict[int, str] = {}
    org_ids: dict[int, str] = {}
    usernames: dict[str, str] = {}
    pending_users: list[tuple[ParticipantDraft, str]] = []
    for i, row in enumerate(rows):
        path = f"participants[{i}]"
        if not isinstance(row, Mapping):
            errors.append(FieldError(path, "Must be an object."))
            continue
        unknown = set(row) - {
            "role",
            "contact_id",
            "organization_id",
            "user",
            "email",
            "phone",
            "name",
        }
        for key in sorted(unknown):
            errors.append(FieldError(f"{path}.{key}", "Unknown field."))
        role = _choice(row.get("role"), f"{path}.role", errors, ROLES, _DEFAULT_ROLE[kind])
        draft = ParticipantDraft(role=role)
        draft.name = _text(row.get("name"), f"{path}.name", errors, limit=300)
        for key, target in (("contact_id", contact_ids), ("organization_id", org_ids)):
            value = row.get(key)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                errors.append(FieldError(f"{path}.{key}", "Must be a record id."))
                continue
            target[value] = f"{path}.{key}"
            setattr(draft, key, value)
        user = row.get("user")
        if user is not None:
            if not isinstance(user, str) or not user.strip():
                errors.append(FieldError(f"{path}.user", "Give a username."))
            else:
                usernames[user.strip()] = f"{path}.user"
        email = _text(row.get("email"), f"{path}.email", errors, limit=320)
        if email:
            draft.address = email
            draft.address_key = email_key_of(email)
            if not draft.address_key:
                errors.append(FieldError(f"{path}.email", f"“{email}” is not an email address."))
        phone = _text(row.get("phone"), f"{path}.phone", errors, limit=64)
        if phone:
            draft.phone = phone
            draft.e164 = e164_of(phone)
        if not (
            draft.contact_id
            or draft.organization_id
            or user is not None
            or draft.address
            or draft.phone
            or draft.name
        ):
            errors.append(
                FieldError(path, "Name a contact, an organization, a user, an email or a phone.")
            )
        drafts.append(draft)
        if isinstance(user, str) and user.strip():
            pending_users.append((draft, user.strip()))
    # the name is kept with the link, so a participant still says who it was when the
    # contact is deleted one day
    names = dict(Contact.objects.filter(pk__in=list(contact_ids)).values_list("id", "display_name"))
    for pk, path in contact_ids.items():
        if pk not in names:
            errors.append(FieldError(path, f"There is no contact {pk}."))
    names_of_orgs = dict(
        Organization.objects.filter(pk__in=list(org_ids)).values_list("id", "name")
    )
    for pk, path in org_ids.items():
        if pk not in names_of_orgs:
            errors.append(FieldError(path, f"There is no organization {pk}."))
    for draft in drafts:
        if not draft.name:
            draft.name = names.get(draft.contact_id or 0) or names_of_orgs.get(
                draft.organization_id or 0, ""
            )
    users = dict(
        User.objects.filter(username__in=list(usernames), is_active=True).values_list(
            "username", "id"
        )
    )
    for name, path in usernames.items():
        if name not in users:
            errors.append(FieldError(path, f"There is no active user {name!r}."))
    for draft, username in pending_users:
        draft.user_id = users.get(username)
    directory.load_emails(d.address_key for d in drafts)
    return [draft_resolve(d, directory) for d in drafts]


def interaction_validate(
    data: Mapping[str, Any],
    *,
    current: Interaction | None = None,
    directory: Directory | None = None,
) -> InteractionDraft:
    """Check an interaction's input, all fields at once; raise InvalidInput naming each
    bad field. With ``current``, fields not given keep their values (a partial update)."""
    errors: list[FieldError] = []
    for key in sorted(set(data) - _FIELDS):
        errors.append(FieldError(key, "Unknown field."))

    def given(key: str) -> bool:
        return current is None or key in data

    def old(key: str) -> Any:
        return getattr(current, key) if current is not None else None

    fields: dict[str, Any] = {}
    kind = _choice(data.get("kind"), "kind", errors, KINDS) if given("kind") else current.kind  # type: ignore[union-attr]
    if current is None and not kind:
        errors.append(FieldError("kind", "This field is required."))
    fields["kind"] = kind or "note"
    fields["occurred_at"] = (
        _aware(data.get("occurred_at"), "occurred_at", errors, required=False) or timezone.now()
        if given("occurred_at")
        else old("occurred_at")
    )
    fields["ends_at"] = (
        _aware(data.get("ends_at"), "ends_at", errors, required=False)
        if given("ends_at")
        else old("ends_at")
    )
    if fields["ends_at"] and fields["occurred_at"] and fields["ends_at"] < fields["occurred_at"]:
        errors.append(FieldError("ends_at", "The end is before the start."))
    duration = (
        data.get("duration_seconds") if given("duration_seconds") else old("duration_seconds")
    )
    if duration is not None and (
        not isinstance(duration, int)
        or isinstance(duration, bool)
        or not 0 <= duration <= MAX_DURATION
    ):
        errors.append(
            FieldError("duration_seconds", "Give a whole number of seconds, at most 7 days.")
        )
        duration = None
    fields["duration_seconds"] = duration
    default_direction = "internal" if fields["kind"] in ("note", "other") else "outbound"
    fields["direction"] = (
        _choice(data.get("direction"), "direction", errors, DIRECTIONS, default_direction)
        if given("direction")
        else old("direction")
    )
    fields["outcome"] = (
        _choice(data.get("outcome"), "outcome", errors, OUTCOMES)
        if given("outcome")
        else old("outcome")
    )
    if fields["outcome"] and fields["kind"] != "call":
        errors.append(FieldError("outcome", "Only calls have an outcome."))
    for key, limit in (("channel", 30), ("location", 300), ("subject", MAX_SUBJECT)):
        fields[key] = _text(data.get(key), key, errors, limit=limit) if given(key) else old(key)
    if given("body"):
        fields["body"] = _text(
            data.get("body"), "body", errors, limit=MAX_BODY, strip=False
        ).strip()
    else:
        fields["body"] = old("body")
    if given("body_html"):
        html = _text(data.get("body_html"), "body_html", errors, limit=MAX_BODY, strip=False)
        fields["body_html"] = sanitize_html(html) if html else ""
        if fields["body_html"] and not fields["body"]:
            fields["body"] = text_from_html(fields["body_html"])
    else:
        fields["body_html"] = old("body_html")
    for key in ("all_day", "cancelled", "private"):
        value = data.get(key) if given(key) else old(key)
        if value is None:
            value = False
        if not isinstance(value, bool):
            errors.append(FieldError(key, "Must be true or false."))
            value = False
        fields[key] = value
    if given("metadata"):
        metadata = data.get("metadata") or {}
        if not isinstance(metadata, Mapping):
            errors.append(FieldError("metadata", "Must be an object."))
            metadata = {}
        elif len(str(metadata)) > 20_000:
            errors.append(FieldError("metadata", "At most 20,000 characters are allowed."))
            metadata = {}
        fields["metadata"] = dict(metadata)
    if current is None or "external_id" in data:
        external = _text(data.get("external_id"), "external_id", errors, limit=MAX_EXTERNAL_ID)
        fields["external_key"] = f"api:{external}" if external else ""
    if not any(fields.get(k) for k in ("subject", "body")) and fields["kind"] == "note":
        errors.append(FieldError("body", "A note needs some text."))
    directory = directory or Directory()
    participants = (
        _participants(data.get("participants"), fields["kind"], errors, directory)
        if "participants" in data
        else []
    )
    if errors:
        raise InvalidInput(errors)
    fields["two_way"] = is_two_way(fields)
    mentions = _mentioned_users(fields["body"]) if given("body") else []
    return InteractionDraft(fields=fields, participants=participants, mentions=mentions)


def _mentioned_users(text: str) -> list[int]:
    names = {m.group(1).rstrip(".") for m in MENTION.finditer(text or "")}
    if not names:
        return []
    return list(
        User.objects.filter(username__in=names, is_active=True).values_list("id", flat=True)
    )
