"""Storing read meetings: create what is new, update what changed, mark cancelled what
was cancelled or vanished, and count each.

Each series (one UID) is stored in its own transaction: a series that fails leaves
nothing half-saved and the others land. Storing the same file again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from rapport.activity.calendar.parse import Occurrence, Problem, Series, uid_prefix
from rapport.activity.models import Interaction
from rapport.activity.services.interaction_input import InteractionDraft
from rapport.activity.services.interactions import interaction_capture, interaction_refresh
from rapport.activity.services.participants import (
    Directory,
    draft_resolve,
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


def _event_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """What of a meeting an event decides ("last contacted" follows from them)."""
    return {name: fields[name] for name in _EVENT_FIELDS if name in fields}


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
    if not interaction_refresh(
        interaction=current,
        fields=_event_fields(fields),
        participants=occurrence.participants,
    ):
        report.unchanged += 1
    elif current.cancelled and not was_cancelled:
        report.cancelled += 1
    else:
        report.updated += 1


def _cancel(interaction: Interaction) -> None:
    interaction_refresh(interaction=interaction, fields={"cancelled": True})


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
