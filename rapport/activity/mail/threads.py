"""Which conversation a message belongs to.

JWZ's threading, kept in the database: every Message-ID a message carries (its own, its
References and In-Reply-To) is a ``MailMessageRef`` pointing at one thread. Ids named
but never read are phantom parents: when that message arrives later, it finds its
thread waiting. A message whose ids point at two threads joins them into one. Since a
thread is a set of ids rather than a tree, a loop of References (A names B, B names A)
can never make the walk go round. Only when none of its ids is known does a message
join by subject: a reply ("Re: …") whose subject, once stripped of prefixes, is a
thread's, among some of the same people, within 30 days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, F, Max, Min
from django.db.models.functions import Greatest, Least

from rapport.activity.mail.parsing import subject_key
from rapport.activity.models import Interaction, MailMessageRef, Participant, Thread

SUBJECT_WINDOW = dt.timedelta(days=30)
MAX_IDS = 60


def _ids(message_id: str, references: Sequence[str], in_reply_to: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {message_id: None}
    for value in [*references, *in_reply_to]:
        if value and value != message_id:
            seen.setdefault(value[:500], None)
    return list(seen)[:MAX_IDS]


def _by_subject(subject: str, sent_at: dt.datetime, address_keys: Sequence[str]) -> Thread | None:
    key = subject_key(subject)
    if not key or key == " ".join(subject.lower().split()) or not address_keys:
        return None  # not a reply, or nothing to compare people by
    candidates = list(
        Thread.objects.filter(
            subject_key=key,
            last_at__gte=sent_at - SUBJECT_WINDOW,
            started_at__lte=sent_at + SUBJECT_WINDOW,
        )
        .order_by("-last_at")
        .values_list("id", flat=True)[:20]
    )
    if not candidates:
        return None
    shared = (
        Participant.objects.filter(
            interaction__thread_id__in=candidates, address_key__in=list(address_keys)
        )
        .order_by("-interaction__thread__last_at")
        .values_list("interaction__thread_id", flat=True)
        .first()
    )
    return Thread.objects.filter(pk=shared).first() if shared else None


def _merge(threads: list[int]) -> int:
    """Join threads into the oldest; returns its id."""
    survivor, *others = sorted(threads)
    Interaction.objects.filter(thread_id__in=others).update(thread_id=survivor)
    MailMessageRef.objects.filter(thread_id__in=others).update(thread_id=survivor)
    Thread.objects.filter(pk__in=others).delete()
    return survivor


def _refresh(thread_id: int) -> None:
    totals = Interaction.objects.filter(thread_id=thread_id).aggregate(
        count=Count("id"), first=Min("occurred_at"), last=Max("occurred_at")
    )
    if totals["count"]:
        Thread.objects.filter(pk=thread_id).update(
            message_count=totals["count"], started_at=totals["first"], last_at=totals["last"]
        )


@dataclass
class Placement:
    """Where a message goes: its thread (made new if need be) and the ids to record."""

    thread_id: int
    created: bool
    ids: list[str]
    refs: list[tuple[str, int | None]]
    merged: bool = False


def thread_find(
    *,
    message_id: str,
    subject: str,
    sent_at: dt.datetime,
    references: Sequence[str],
    in_reply_to: Sequence[str],
    address_keys: Sequence[str],
) -> Placement:
    """The thread a new message belongs to: the one its ids point at (several are
    joined into one), else a reply's thread by subject, else a new thread."""
    ids = _ids(message_id, references, in_reply_to)
    refs: list[tuple[str, int | None]] = list(
        MailMessageRef.objects.filter(message_key__in=ids).values_list("message_key", "thread_id")
    )
    threads = sorted({t for _, t in refs if t})
    if len(threads) > 1:
        return Placement(_merge(threads), False, ids, refs, merged=True)
    if threads:
        return Placement(threads[0], False, ids, refs)
    found = _by_subject(subject, sent_at, address_keys)
    if found is not None:
        return Placement(found.pk, False, ids, refs)
    thread = Thread.objects.create(
        subject=subject,
        subject_key=subject_key(subject),
        started_at=sent_at,
        last_at=sent_at,
        message_count=1,  # the message it is made for; discarded if that is not stored
    )
    return Placement(thread.pk, True, ids, refs)


def thread_record(*, placement: Placement, message_id: str, sent_at: dt.datetime) -> None:
    """Count a stored message in its thread and remember its ids there."""
    known = {key for key, _ in placement.refs}
    thread_id = placement.thread_id
    new = [
        MailMessageRef(message_key=k, thread_id=thread_id, seen=k == message_id)
        for k in placement.ids
        if k not in known
    ]
    if new:
        MailMessageRef.objects.bulk_create(new, ignore_conflicts=True)
    stale = [k for k, t in placement.refs if t != thread_id]
    if stale:
        MailMessageRef.objects.filter(message_key__in=stale).update(thread_id=thread_id)
    if message_id in known:
        MailMessageRef.objects.filter(message_key=message_id).update(seen=True)
    if placement.merged:
        _refresh(thread_id)
    elif not placement.created:
        Thread.objects.filter(pk=thread_id).update(
            message_count=F("message_count") + 1,
            started_at=Least("started_at", sent_at),
            last_at=Greatest("last_at", sent_at),
        )


def thread_discard(placement: Placement) -> None:
    """A thread made for a message that turned out to be stored already goes again."""
    if placement.created:
        Thread.objects.filter(pk=placement.thread_id).exclude(interactions__isnull=False).delete()


def message_seen(message_id: str) -> bool:
    """Whether a message with this id was read before (stored or skipped)."""
    return MailMessageRef.objects.filter(message_key=message_id, seen=True).exists()


def message_mark_seen(message_id: str) -> bool:
    """Remember that this message was read; False when it already was."""
    ref = (
        MailMessageRef.objects.filter(message_key=message_id).values_list("seen", flat=True).first()
    )
    if ref is None:
        MailMessageRef.objects.bulk_create(
            [MailMessageRef(message_key=message_id[:500], seen=True)], ignore_conflicts=True
        )
        return True
    if ref:
        return False
    MailMessageRef.objects.filter(message_key=message_id).update(seen=True)
    return True
