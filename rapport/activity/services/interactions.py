"""Logging, capturing, changing and deleting interactions.

Every way an interaction arrives (a form, the API, a mailbox, an uploaded file, a
calendar) ends in ``interaction_create`` or, for captured things that carry their own
identity, ``interaction_capture``: the same validation, the same participants, the same
"last contacted". Captured twice, a thing is stored once and gains the new links.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from rapport.access.models import User
from rapport.activity.models import Interaction, Participant
from rapport.activity.services import notifications
from rapport.activity.services.attachments import attachment_files_discard
from rapport.activity.services.interaction_input import (
    InteractionDraft,
    interaction_validate,
    is_two_way,
)
from rapport.activity.services.participants import (
    ParticipantDraft,
    contacts_refresh_activity,
    participant_rows,
    participants_add,
)
from rapport.contacts.models import Contact
from rapport.core import policy
from rapport.core.errors import Conflict, InvalidInput, NotPermitted
from rapport.core.locking import retry_once_on_conflict


@dataclass
class Captured:
    interaction: Interaction
    created: bool


def _contacts_of(interaction_id: int) -> list[int]:
    return list(
        Participant.objects.filter(interaction_id=interaction_id, contact__isnull=False)
        .values_list("contact_id", flat=True)
        .distinct()
    )


def _contacted(contact_ids: Sequence[int], moment: dt.datetime) -> None:
    """A new two-way interaction: move "last contacted" forward where it is later,
    and the keep-in-touch day of those who have a cadence."""
    contacts_contacted(dict.fromkeys(contact_ids, moment))


def contacts_contacted(moments: Mapping[int, dt.datetime]) -> None:
    """Two-way interactions with these contacts happened at these moments: move each
    one's "last contacted" forward where it is later (one read, one write for all),
    and the keep-in-touch day of those who have a cadence. A moment still to come
    counts once it has happened (``contacts_catch_up``)."""
    now = timezone.now()
    moments = {pk: at for pk, at in moments.items() if at <= now}
    if not moments:
        return
    current = Contact.objects.filter(pk__in=list(moments)).values_list(
        "id", "last_contacted_at", "reach_out_by"
    )
    later: list[Contact] = []
    with_cadence: list[int] = []
    for pk, last, reach_out_by in current:
        if last is None or last < moments[pk]:
            later.append(Contact(pk=pk, last_contacted_at=moments[pk]))
            if reach_out_by is not None:
                with_cadence.append(pk)
    if later:
        Contact.objects.bulk_update(later, ["last_contacted_at"], batch_size=500)
    if with_cadence:
        contacts_refresh_activity(with_cadence)


def moments_add(
    moments: dict[int, dt.datetime], contact_ids: Iterable[int], at: dt.datetime
) -> None:
    """Note that these contacts were in touch at ``at`` (the latest moment wins)."""
    for pk in contact_ids:
        if pk not in moments or moments[pk] < at:
            moments[pk] = at


def _notify_mentions(interaction: Interaction, user_ids: Sequence[int], actor: Any) -> None:
    author = getattr(actor, "pk", None)
    for user_id in user_ids:
        if user_id == author:
            continue
        if interaction.private and not policy.sees_all_private(User.objects.get(pk=user_id)):
            continue
        notifications.notify_mention(user_id=user_id, interaction=interaction, actor=actor)


def _save(
    draft: InteractionDraft,
    *,
    actor: Any,
    source: str,
    contacted: dict[int, dt.datetime] | None = None,
) -> Interaction:
    interaction = Interaction.objects.create(
        **draft.fields,
        author=actor if getattr(actor, "pk", None) else None,
        source=source,
    )
    mentioned = [
        ParticipantDraft(role="mentioned", user_id=pk)
        for pk in draft.mentions
        if pk not in {d.user_id for d in draft.participants}
    ]
    Participant.objects.bulk_create(
        participant_rows(interaction, [*draft.participants, *mentioned])
    )
    if interaction.two_way:
        people = {d.contact_id for d in draft.participants if d.contact_id}
        if contacted is not None:
            moments_add(contacted, people, interaction.occurred_at)
        else:
            _contacted(sorted(people), interaction.occurred_at)
    _notify_mentions(interaction, draft.mentions, actor)
    return interaction


@retry_once_on_conflict
@transaction.atomic
def interaction_create(*, actor: Any, data: Mapping[str, Any], via: str = "ui") -> Captured:
    """Log an interaction (a form, the API, a telephony system).

    With ``external_id`` the caller's own id makes the write idempotent: sending the same
    id again returns the interaction already stored (``created`` False) with any new
    participants added. Raises NotPermitted, or InvalidInput naming each bad field.
    """
    policy.require(actor, "interactions.add")
    draft = interaction_validate(data)
    source = Interaction.Source.API if via == "api" else Interaction.Source.MANUAL
    return _capture(draft, actor=actor, source=source)


def interactions_with_keys(keys: Iterable[str]) -> set[str]:
    """Which of these external keys are stored already (one query for a batch)."""
    wanted = sorted({k for k in keys if k})
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(
            Interaction.objects.filter(external_key__in=wanted[start : start + 500])
            .exclude(external_key="")
            .values_list("external_key", flat=True)
        )
    return found


def _existing(key: str) -> Interaction | None:
    # the empty-key exclusion lets SQLite use the partial unique index, and no ORDER BY
    # (``first()`` would add one) keeps it from walking the table in id order instead
    found = (
        Interaction.objects.select_for_update()
        .filter(external_key=key)
        .exclude(external_key="")
        .order_by()[:1]
    )
    return next(iter(found), None)


def _capture(
    draft: InteractionDraft,
    *,
    actor: Any,
    source: str,
    savepoint: bool = True,
    contacted: dict[int, dt.datetime] | None = None,
    absent: bool = False,
) -> Captured:
    key = draft.fields.get("external_key") or ""
    if not key:
        return Captured(_save(draft, actor=actor, source=source, contacted=contacted), True)
    existing = None if absent else _existing(key)
    if existing is not None:
        return Captured(_join(existing, draft, contacted), created=False)
    if not savepoint:
        # the caller redoes its work one capture at a time when this one fails
        return Captured(_save(draft, actor=actor, source=source, contacted=contacted), True)
    try:
        with transaction.atomic():
            return Captured(_save(draft, actor=actor, source=source, contacted=contacted), True)
    except IntegrityError:
        # someone captured the same thing meanwhile: theirs is the one
        existing = _existing(key)
        if existing is None:
            raise
        return Captured(_join(existing, draft, contacted), created=False)


def _join(
    existing: Interaction,
    draft: InteractionDraft,
    contacted: dict[int, dt.datetime] | None = None,
) -> Interaction:
    new_contacts = participants_add(existing, draft.participants)
    if existing.two_way and new_contacts:
        if contacted is not None:
            moments_add(contacted, new_contacts, existing.occurred_at)
        else:
            _contacted(new_contacts, existing.occurred_at)
    return existing


def interaction_capture(
    *,
    draft: InteractionDraft,
    actor: Any = None,
    source: str,
    isolated: bool = True,
    contacted: dict[int, dt.datetime] | None = None,
    absent: bool = False,
) -> Captured:
    """Store a captured interaction (mail, calendar) once per ``external_key``.

    The draft comes from a parser that checked it; capturing the same key again adds
    the new participants to the stored one. Runs in the caller's transaction when there
    is one (a mailbox stores a message and its place in the folder together).

    For callers that store many at once: ``isolated`` False takes no savepoint (a
    failure, a concurrent capture of the same key included, propagates, and the caller
    redoes its batch one capture at a time); ``contacted`` collects who was in touch
    when, for one ``contacts_contacted`` call per batch instead of one per capture;
    ``absent`` says the caller looked the key up with the rest of its batch, in this
    transaction, and found nothing (a second capture of it in the batch then fails on
    the unique key and the batch is redone one by one).
    """
    if not isolated:
        return _capture(
            draft,
            actor=actor,
            source=source,
            savepoint=False,
            contacted=contacted,
            absent=absent,
        )
    with transaction.atomic():
        return _capture(draft, actor=actor, source=source, contacted=contacted)


def _may_change(actor: Any, interaction: Interaction, action: str) -> None:
    policy.require(actor, action)
    if not policy.may_see_private(actor, interaction.author_id, interaction.private):
        raise InvalidInput.single("interaction", "There is no such interaction.")
    # what someone wrote is theirs to change; captured things anyone may correct
    others = interaction.author_id != getattr(actor, "pk", None)
    written = interaction.source in (Interaction.Source.MANUAL, Interaction.Source.API)
    if others and written and not policy.sees_all_private(actor):
        raise NotPermitted("Only its author or an admin can change this interaction.")


@retry_once_on_conflict
@transaction.atomic
def interaction_update(
    *,
    actor: Any,
    interaction: Interaction,
    data: Mapping[str, Any],
    expected_version: int | None = None,
) -> Interaction:
    """Change an interaction; ``participants``, when given, replaces them all.

    Raises Conflict when ``expected_version`` is stale, NotPermitted, InvalidInput.
    """
    current = Interaction.objects.select_for_update().filter(pk=interaction.pk).first()
    if current is None:
        raise Conflict("This interaction has been deleted.")
    _may_change(actor, current, "interactions.change")
    if expected_version is not None and current.version != expected_version:
        raise Conflict("This interaction was changed by someone else since you loaded it.")
    draft = interaction_validate(data, current=current)
    _apply(
        current,
        draft.fields,
        draft.participants if "participants" in data else None,
    )
    _notify_mentions(current, draft.mentions, actor)
    return current


def _apply(
    current: Interaction,
    fields: Mapping[str, Any],
    participants: Sequence[ParticipantDraft] | None,
) -> None:
    """Write what changed (the version moves on), replace the participants when given
    (else move their copy of the time with the interaction), and recompute the columns
    of every contact who took part before or after."""
    before = set(_contacts_of(current.pk))
    changed = [key for key, value in fields.items() if getattr(current, key) != value]
    for key in changed:
        setattr(current, key, fields[key])
    current.version = F("version") + 1  # type: ignore[assignment]
    current.save(update_fields=[*changed, "version", "updated_at"])
    current.refresh_from_db()
    if participants is not None:
        Participant.objects.filter(interaction=current).delete()
        Participant.objects.bulk_create(participant_rows(current, participants))
    elif "occurred_at" in changed:
        Participant.objects.filter(interaction=current).update(occurred_at=current.occurred_at)
    contacts_refresh_activity(before | set(_contacts_of(current.pk)))


def _who(rows: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    return sorted(rows)


def interaction_refresh(
    *,
    interaction: Interaction,
    fields: Mapping[str, Any],
    participants: Sequence[ParticipantDraft] | None = None,
) -> bool:
    """Bring a captured interaction in line with its source (a calendar event edited
    since): the given fields, and (when given) its participants, replacing those stored.
    Returns whether anything changed. Like ``interaction_capture``, for parsers that
    checked their drafts; runs in the caller's transaction."""
    changes = {key: value for key, value in fields.items() if getattr(interaction, key) != value}
    merged = {
        key: changes.get(key, getattr(interaction, key))
        for key in ("kind", "cancelled", "direction", "outcome", "duration_seconds")
    }
    if is_two_way(merged) != interaction.two_way:
        changes["two_way"] = not interaction.two_way
    who_changed = participants is not None and _who(
        (d.role, d.address_key, d.name) for d in participants
    ) != _who(
        Participant.objects.filter(interaction=interaction).values_list(
            "role", "address_key", "name"
        )
    )
    if not changes and not who_changed:
        return False
    _apply(interaction, changes, participants if who_changed else None)
    return True


@transaction.atomic
def interaction_delete(
    *, actor: Any, interaction: Interaction, expected_version: int | None = None
) -> None:
    """Delete an interaction with its participants and attachments; the attachments'
    files are deleted once the transaction commits."""
    current = Interaction.objects.select_for_update().filter(pk=interaction.pk).first()
    if current is None:
        raise Conflict("This interaction has been deleted.")
    _may_change(actor, current, "interactions.delete")
    if expected_version is not None and current.version != expected_version:
        raise Conflict("This interaction was changed by someone else since you loaded it.")
    involved = _contacts_of(current.pk)
    attachment_files_discard(attachments=current.attachments.all())
    current.delete()
    contacts_refresh_activity(involved)
