"""Storing read meetings: create what is new, update what changed, mark cancelled what
was cancelled or vanished, and count each.

Each series (one UID) is stored in its own transaction: a series that fails leaves
nothing half-saved and the others land. Storing the same file again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F

from rapport.activity.calendar.parse import Occurrence, Problem, Series, uid_prefix
from rapport.activity.models import Interaction, Participant
from rapport.activity.services.interaction_input import InteractionDraft, is_two_way
from rapport.activity.services.interactions import interaction_capture
from rapport.activity.services.participants import (
    Directory,
    ParticipantDraft,
    contacts_refresh_activity,
    draft_resolve,
    participant_rows,
)

logger = logging.getLogger(__name__)
# Fields an event sets; anything else on a stored meeting (its author, attachments,
# who else captured it) is left alone by a new import.
_EVENT_FIELDS = (
    "kind",
    "direction",
    "occurred_at",
    "ends_at",
    "all_day",
    "subject",
    "body",
    "location",
    "cancelled",
    "private",
    "two_way",
    "metadata",
)
MAX_PROBLEMS = 200


@dataclass
class ImportReport:
    """What one import did: meetings ``created``, ``updated`` (something changed),
    ``unchanged``, ``cancelled`` (a stored meeting now marked cancelled), ``skipped``
    (cancelled events never stored before) and ``failed`` (events or occurrences not
    stored), with each problem in words (the first ``MAX_PROBLEMS``)."""

    file_name: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    cancelled: int = 0
    skipped: int = 0
    failed: int = 0
    events: int = 0
    problems: list[Problem] = field(default_factory=list)
    uids: set[str] = field(default_factory=set)

    def problem(self, problem: Problem) -> None:
        if problem.severity == "error":
            self.failed += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def add(self, other: ImportReport) -> None:
        for name in ("created", "updated", "unchanged", "cancelled", "skipped", "events"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failed += other.failed
        self.problems.extend(other.problems[: max(0, MAX_PROBLEMS - len(self.problems))])
        self.uids |= other.uids

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "cancelled": self.cancelled,
            "skipped": self.skipped,
            "failed": self.failed,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "file_name": self.file_name,
            "events": self.events,
            "counts": self.counts(),
            "problems": [p.as_dict() for p in self.problems],
        }

    @property
    def summary(self) -> str:
        c = self.counts()
        return ", ".join(f"{n} {k}" for k, n in c.items())


def _who(drafts: Iterable[ParticipantDraft]) -> list[tuple[str, str, str]]:
    return sorted((d.role, d.address_key, d.name) for d in drafts)


def _stored_who(interaction_ids: Sequence[int]) -> dict[int, list[tuple[str, str, str]]]:
    found: dict[int, list[tuple[str, str, str]]] = {pk: [] for pk in interaction_ids}
    rows = Participant.objects.filter(interaction_id__in=list(interaction_ids)).values_list(
        "interaction_id", "role", "address_key", "name"
    )
    for pk, role, key, name in rows:
        found[pk].append((role, key, name))
    return {pk: sorted(rows) for pk, rows in found.items()}


def _contacts(interaction_id: int) -> set[int]:
    return set(
        Participant.objects.filter(interaction_id=interaction_id, contact__isnull=False)
        .values_list("contact_id", flat=True)
        .distinct()
    )


def meeting_refresh(
    interaction: Interaction,
    *,
    fields: dict[str, Any],
    participants: Sequence[ParticipantDraft] | None,
) -> bool:
    """Bring a captured meeting in line with its event: the event's fields, and (when
    given) its participants, replacing those stored. Returns whether anything changed.

    Follows the interaction services' rules: the version moves on, the participants'
    copy of the time follows the meeting, and every contact who took part before or
    after has "last contacted" recomputed. Runs in the caller's transaction.
    """
    changes = {
        name: fields[name]
        for name in _EVENT_FIELDS
        if name in fields and getattr(interaction, name) != fields[name]
    }
    who_changed = participants is not None and _who(participants) != _stored_who(
        [interaction.pk]
    ).get(interaction.pk, [])
    if not changes and not who_changed:
        return False
    before = _contacts(interaction.pk)
    for name, value in changes.items():
        setattr(interaction, name, value)
    interaction.two_way = is_two_way(
        {name: getattr(interaction, name) for name in ("kind", "cancelled", "direction")}
    )
    Interaction.objects.filter(pk=interaction.pk).update(
        **{name: getattr(interaction, name) for name in _EVENT_FIELDS},
        version=F("version") + 1,
    )
    if who_changed and participants is not None:
        Participant.objects.filter(interaction=interaction).delete()
        Participant.objects.bulk_create(participant_rows(interaction, participants))
    elif "occurred_at" in changes:
        Participant.objects.filter(interaction=interaction).update(
            occurred_at=interaction.occurred_at
        )
    contacts_refresh_activity(before | _contacts(interaction.pk))
    return True


def _store(
    occurrence: Occurrence,
    current: Interaction | None,
    *,
    actor: Any,
    report: ImportReport,
) -> None:
    fields = occurrence.fields
    if current is None:
        if fields["cancelled"]:
            report.skipped += 1  # a cancelled meeting nobody had stored: nothing happened
            return
        captured = interaction_capture(
            draft=InteractionDraft(fields=dict(fields), participants=occurrence.participants),
            actor=actor,
            source=Interaction.Source.CALENDAR,
        )
        if captured.created:
            report.created += 1
            return
        current = captured.interaction  # stored meanwhile by another import
    was_cancelled = current.cancelled
    if not meeting_refresh(current, fields=fields, participants=occurrence.participants):
        report.unchanged += 1
    elif current.cancelled and not was_cancelled:
        report.cancelled += 1
    else:
        report.updated += 1


def _cancel(interaction: Interaction) -> None:
    fields = {name: getattr(interaction, name) for name in _EVENT_FIELDS}
    fields["cancelled"] = True
    meeting_refresh(interaction, fields=fields, participants=None)


def series_store(
    series: Series,
    *,
    actor: Any,
    directory: Directory,
    window: tuple[dt.datetime, dt.datetime],
) -> ImportReport:
    """Store one series; never raises for what the series holds.

    Meetings of this UID within the window that the series no longer has (an EXDATE
    added, a rule shortened, an occurrence moved to another day) are marked cancelled.
    """
    report = ImportReport(events=1)
    report.uids.add(series.uid)
    for problem in series.problems:
        report.problem(problem)
    if series.failed:
        return report
    drafts = [d for o in series.occurrences for d in o.participants]
    directory.load_emails(d.address_key for d in drafts)
    for draft in drafts:
        draft_resolve(draft, directory)
    attempt = ImportReport()
    try:
        with transaction.atomic():
            existing = {
                i.external_key: i
                for i in Interaction.objects.select_for_update().filter(
                    external_key__startswith=series.prefix
                )
            }
            produced = set()
            for occurrence in series.occurrences:
                if occurrence.key in produced:
                    continue  # the same occurrence twice in one file: the first one counts
                produced.add(occurrence.key)
                _store(occurrence, existing.get(occurrence.key), actor=actor, report=attempt)
            start, stop = window
            for key, interaction in existing.items():
                if key in produced or interaction.cancelled:
                    continue
                if start <= interaction.occurred_at < stop:
                    _cancel(interaction)
                    attempt.cancelled += 1
    except Exception as exc:  # noqa: BLE001 (one bad event never stops the others)
        logger.warning("Calendar event %s not stored: %s", series.uid, exc)
        report.problem(
            Problem(series.uid, f"it could not be stored: {exc}"[:1000], "error", series.summary)
        )
        return report
    report.add(attempt)
    return report


def series_vanished(uids: Iterable[str], *, since: dt.datetime, until: dt.datetime) -> int:
    """Mark cancelled the meetings of events gone from a subscribed calendar, from
    ``since`` (now: what already happened stays as it was, a feed that trims its
    history does not rewrite it) to ``until``. Returns how many."""
    count = 0
    for uid in uids:
        with transaction.atomic():
            gone = Interaction.objects.select_for_update().filter(
                external_key__startswith=uid_prefix(uid),
                cancelled=False,
                occurred_at__gte=since,
                occurred_at__lt=until,
            )
            for interaction in gone:
                _cancel(interaction)
                count += 1
    return count
