"""Appending to the ledger and keeping the derived state in step: the one write path
every consent service goes through."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.consent import crypto, derive
from rapport.consent.chain import GENESIS, HASHED_FIELDS, row_hash
from rapport.consent.models import (
    ConsentChain,
    ConsentContactState,
    ConsentEvent,
    ConsentState,
    ConsentSubject,
    ConsentText,
    Purpose,
)
from rapport.consent.vocabulary import CONTACT_ACTIONS, Action


@dataclass
class Draft:
    """A validated event, before it is sealed, chained and written."""

    contact_id: int
    action: str
    source: str
    method: str
    purpose: Purpose | None = None
    channel: str = ""
    point: str = ""  # the contact point as compared (an email address lower-cased)
    point_display: str = ""  # as kept, sealed (default: ``point``)
    given_at: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    source_ref: str = ""
    text: ConsentText | None = None
    evidence: dict[str, str] = field(default_factory=dict)
    token_id: str = ""
    needs_confirmation: bool = False
    confirms: ConsentEvent | None = None
    recorded_by: Any = None
    reference: str = ""  # what the recorder typed as their reference (sealed)
    note: str = ""  # sealed
    # a row carried over as it is (the retention duty's expiry of a grant): its
    # already sealed contact point
    point_key: str = ""
    point_sealed: str = ""


def subject_for(contact_id: int, *, create: bool) -> tuple[ConsentSubject, bytes] | None:
    """The person's data key (made on their first row when ``create``)."""
    subject = ConsentSubject.objects.filter(contact_id=contact_id).first()
    if subject is None:
        if not create:
            return None
        key, sealed = crypto.data_key_new()
        subject = ConsentSubject.objects.create(
            contact_id=contact_id, current_contact_id=contact_id, sealed_key=sealed
        )
        return subject, key
    return subject, crypto.data_key_open(subject.sealed_key)


def point_key(key: bytes, channel: str, point: str) -> str:
    return crypto.keyed_hash(key, f"{channel}:{point}")


def lock_head() -> ConsentChain:
    """The chain's head, locked until the transaction ends: FOR UPDATE on PostgreSQL;
    on SQLite the surrounding transaction is BEGIN IMMEDIATE (settings), so this writer
    is already the only one. The head row is made by the first append (a migration
    must not write rows: a restore expects an installation holding none)."""
    head = ConsentChain.objects.select_for_update().filter(pk=1).first()
    if head is None:
        # two first appends at once: the second waits for the first's row, then skips
        ConsentChain.objects.bulk_create(
            [ConsentChain(pk=1, seq=0, head_hash=GENESIS)], ignore_conflicts=True
        )
        head = ConsentChain.objects.select_for_update().get(pk=1)
    return head


def append(drafts: Iterable[Draft]) -> list[ConsentEvent]:
    """Write ``drafts`` as the next rows of the chain and bring the derived state of
    everyone concerned up to date, all in one transaction. Callers validated them."""
    with transaction.atomic():
        head = lock_head()
        seq, prev = head.seq, head.head_hash
        written: list[ConsentEvent] = []
        touched: set[tuple[int, int | None]] = set()
        now = timezone.now()
        for draft in drafts:
            subject, key = subject_for(draft.contact_id, create=True)  # type: ignore[misc]
            seq += 1
            recorder = draft.recorded_by if getattr(draft.recorded_by, "pk", None) else None
            event = ConsentEvent(
                seq=seq,
                contact_id=draft.contact_id,
                subject_key=crypto.subject_key(draft.contact_id),
                purpose=draft.purpose,
                purpose_key=draft.purpose.key if draft.purpose else "",
                lawful_basis=draft.purpose.lawful_basis if draft.purpose else "",
                channel=draft.channel,
                point_key=draft.point_key
                or (point_key(key, draft.channel, draft.point) if draft.point else ""),
                point_sealed=draft.point_sealed
                or (crypto.seal(key, draft.point_display or draft.point) if draft.point else ""),
                action=draft.action,
                given_at=draft.given_at or now,
                recorded_at=now,
                valid_until=draft.valid_until,
                source=draft.source,
                source_ref=draft.source_ref[:200],
                method=draft.method,
                text=draft.text,
                text_sha256=draft.text.sha256 if draft.text else "",
                text_version=draft.text.version if draft.text else None,
                evidence_sealed=crypto.seal(key, draft.evidence) if draft.evidence else "",
                token_id=draft.token_id,
                needs_confirmation=draft.needs_confirmation,
                confirms=draft.confirms,
                recorded_by_id=recorder.pk if recorder else None,
                recorded_by_name=recorder.get_username() if recorder else "",
                reference_sealed=crypto.seal(key, draft.reference) if draft.reference else "",
                note_sealed=crypto.seal(key, draft.note) if draft.note else "",
                prev_hash=prev,
            )
            values = {name: getattr(event, name) for name in HASHED_FIELDS}
            event.hash = row_hash(values)
            prev = event.hash
            event.save(force_insert=True)
            written.append(event)
            if draft.action != Action.SET_PREFERENCES:  # changes no consent state
                purpose_id = draft.purpose.pk if draft.purpose else None
                touched.add((subject.current_contact_id, purpose_id))
        ConsentChain.objects.filter(pk=1).update(seq=seq, head_hash=prev)
        for contact_id, purpose_id in touched:
            if purpose_id is None:
                refresh_contact_wide(contact_id)
            else:
                refresh_purpose(contact_id, purpose_id)
    return written


def subject_ids(current_contact_id: int) -> list[int]:
    """The ledger contact ids that count for a contact now (its own, and those of
    contacts merged into it); forgotten ones are gone."""
    return list(
        ConsentSubject.objects.filter(current_contact_id=current_contact_id).values_list(
            "contact_id", flat=True
        )
    )


_FACT_FIELDS = (
    "id",
    "seq",
    "action",
    "channel",
    "point_key",
    "given_at",
    "valid_until",
    "needs_confirmation",
    "confirms_id",
)


def facts(
    contact_ids: list[int], *, purpose_id: int | None, contact_wide: bool = False
) -> list[derive.Fact]:
    rows = ConsentEvent.objects.filter(contact_id__in=contact_ids)
    if contact_wide or purpose_id is None:
        rows = rows.filter(purpose__isnull=True, action__in=list(CONTACT_ACTIONS))
    else:
        rows = rows.filter(purpose_id=purpose_id)
    return [derive.Fact(**row) for row in rows.order_by("seq").values(*_FACT_FIELDS)]


def refresh_purpose(contact_id: int, purpose_id: int) -> None:
    """Derive the state of one contact and purpose from the ledger again."""
    ids = subject_ids(contact_id)
    states = derive.purpose_state(facts(ids, purpose_id=purpose_id)) if ids else {}
    ConsentState.objects.filter(contact_id=contact_id, purpose_id=purpose_id).delete()
    ConsentState.objects.bulk_create(
        [
            ConsentState(
                contact_id=contact_id,
                purpose_id=purpose_id,
                channel=channel,
                status=state.status,
                since=state.since,
                valid_until=state.valid_until,
                event_id=state.event_id,
            )
            for channel, state in states.items()
        ]
    )


def refresh_contact_wide(contact_id: int) -> None:
    ids = subject_ids(contact_id)
    wide = derive.contact_state(facts(ids, purpose_id=None, contact_wide=True)) if ids else None
    ConsentContactState.objects.filter(contact_id=contact_id).delete()
    if wide is not None and (wide.restricted or wide.marketing_objection):
        ConsentContactState.objects.create(
            contact_id=contact_id,
            restricted_since=wide.restricted.given_at if wide.restricted else None,
            restricted_event_id=wide.restricted.id if wide.restricted else None,
            marketing_objection_since=(
                wide.marketing_objection.given_at if wide.marketing_objection else None
            ),
            marketing_objection_event_id=(
                wide.marketing_objection.id if wide.marketing_objection else None
            ),
        )


def refresh_contact(contact_id: int) -> None:
    """Everything derived for one contact, from the ledger again."""
    ids = subject_ids(contact_id)
    purposes = set(
        ConsentEvent.objects.filter(contact_id__in=ids, purpose__isnull=False)
        .values_list("purpose_id", flat=True)
        .distinct()
    )
    stale = set(
        ConsentState.objects.filter(contact_id=contact_id).values_list("purpose_id", flat=True)
    )
    for purpose_id in purposes | stale:
        refresh_purpose(contact_id, purpose_id)
    refresh_contact_wide(contact_id)
