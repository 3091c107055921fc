"""The activity area's part in privacy requests (see ``rapport.core.subjects``).

The person took part in an interaction when one of its participants is them: linked to
their contact (or one merged into it), or kept as written with one of their email
addresses or numbers. On erasure:

- an interaction where nobody else took part (only they, Rapport's users and
  organizations as such) is deleted with its participants and attachment files;
- where other people took part, the person's participant rows go and their names,
  addresses and numbers are replaced by "[erased]" in its subject, text, quoted
  replies, signature, location and metadata; the interaction stays for the others;
- a task about them alone is deleted with its reminders; a task also about others
  loses its link to them, and its title and notes are redacted;
- reminders, keep-in-touch cadences and notifications about them are deleted; the
  correspondent suggestions for their addresses too; threads left empty go;
- stored mail import files (``.mbox``, ``.eml`` uploads) have each message naming one
  of their addresses overwritten in place (same length, so an interrupted import
  still resumes at the right byte); files read where they lie (``MailImport.path``)
  are not Rapport's to rewrite, and an import running now is left alone (counted).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Count, Q

from rapport.activity.mail.mbox import MboxMessage, read_mbox
from rapport.activity.models import (
    Attachment,
    CorrespondentSuggestion,
    Interaction,
    KeepInTouch,
    MailImport,
    NeverLog,
    Notification,
    Participant,
    Reminder,
    Task,
    Thread,
)
from rapport.activity.services.participants import contacts_refresh_activity
from rapport.core.subjects import (
    Counts,
    DataCategory,
    Exported,
    ExportedFile,
    Identity,
    Subject,
    SubjectProvider,
    emails_in,
)

logger = logging.getLogger(__name__)

_TEXT_FIELDS = ("subject", "body", "body_html", "quoted", "signature", "location")
_FILLER_HEAD = b"From erased@invalid Thu Jan  1 00:00:00 1970\nX-Rapport-Erased: yes\n\n"


def _theirs(subject: Subject) -> Q:
    """Participant rows that are the person."""
    mine = Q(contact_id__in=list(subject.contact_ids))
    written = Q()
    if subject.emails:
        written |= Q(address_key__in=list(subject.emails))
    if subject.phones:
        written |= Q(e164__in=list(subject.phones))
    if written:
        mine |= Q(contact__isnull=True, user__isnull=True) & written
    return mine


def identify(contact_ids: Sequence[int]) -> Identity:
    rows = Participant.objects.filter(contact_id__in=contact_ids).values_list(
        "address_key", "e164", "name"
    )
    return Identity(
        emails=tuple({a for a, _, _ in rows if a}),
        phones=tuple({p for _, p, _ in rows if p}),
        names=tuple({n for _, _, n in rows if n}),
    )


@dataclass
class _Plan:
    """Which of the person's interactions go whole and which only lose their part."""

    mine: list[int] = field(default_factory=list)  # their participant rows
    alone: list[int] = field(default_factory=list)  # interactions only with them
    shared: list[int] = field(default_factory=list)  # interactions with others too


def _plan(subject: Subject) -> _Plan:
    plan = _Plan()
    mine = list(Participant.objects.filter(_theirs(subject)).values_list("id", "interaction_id"))
    plan.mine = [pk for pk, _ in mine]
    touched = {interaction for _, interaction in mine}
    others: set[int] = set()
    mine_ids = set(plan.mine)
    for pk, interaction, contact, user, address, e164, name in Participant.objects.filter(
        interaction_id__in=touched
    ).values_list("id", "interaction_id", "contact_id", "user_id", "address_key", "e164", "name"):
        if pk in mine_ids or user is not None:
            continue
        # an organization taking part as such (no person's name, address or number)
        if contact is None and not address and not e164 and not name:
            continue
        others.add(interaction)
    for interaction in sorted(touched):
        (plan.shared if interaction in others else plan.alone).append(interaction)
    return plan


def _tasks(subject: Subject) -> tuple[list[int], list[int]]:
    """The person's tasks: about them alone, and about others too."""
    through = Task.contacts.through
    linked = set(
        through.objects.filter(contact_id__in=subject.contact_ids).values_list("task_id", flat=True)
    )
    crowded = set(
        Task.objects.filter(pk__in=linked)
        .annotate(
            people=Count("contacts", filter=~Q(contacts__id__in=list(subject.contact_ids))),
            orgs=Count("organizations"),
        )
        .filter(Q(people__gt=0) | Q(orgs__gt=0))
        .values_list("pk", flat=True)
    )
    return sorted(linked - crowded), sorted(crowded)


def _suggestions(subject: Subject) -> Any:
    return CorrespondentSuggestion.objects.filter(
        Q(contact_id__in=list(subject.contact_ids)) | Q(address_key__in=list(subject.emails))
    )


# -- stored mail import files ---------------------------------------------------------


def _stored_messages(job: MailImport) -> Iterator[MboxMessage]:
    path = Path(job.file.path)
    with path.open("rb") as handle:
        if job.file_format == "mbox":
            yield from read_mbox(handle)
        else:
            raw = handle.read()
            yield MboxMessage(1, 0, len(raw), raw)


def _mail_files(
    subjects: Sequence[Subject],
) -> tuple[list[dict[int, list[tuple[int, int]]]], int]:
    """Per person, the byte ranges of the messages naming one of their addresses in each
    stored mail import (by id); and how many imports run now (not read). Each file is
    read once for all of them."""
    found: list[dict[int, list[tuple[int, int]]]] = [{} for _ in subjects]
    owners: dict[str, set[int]] = {}
    for i, subject in enumerate(subjects):
        for email in subject.emails:
            owners.setdefault(email.casefold(), set()).add(i)
    busy = 0
    if not owners:
        return found, 0
    for job in MailImport.objects.exclude(file=""):
        if job.status in (MailImport.Status.QUEUED, MailImport.Status.RUNNING):
            busy += 1
            continue
        if not job.file.storage.exists(str(job.file.name)):
            continue
        for message in _stored_messages(job):
            text = message.raw.decode("utf-8", "replace")
            named: set[int] = set()
            for address in emails_in(text):
                named |= owners.get(address, set())
            for i in named:
                found[i].setdefault(job.pk, []).append((message.start, message.end))
    return found, busy


def filler(size: int) -> bytes:
    """``size`` bytes that read as one empty message marked erased (or, too short for
    that, as blank lines): what an erased message becomes in an mbox file."""
    head = _FILLER_HEAD if size > len(_FILLER_HEAD) else b""
    if size <= len(head):
        return b""
    return head + b" " * (size - len(head) - 1) + b"\n"


def _overwrite(path: Path, ranges: list[tuple[int, int]]) -> None:
    with path.open("r+b") as handle:
        for start, end in ranges:
            handle.seek(start)
            handle.write(filler(end - start))


def _rewrite_later(jobs: dict[int, list[tuple[int, int]]]) -> None:
    paths = {job.pk: Path(job.file.path) for job in MailImport.objects.filter(pk__in=list(jobs))}

    def rewrite() -> None:
        for pk, ranges in jobs.items():
            try:
                _overwrite(paths[pk], ranges)
            except OSError:
                logger.exception("Could not rewrite mail import %s after an erasure", pk)

    transaction.on_commit(rewrite)


# -- the provider ------------------------------------------------------------------


def _interaction_out(interaction: Interaction, mine: set[int]) -> dict[str, Any]:
    return {
        "id": interaction.pk,
        "kind": interaction.get_kind_display(),
        "direction": interaction.get_direction_display(),
        "occurred_at": interaction.occurred_at,
        "ends_at": interaction.ends_at,
        "subject": interaction.subject,
        "body": interaction.body,
        "quoted": interaction.quoted,
        "signature": interaction.signature,
        "location": interaction.location,
        "outcome": interaction.get_outcome_display() if interaction.outcome else "",
        "channel": interaction.channel,
        "logged_by": interaction.author.username if interaction.author else "",
        "source": interaction.get_source_display(),
        "private": interaction.private,
        "participants": [
            {
                "role": p.get_role_display(),
                "name": p.name,
                "address": p.address,
                "phone": p.phone,
                "this person": p.pk in mine,
            }
            for p in interaction.participants.all()
        ],
        "attachments": [
            {
                "file": f"files/activity/{a.pk}-{a.filename}" if a.file else "",
                "name": a.filename,
                "type": a.content_type,
                "size": a.size,
                "left out": a.omitted,
            }
            for a in interaction.attachments.all()
        ],
    }


def export(subject: Subject) -> Exported:
    plan = _plan(subject)
    mine = set(plan.mine)
    result = Exported()
    interactions = (
        Interaction.objects.filter(pk__in=plan.alone + plan.shared)
        .select_related("author")
        .prefetch_related("participants", "attachments")
        .order_by("occurred_at", "id")
    )
    result.sections["Interactions"] = [_interaction_out(i, mine) for i in interactions]
    for attachment in Attachment.objects.filter(
        interaction_id__in=plan.alone + plan.shared
    ).exclude(file=""):
        result.files.append(
            ExportedFile(
                name=f"{attachment.pk}-{attachment.filename}",
                open=functools.partial(
                    attachment.file.storage.open, str(attachment.file.name), "rb"
                ),
                size=attachment.size,
            )
        )
    alone, crowded = _tasks(subject)
    result.sections["Tasks"] = [
        {
            "title": t.title,
            "notes": t.notes,
            "kind": t.get_kind_display(),
            "status": t.get_status_display(),
            "due": t.due_at or t.due_date,
            "assignee": t.assignee.username if t.assignee else "",
            "created_at": t.created_at,
            "completed_at": t.completed_at,
        }
        for t in Task.objects.filter(pk__in=alone + crowded).select_related("assignee")
    ]
    result.sections["Reminders"] = list(
        Reminder.objects.filter(contact_id__in=subject.contact_ids).values(
            "kind", "remind_at", "text", "sent_at"
        )
    )
    result.sections["Keep in touch"] = list(
        KeepInTouch.objects.filter(contact_id__in=subject.contact_ids).values(
            "every_days", "created_at"
        )
    )
    result.sections["Notifications to users about them"] = list(
        Notification.objects.filter(contact_id__in=subject.contact_ids).values(
            "kind", "title", "body", "created_at"
        )
    )
    result.sections["Mail from addresses not yet linked to a contact"] = list(
        _suggestions(subject).values("address", "name", "message_count", "first_seen_at")
    )
    result.sections["Never-log rules for their addresses"] = list(
        NeverLog.objects.filter(pattern__in=list(subject.emails)).values("pattern", "created_at")
    )
    return result


def preview(subject: Subject) -> Counts:
    plan = _plan(subject)
    alone, crowded = _tasks(subject)
    files, busy = _mail_files([subject])
    return _counts(subject, plan, alone, crowded, files[0], busy)


def _counts(
    subject: Subject,
    plan: _Plan,
    alone: list[int],
    crowded: list[int],
    files: dict[int, list[tuple[int, int]]],
    busy: int,
) -> Counts:
    return {
        "interactions only with them": len(plan.alone),
        "attachments": Attachment.objects.filter(interaction_id__in=plan.alone).count(),
        "interactions with others (their part removed)": len(plan.shared),
        "participant rows": len(plan.mine),
        "tasks only about them": len(alone),
        "tasks also about others (unlinked)": len(crowded),
        "reminders": Reminder.objects.filter(contact_id__in=subject.contact_ids).count(),
        "keep-in-touch cadences": KeepInTouch.objects.filter(
            contact_id__in=subject.contact_ids
        ).count(),
        "notifications": Notification.objects.filter(contact_id__in=subject.contact_ids).count(),
        "correspondent suggestions": _suggestions(subject).count(),
        "messages in stored mail import files": sum(len(r) for r in files.values()),
        "mail imports running now (left as they are)": busy,
    }


def _redact_row(model: Any, pk: int, values: dict[str, Any], subject: Subject) -> bool:
    changed = {}
    for name, value in values.items():
        new = _redacted(value, subject)
        if new != value:
            changed[name] = new
    if changed:
        model.objects.filter(pk=pk).update(**changed)
    return bool(changed)


def _redacted(value: Any, subject: Subject) -> Any:
    if isinstance(value, str):
        return subject.redact(value)
    if isinstance(value, list):
        return [_redacted(v, subject) for v in value]
    if isinstance(value, dict):
        return {k: _redacted(v, subject) for k, v in value.items()}
    return value


def erase_many(subjects: Sequence[Subject]) -> list[Counts]:
    """Erase several people, reading the stored mail files once for all of them."""
    files, busy = _mail_files(subjects)
    return [_erase(subject, files[i], busy) for i, subject in enumerate(subjects)]


def erase(subject: Subject) -> Counts:
    return erase_many([subject])[0]


def _erase(subject: Subject, mail_files: dict[int, list[tuple[int, int]]], busy: int) -> Counts:
    plan = _plan(subject)
    alone, crowded = _tasks(subject)
    counts = _counts(subject, plan, alone, crowded, mail_files, busy)
    ids = list(subject.contact_ids)
    # interactions only with them, with their files
    files = [
        functools.partial(a.file.storage.delete, str(a.file.name))
        for a in Attachment.objects.filter(interaction_id__in=plan.alone).exclude(file="")
    ]
    threads = set(
        Interaction.objects.filter(pk__in=plan.alone + plan.shared)
        .exclude(thread=None)
        .values_list("thread_id", flat=True)
    )
    Interaction.objects.filter(pk__in=plan.alone).delete()
    for delete in files:
        transaction.on_commit(delete)
    # their part of the others
    Participant.objects.filter(pk__in=plan.mine).delete()
    for row in Interaction.objects.filter(pk__in=plan.shared).values(
        "pk", *_TEXT_FIELDS, "metadata"
    ):
        values = dict(row)
        _redact_row(Interaction, values.pop("pk"), values, subject)
    counts["threads"] = Thread.objects.filter(pk__in=threads, interactions=None).delete()[0]
    for row in Thread.objects.filter(pk__in=threads).values("pk", "subject", "subject_key"):
        values = dict(row)
        _redact_row(Thread, values.pop("pk"), values, subject)
    # tasks
    Task.objects.filter(pk__in=alone).delete()
    Task.contacts.through.objects.filter(task_id__in=crowded, contact_id__in=ids).delete()
    for row in Task.objects.filter(pk__in=crowded).values("pk", "title", "notes"):
        values = dict(row)
        _redact_row(Task, values.pop("pk"), values, subject)
    # what users were told about them
    Reminder.objects.filter(contact_id__in=ids).delete()
    KeepInTouch.objects.filter(contact_id__in=ids).delete()
    Notification.objects.filter(contact_id__in=ids).delete()
    for row in Notification.objects.filter(
        Q(interaction_id__in=plan.shared) | Q(task_id__in=crowded)
    ).values("pk", "title", "body"):
        values = dict(row)
        _redact_row(Notification, values.pop("pk"), values, subject)
    _suggestions(subject).delete()
    if mail_files:
        _rewrite_later(mail_files)
    # the others' "next step" may have been a redacted task's title
    others = set(
        Task.contacts.through.objects.filter(task_id__in=crowded).values_list(
            "contact_id", flat=True
        )
    ) | set(
        Participant.objects.filter(interaction_id__in=plan.shared, contact__isnull=False)
        .exclude(contact_id__in=ids)
        .values_list("contact_id", flat=True)
    )
    contacts_refresh_activity(sorted(others))
    return counts


PROVIDER = SubjectProvider(
    name="activity",
    label="Activity",
    export=export,
    preview=preview,
    erase=erase,
    erase_many=erase_many,
    order=200,
    identify=identify,
    categories=(
        DataCategory(
            "Communications",
            "emails, calls, meetings, messages and notes with their text and attachments",
            "activity_interaction, activity_participant, activity_attachment, uploaded mail",
        ),
        DataCategory(
            "Tasks and reminders",
            "tasks about the person, reminders of birthdays and anniversaries, cadences",
            "activity_task, activity_reminder, activity_keepintouch, activity_notification",
        ),
    ),
)
