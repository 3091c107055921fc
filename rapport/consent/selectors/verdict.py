"""What the outreach gate asks: may this contact be reached for this purpose on this
channel at this moment — for one contact (``consent_verdict``, in process, one small
query) and for a whole queryset (``contacts_consenting``, in SQL only).

Both read the derived state (``ConsentState``, ``ConsentContactState``) that every
append keeps in step with the ledger, and apply the same rules (``decide``):

1. an unknown or archived purpose, or an unknown channel: not allowed;
2. restriction of processing: nothing is allowed, whatever the basis;
3. a marketing purpose and an objection to direct marketing: not allowed;
4. by the purpose's lawful basis —
   - consent: allowed only with a granted state that has not lapsed (its own
     ``valid_until``, or ``since`` plus the purpose's retention);
   - legitimate interest: allowed unless withdrawn or objected to;
   - contract, legal obligation, vital interest, public task: allowed.

The answer is for ``at`` now or later (lapses are computed for ``at``); what held at an
earlier moment is read from the ledger's history, not from here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from rapport.consent.models import ConsentContactState, ConsentState, Purpose
from rapport.consent.vocabulary import CHANNEL_LABELS, CHANNELS, LawfulBasis, Status
from rapport.contacts.models import Contact
from rapport.core.prepared import fetch_all


@dataclass(frozen=True)
class ConsentVerdict:
    """The consent step of the contact gate: ``allowed``, the ``rule`` that decided
    (a stable code such as ``consent.withdrawn``), a ``reason`` a person can read,
    and ``until``: when an allowed answer stops holding (a grant lapses), else None."""

    allowed: bool
    rule: str
    reason: str
    until: dt.datetime | None = None


@dataclass(frozen=True)
class PurposeFacts:
    """What ``decide`` needs of a purpose."""

    name: str
    lawful_basis: str
    is_marketing: bool
    retention_days: int | None
    archived: bool


def _aware(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        from django.utils.dateparse import parse_datetime

        value = parse_datetime(value)
        if value is None:
            return None
    if value.tzinfo is None:  # SQLite hands back naive UTC
        return value.replace(tzinfo=dt.UTC)
    return value


def _day(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def lapses_at(
    since: dt.datetime | None, valid_until: dt.datetime | None, retention_days: int | None
) -> dt.datetime | None:
    """When a grant given at ``since`` stops counting."""
    ends = [valid_until] if valid_until else []
    if retention_days and since is not None:
        ends.append(since + dt.timedelta(days=retention_days))
    return min(ends) if ends else None


def decide(
    purpose: PurposeFacts,
    *,
    channel: str,
    at: dt.datetime,
    status: str | None,
    since: dt.datetime | None,
    valid_until: dt.datetime | None,
    restricted_since: dt.datetime | None,
    marketing_objection_since: dt.datetime | None,
) -> ConsentVerdict:
    """The rules above, for one contact's state rows (None: nothing recorded)."""
    name, how = purpose.name, CHANNEL_LABELS.get(channel, channel).lower()
    if purpose.archived:
        return ConsentVerdict(
            False, "consent.purpose_archived", f"The purpose “{name}” is archived."
        )
    if restricted_since is not None:
        return ConsentVerdict(
            False,
            "consent.restricted",
            f"Processing is restricted for this person (since {_day(restricted_since)}).",
        )
    if purpose.is_marketing and marketing_objection_since is not None:
        return ConsentVerdict(
            False,
            "consent.marketing_objection",
            f"They object to direct marketing (since {_day(marketing_objection_since)}), "
            f"and “{name}” is marketing.",
        )
    basis = purpose.lawful_basis
    if basis == LawfulBasis.CONSENT:
        if status == Status.GRANTED:
            end = lapses_at(since, valid_until, purpose.retention_days)
            if end is not None and end <= at:
                return ConsentVerdict(
                    False,
                    "consent.expired",
                    f"Their consent to “{name}” by {how} lapsed on {_day(end)}.",
                )
            return ConsentVerdict(
                True,
                "consent.granted",
                f"They consented to “{name}” by {how} on {_day(since)}."
                if since
                else f"They consented to “{name}”.",
                end,
            )
        return ConsentVerdict(False, *_missing(status, since, name, how))
    if basis == LawfulBasis.LEGITIMATE_INTEREST:
        if status in (Status.WITHDRAWN, Status.OBJECTED):
            return ConsentVerdict(False, *_missing(status, since, name, how))
        return ConsentVerdict(
            True,
            "consent.legitimate_interest",
            f"“{name}” rests on legitimate interest and they have not objected.",
        )
    label = LawfulBasis(basis).label.lower() if basis in LawfulBasis.values else basis
    return ConsentVerdict(True, f"consent.{basis}", f"“{name}” rests on {label}.")


def _missing(status: str | None, since: dt.datetime | None, name: str, how: str) -> tuple[str, str]:
    when = f" on {_day(since)}" if since else ""
    if status == Status.WITHDRAWN:
        return "consent.withdrawn", f"They withdrew their consent to “{name}” by {how}{when}."
    if status == Status.OBJECTED:
        return "consent.objected", f"They objected to “{name}”{when}."
    if status == Status.EXPIRED:
        return "consent.expired", f"Their consent to “{name}” by {how} expired{when}."
    if status == Status.PENDING:
        return "consent.pending", f"They asked for “{name}” but have not confirmed it yet."
    return "consent.missing", f"No consent to “{name}” by {how} is recorded."


_VERDICT_SQL = """
SELECT p.name, p.lawful_basis, p.is_marketing, p.retention_days, p.archived_at,
       s.status, s.since, s.valid_until, w.restricted_since, w.marketing_objection_since
FROM consent_purpose p
LEFT JOIN consent_consentstate s
       ON s.purpose_id = p.id AND s.contact_id = %s AND s.channel = %s
LEFT JOIN consent_consentcontactstate w ON w.contact_id = %s
WHERE p.key = %s
"""


def consent_verdict(
    *, contact_id: int, purpose: str, channel: str, at: dt.datetime
) -> ConsentVerdict:
    """May ``contact_id`` be reached for ``purpose`` (its key) on ``channel`` at
    ``at``, as far as consent and the lawful basis go? One indexed query on the derived
    state, no caching (so a withdrawal counts at once in every process). Never raises
    for unknown input: an unknown purpose or channel is a refusal that says so."""
    statement = consent_verdict_statement(contact_id=contact_id, purpose=purpose, channel=channel)
    rows = fetch_all(*statement) if statement else []
    return consent_verdict_of(rows, purpose=purpose, channel=channel, at=at)


def consent_verdict_statement(
    *, contact_id: int, purpose: str, channel: str
) -> tuple[str, list[Any]] | None:
    """The one read ``consent_verdict`` makes, for a caller that sends it together
    with its own (the outreach gate); None when there is nothing to read."""
    if channel not in CHANNELS:
        return None
    return _VERDICT_SQL, [contact_id, channel, contact_id, purpose]


def consent_verdict_of(
    rows: Sequence[Sequence[Any]], *, purpose: str, channel: str, at: dt.datetime
) -> ConsentVerdict:
    """The verdict from the rows of ``consent_verdict_statement``."""
    if channel not in CHANNELS:
        return ConsentVerdict(
            False,
            "consent.unknown_channel",
            f"“{channel}” is not a channel ({', '.join(CHANNELS)}).",
        )
    if not rows:
        return ConsentVerdict(False, "consent.unknown_purpose", f"There is no purpose “{purpose}”.")
    name, basis, marketing, retention, archived, status, since, until, restricted, objection = rows[
        0
    ]
    return decide(
        PurposeFacts(name, basis, bool(marketing), retention, archived is not None),
        channel=channel,
        at=at,
        status=status,
        since=_aware(since),
        valid_until=_aware(until),
        restricted_since=_aware(restricted),
        marketing_objection_since=_aware(objection),
    )


def contacts_consenting(
    queryset: QuerySet[Contact], *, purpose: str, channel: str, at: dt.datetime
) -> QuerySet[Contact]:
    """The contacts of ``queryset`` that ``consent_verdict`` would allow, decided in
    SQL (EXISTS / NOT EXISTS on the derived state), for bulk sends and exports of a
    million contacts. Unknown or archived purposes and unknown channels give none."""
    found = Purpose.objects.filter(key=purpose).first()
    if found is None or found.archived_at is not None or channel not in CHANNELS:
        return queryset.none()
    wide = ConsentContactState.objects.filter(contact_id=OuterRef("pk"))
    result = queryset.filter(~Exists(wide.filter(restricted_since__isnull=False)))
    if found.is_marketing:
        result = result.filter(~Exists(wide.filter(marketing_objection_since__isnull=False)))
    state = ConsentState.objects.filter(
        contact_id=OuterRef("pk"), purpose_id=found.pk, channel=channel
    )
    if found.lawful_basis == LawfulBasis.CONSENT:
        granted = state.filter(status=Status.GRANTED).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gt=at)
        )
        if found.retention_days:
            granted = granted.filter(since__gt=at - dt.timedelta(days=found.retention_days))
        return result.filter(Exists(granted))
    if found.lawful_basis == LawfulBasis.LEGITIMATE_INTEREST:
        refused = state.filter(status__in=[Status.WITHDRAWN, Status.OBJECTED])
        return result.filter(~Exists(refused))
    return result
