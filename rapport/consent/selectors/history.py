"""Reading the ledger for people: a contact's consent at a glance and its history,
the keyset-paged list of events, each row with its contact point, evidence, reference
and note decrypted where the person's key still exists ("(erased)" where it does not)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from rapport.consent import crypto
from rapport.consent.models import (
    ConsentContactState,
    ConsentEvent,
    ConsentState,
    ConsentSubject,
    Purpose,
)
from rapport.consent.selectors.verdict import ConsentVerdict, PurposeFacts, decide
from rapport.consent.vocabulary import CHANNEL_LABELS, CHANNELS, Action, Method, Source
from rapport.core import policy
from rapport.core.cursor import decode_cursor, encode_cursor
from rapport.core.errors import FieldError, InvalidInput

FORGOTTEN = "(erased)"
MAX_LIMIT = 200


@dataclass
class EventView:
    """One ledger row as people and exports read it."""

    id: int
    seq: int
    contact_id: int
    purpose: str
    purpose_name: str
    lawful_basis: str
    action: str
    action_label: str
    channel: str
    point: str
    given_at: dt.datetime
    recorded_at: dt.datetime
    valid_until: dt.datetime | None
    source: str
    source_label: str
    source_ref: str
    reference: str
    method: str
    method_label: str
    text_version: int | None
    text_sha256: str
    text: str
    ip_address: str
    user_agent: str
    token_id: str
    needs_confirmation: bool
    confirms: int | None
    confirmed_by: int | None
    recorded_by: str
    note: str
    hash: str
    prev_hash: str

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("given_at", "recorded_at", "valid_until"):
            value = data[name]
            data[name] = value.isoformat() if value else None
        for name in ("action_label", "source_label", "method_label", "purpose_name"):
            data.pop(name)
        return data

    @property
    def channel_label(self) -> str:
        return (
            CHANNEL_LABELS.get(self.channel, "Every channel") if self.channel else "Every channel"
        )


def _keys(contact_ids: Iterable[int]) -> dict[int, bytes | None]:
    keys: dict[int, bytes | None] = {}
    for subject in ConsentSubject.objects.filter(contact_id__in=set(contact_ids)):
        try:
            keys[subject.contact_id] = crypto.data_key_open(subject.sealed_key)
        except crypto.EvidenceUnreadable:
            keys[subject.contact_id] = None
    return keys


def _open(key: bytes | None, token: str, default: Any) -> Any:
    if not token:
        return default
    if key is None:
        return None
    try:
        return crypto.unseal(key, token)
    except crypto.EvidenceUnreadable:
        return None


def event_view(
    event: ConsentEvent,
    *,
    key: bytes | None = None,
    with_text: bool = False,
    keys: dict[int, bytes | None] | None = None,
    confirmed_by: int | None = None,
) -> EventView:
    if keys is None:
        keys = _keys([event.contact_id])
    key = key or keys.get(event.contact_id)
    point = _open(key, event.point_sealed, "")
    evidence = _open(key, event.evidence_sealed, {})
    reference = _open(key, event.reference_sealed, "")
    note = _open(key, event.note_sealed, "")
    purpose_name = event.purpose.name if event.purpose_id and event.purpose else ""
    text = event.text.body if with_text and event.text_id and event.text else ""
    return EventView(
        id=event.pk,
        seq=event.seq,
        contact_id=event.contact_id,
        purpose=event.purpose_key,
        purpose_name=purpose_name or event.purpose_key,
        lawful_basis=event.lawful_basis,
        action=event.action,
        action_label=Action(event.action).label if event.action in Action.values else event.action,
        channel=event.channel,
        point=FORGOTTEN if point is None else point,
        given_at=event.given_at,
        recorded_at=event.recorded_at,
        valid_until=event.valid_until,
        source=event.source,
        source_label=Source(event.source).label if event.source in Source.values else event.source,
        source_ref=event.source_ref,
        reference=FORGOTTEN if reference is None else reference,
        method=event.method,
        method_label=Method(event.method).label if event.method in Method.values else event.method,
        text_version=event.text_version,
        text_sha256=event.text_sha256,
        text=text,
        ip_address=FORGOTTEN if evidence is None else evidence.get("ip_address", ""),
        user_agent=FORGOTTEN if evidence is None else evidence.get("user_agent", ""),
        token_id=event.token_id,
        needs_confirmation=event.needs_confirmation,
        confirms=event.confirms_id,
        confirmed_by=confirmed_by,
        recorded_by=event.recorded_by_name,
        note=FORGOTTEN if note is None else note,
        hash=event.hash,
        prev_hash=event.prev_hash,
    )


def _views(events: Sequence[ConsentEvent], *, with_text: bool = False) -> list[EventView]:
    keys = _keys(e.contact_id for e in events)
    requests = [e.pk for e in events if e.needs_confirmation]
    confirmed = (
        dict(ConsentEvent.objects.filter(confirms_id__in=requests).values_list("confirms_id", "id"))
        if requests
        else {}
    )
    return [
        event_view(e, keys=keys, with_text=with_text, confirmed_by=confirmed.get(e.pk))
        for e in events
    ]


def _subject_ids(contact_id: int) -> list[int]:
    return list(
        ConsentSubject.objects.filter(current_contact_id=contact_id).values_list(
            "contact_id", flat=True
        )
    )


def history_rows(contact_id: int) -> list[ConsentEvent]:
    """Every ledger row that counts for a contact (its own and merged-in contacts'),
    oldest first."""
    ids = _subject_ids(contact_id)
    return list(
        ConsentEvent.objects.filter(contact_id__in=ids)
        .select_related("purpose", "text")
        .order_by("seq")
    )


@dataclass
class ChannelLine:
    channel: str
    label: str
    status: str
    verdict: ConsentVerdict


@dataclass
class PurposeLine:
    purpose: Purpose
    channels: list[ChannelLine]

    @property
    def summary(self) -> str:
        allowed = [c.label for c in self.channels if c.verdict.allowed]
        if len(allowed) == len(self.channels):
            return "Allowed on every channel"
        if not allowed:
            return "Not allowed"
        return "Allowed: " + ", ".join(allowed)


@dataclass
class ConsentOverview:
    """A contact's consent at a glance (what the gate would say now, per purpose and
    channel), contact-wide states, and the history, newest first."""

    contact_id: int
    purposes: list[PurposeLine]
    restricted_since: dt.datetime | None
    marketing_objection_since: dt.datetime | None
    history: list[EventView] = field(default_factory=list)
    history_total: int = 0


def purpose_facts(purpose: Purpose) -> PurposeFacts:
    return PurposeFacts(
        purpose.name,
        purpose.lawful_basis,
        purpose.is_marketing,
        purpose.retention_days,
        purpose.archived_at is not None,
    )


def consent_overview(
    *, actor: Any, contact_id: int, history_limit: int = 100, at: dt.datetime | None = None
) -> ConsentOverview:
    """Every purpose in use (and each archived one the contact has a state for) with
    the gate's answer per channel, and the newest ``history_limit`` rows. Raises
    NotPermitted."""
    policy.require(actor, "consent.view")
    at = at or timezone.now()
    states = {
        (s.purpose_id, s.channel): s for s in ConsentState.objects.filter(contact_id=contact_id)
    }
    wide = ConsentContactState.objects.filter(contact_id=contact_id).first()
    restricted = wide.restricted_since if wide else None
    objection = wide.marketing_objection_since if wide else None
    used = {purpose_id for purpose_id, _ in states}
    purposes = Purpose.objects.filter(Q(archived_at__isnull=True) | Q(pk__in=used)).order_by(
        "name", "id"
    )
    lines = []
    for purpose in purposes:
        facts = purpose_facts(purpose)
        channels = []
        for channel in CHANNELS:
            state = states.get((purpose.pk, channel))
            verdict = decide(
                facts,
                channel=channel,
                at=at,
                status=state.status if state else None,
                since=state.since if state else None,
                valid_until=state.valid_until if state else None,
                restricted_since=restricted,
                marketing_objection_since=objection,
            )
            channels.append(
                ChannelLine(
                    channel, CHANNEL_LABELS[channel], state.status if state else "", verdict
                )
            )
        lines.append(PurposeLine(purpose, channels))
    ids = _subject_ids(contact_id)
    rows = ConsentEvent.objects.filter(contact_id__in=ids)
    newest = list(rows.select_related("purpose").order_by("-seq")[:history_limit])
    return ConsentOverview(
        contact_id=contact_id,
        purposes=lines,
        restricted_since=restricted,
        marketing_objection_since=objection,
        history=_views(newest),
        history_total=rows.count() if len(newest) >= history_limit else len(newest),
    )


# ---------------------------------------------------------------- the list of events


@dataclass(frozen=True)
class EventFilters:
    contact: int | None = None
    purpose: str = ""
    action: str = ""
    channel: str = ""
    source: str = ""
    recorded_after: str = ""
    recorded_before: str = ""
    order: str = "-seq"


@dataclass
class EventPage:
    items: list[EventView]
    next_cursor: str | None


def _moment(value: str, name: str, errors: list[FieldError]) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        errors.append(FieldError(name, "Give a date and time such as 2026-03-01T14:30:00Z."))
        return None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _filtered(filters: EventFilters) -> QuerySet[ConsentEvent]:
    errors: list[FieldError] = []
    rows = ConsentEvent.objects.all()
    if filters.contact is not None:
        rows = rows.filter(contact_id__in=_subject_ids(filters.contact) or [filters.contact])
    if filters.purpose:
        if not Purpose.objects.filter(key=filters.purpose).exists():
            errors.append(FieldError("purpose", f"There is no purpose “{filters.purpose}”."))
        rows = rows.filter(purpose_key=filters.purpose)
    if filters.action:
        if filters.action not in Action.values:
            errors.append(
                FieldError("action", f"Unknown action; use one of {', '.join(Action.values)}.")
            )
        rows = rows.filter(action=filters.action)
    if filters.channel:
        if filters.channel not in CHANNELS and filters.channel != "any":
            errors.append(
                FieldError("channel", f"Unknown channel; use one of {', '.join(CHANNELS)} or any.")
            )
        rows = rows.filter(channel="" if filters.channel == "any" else filters.channel)
    if filters.source:
        if filters.source not in Source.values:
            errors.append(
                FieldError("source", f"Unknown source; use one of {', '.join(Source.values)}.")
            )
        rows = rows.filter(source=filters.source)
    after = _moment(filters.recorded_after, "recorded_after", errors)
    before = _moment(filters.recorded_before, "recorded_before", errors)
    if after:
        rows = rows.filter(recorded_at__gte=after)
    if before:
        rows = rows.filter(recorded_at__lt=before)
    if filters.order not in ("seq", "-seq"):
        errors.append(FieldError("order", "Use seq (oldest first) or -seq (newest first)."))
    if errors:
        raise InvalidInput(errors)
    return rows


def consent_event_list(
    *, actor: Any, filters: EventFilters, cursor: str | None = None, limit: int = 50
) -> EventPage:
    """Ledger rows matching ``filters``, ``limit`` at a time in ``seq`` order (or
    newest first with ``order="-seq"``), continuing after ``cursor``. Raises
    NotPermitted, InvalidInput (a filter or cursor that is not valid)."""
    policy.require(actor, "consent.view")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.single("limit", f"Must be between 1 and {MAX_LIMIT}.")
    rows = _filtered(filters)
    newest_first = filters.order == "-seq"
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        if not isinstance(after, int) or isinstance(after, bool):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        rows = rows.filter(seq__lt=after) if newest_first else rows.filter(seq__gt=after)
    page = list(
        rows.select_related("purpose").order_by("-seq" if newest_first else "seq")[: limit + 1]
    )
    more = len(page) > limit
    page = page[:limit]
    return EventPage(_views(page), encode_cursor([page[-1].seq]) if more and page else None)


def consent_event_get(*, actor: Any, event_id: int) -> EventView:
    """One ledger row; ConsentEvent.DoesNotExist when there is none."""
    policy.require(actor, "consent.view")
    if not 0 < event_id < 2**63:
        raise ConsentEvent.DoesNotExist
    event = ConsentEvent.objects.select_related("purpose", "text").get(pk=event_id)
    return _views([event], with_text=True)[0]
