"""Upkeep of the ledger around the people it is about: merges (rows follow the
survivor and go back when the merge is undone), privacy requests (a person's history
for an access archive; forgetting them by destroying their data key) and retention
(lapsed grants written down as expired). The rows themselves never change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.consent.models import (
    ConsentContactState,
    ConsentEvent,
    ConsentState,
    ConsentSubject,
    Purpose,
)
from rapport.consent.services import _append
from rapport.consent.services._append import Draft
from rapport.consent.vocabulary import CHANNELS, Action, Method, Source, Status

# ---------------------------------------------------------------- merges


def consent_after_merge(survivor_id: int, merged_ids: Sequence[int]) -> None:
    """Contacts merged into ``survivor_id``: their rows now count for it (the rows stay
    as they are; the subjects point to the survivor)."""
    subjects = list(ConsentSubject.objects.filter(current_contact_id__in=list(merged_ids)))
    if not subjects:
        return
    for subject in subjects:
        path = list(subject.merge_path) if subject.merge_path else []
        subject.merge_path = [*path, survivor_id]
        subject.current_contact_id = survivor_id
    ConsentSubject.objects.bulk_update(subjects, ["merge_path", "current_contact_id"])
    ConsentState.objects.filter(contact_id__in=list(merged_ids)).delete()
    ConsentContactState.objects.filter(contact_id__in=list(merged_ids)).delete()
    _append.refresh_contact(survivor_id)


def consent_after_unmerge(survivor_id: int, restored_ids: Sequence[int]) -> None:
    """A merge undone: rows that moved with it go back to where they were before."""
    restored = set(restored_ids)
    moved = []
    for subject in ConsentSubject.objects.filter(current_contact_id=survivor_id):
        path = list(subject.merge_path or [])
        before = path[-2] if len(path) >= 2 else subject.contact_id
        if path and path[-1] == survivor_id and before in restored:
            subject.merge_path = path[:-1]
            subject.current_contact_id = before
            moved.append(subject)
    if moved:
        ConsentSubject.objects.bulk_update(moved, ["merge_path", "current_contact_id"])
    for contact_id in {survivor_id, *restored}:
        _append.refresh_contact(contact_id)


# ---------------------------------------------------------------- privacy


def consent_subject_forget(contact_id: int) -> dict[str, int]:
    """Crypto-shred a person: delete the data keys of every ledger subject that counts
    for ``contact_id`` and the state derived for it. The ledger rows stay and keep
    verifying, but their contact points, IP addresses and user agents can no longer
    be read, and their rows no longer count for anyone. Returns counts only (no
    personal data), for the privacy area's erasure log."""
    with transaction.atomic():
        subjects = ConsentSubject.objects.filter(current_contact_id=contact_id) | (
            ConsentSubject.objects.filter(contact_id=contact_id)
        )
        ledger_ids = list(subjects.values_list("contact_id", flat=True))
        events = ConsentEvent.objects.filter(contact_id__in=ledger_ids).count()
        keys = subjects.delete()[0]
        states = ConsentState.objects.filter(contact_id=contact_id).delete()[0]
        states += ConsentContactState.objects.filter(contact_id=contact_id).delete()[0]
    return {"data_keys": keys, "states": states, "ledger_rows_unreadable": events}


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def consent_subject_export(contact_id: int) -> dict[str, Any]:
    """Everything the consent ledger holds about a person, readable and JSON-able: the
    current state per purpose and channel, contact-wide states, and every row of their
    history with its text, decrypted contact point and evidence (for a subject
    access request). Rows whose key was forgotten say so instead."""
    from rapport.consent.selectors.history import event_view, history_rows

    events = history_rows(contact_id)
    purposes = {
        p.pk: p
        for p in Purpose.objects.filter(pk__in={e.purpose_id for e in events if e.purpose_id})
    }
    states = ConsentState.objects.filter(contact_id=contact_id).order_by("purpose_id", "channel")
    wide = ConsentContactState.objects.filter(contact_id=contact_id).first()
    return {
        "contact_id": contact_id,
        "current": [
            {
                "purpose": purposes[s.purpose_id].key if s.purpose_id in purposes else s.purpose_id,
                "channel": s.channel,
                "status": s.status,
                "since": _iso(s.since),
                "valid_until": _iso(s.valid_until),
            }
            for s in states
        ],
        "restricted_since": _iso(wide.restricted_since) if wide else None,
        "marketing_objection_since": _iso(wide.marketing_objection_since) if wide else None,
        "events": [event_view(e, with_text=True).as_json() for e in events],
    }


# ---------------------------------------------------------------- retention


def consent_expire_lapsed(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Append an "expire" row for grants whose purpose's retention (or own
    ``valid_until``) ran out, at the scope of the grant that lapsed, so the history
    shows it. The gate already treats them as lapsed; this only writes it down.
    Returns how many rows were appended (at most ``limit`` per run)."""
    now = now or timezone.now()
    due: dict[int, tuple[ConsentState, dt.datetime]] = {}
    for purpose in Purpose.objects.all():
        states = ConsentState.objects.filter(purpose=purpose, status=Status.GRANTED)
        lapsed = states.filter(valid_until__lte=now)
        if purpose.retention_days:
            cutoff = now - dt.timedelta(days=purpose.retention_days)
            lapsed = lapsed | states.filter(since__lte=cutoff)
        for state in lapsed.order_by("since")[: limit * len(CHANNELS)]:
            ends = [state.valid_until] if state.valid_until else []
            if purpose.retention_days:
                ends.append(state.since + dt.timedelta(days=purpose.retention_days))
            due.setdefault(state.event_id, (state, min(ends)))
            if len(due) >= limit:
                break
    written = 0
    for event_id, (state, ended) in list(due.items())[:limit]:
        with transaction.atomic():
            grant = ConsentEvent.objects.filter(pk=event_id).select_related("purpose").first()
            current = ConsentState.objects.filter(
                pk=state.pk, status=Status.GRANTED, event_id=event_id
            )
            if grant is None or not current.exists():
                continue
            _append.append(
                [
                    Draft(
                        contact_id=grant.contact_id,
                        action=Action.EXPIRE,
                        source=Source.SYSTEM,
                        method=Method.SYSTEM,
                        purpose=grant.purpose,
                        channel=grant.channel,
                        point_key=grant.point_key,
                        point_sealed=grant.point_sealed,
                        given_at=min(ended, now),
                        source_ref="retention",
                        note=(
                            "The grant was given until this moment."
                            if grant.valid_until and grant.valid_until <= now
                            else "The purpose's retention period ran out."
                        ),
                    )
                ]
            )
            written += 1
    return written
