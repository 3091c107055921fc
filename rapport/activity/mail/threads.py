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

from django.db.models import Count, Max, Min

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


def _by_subject(
    subject: str, sent_at: dt.datetime, address_keys: Sequence[str]
) -> Thread | None:
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


def thread_assign(
    *,
    interaction: Interaction,
    references: Sequence[str],
    in_reply_to: Sequence[str],
    address_keys: Sequence[str],
) -> int:
    """Put a newly stored email into its thread (found, merged or new) and remember its
    ids; sets ``interaction.thread`` and returns the thread's id. Runs in the caller's transaction."""
    ids = _ids(interaction.message_id, references, in_reply_to)
    refs = list(MailMessageRef.objects.filter(message_key__in=ids).values_list("message_key", "thread_id"))
    known = {key for key, _ in refs}
    threads = sorted({t for _, t in refs if t})
    thread_id: int | None = None
    if len(threads) > 1:
        thread_id = _merge(threads)
    elif threads:
        thread_id = threads[0]
    else:
        found = _by_subject(interaction.subject, interaction.occurred_at, address_keys)
        thread_id = found.pk if found else None
    created = thread_id is None
    if thread_id is None:
        thread_id = Thread.objects.create(
            subject=interaction.subject,
            subject_key=subject_key(interaction.subject),
            started_at=interaction.occurred_at,
            last_at=interaction.occurred_at,
            message_count=1,
        ).pk
    Interaction.objects.filter(pk=interaction.pk).update(thread_id=thread_id)
    interaction.thread_id = thread_id
    new = [
        MailMessageRef(message_key=k, thread_id=thread_id, seen=k == interaction.message_id)
        for k in ids
        if k not in known
    ]
    if new:
        MailMessageRef.objects.bulk_create(new, ignore_conflicts=True)
    stale = [k for k, t in refs if t != thread_id or k == interaction.message_id]
    if stale:
        MailMessageRef.objects.filter(message_key__in=stale).update(thread_id=thread_id)
        MailMessageRef.objects.filter(message_key=interaction.message_id).update(seen=True)
    if not created:
        _refresh(thread_id)
        Thread.objects.filter(pk=thread_id, subject="").update(
            subject=interaction.subject, subject_key=subject_key(interaction.subject)
        )
    return thread_id


def message_seen(message_id: str) -> bool:
    """Whether a message with this id was read before (stored or skipped)."""
    return MailMessageRef.objects.filter(message_key=message_id, seen=True).exists()


def message_mark_seen(message_id: str) -> bool:
    """Remember that this message was read; False when it already was."""
    ref = MailMessageRef.objects.filter(message_key=message_id).values_list("seen", flat=True).first()
    if ref is None:
        MailMessageRef.objects.bulk_create(
            [MailMessageRef(message_key=message_id[:500], seen=True)], ignore_conflicts=True
        )
        return True
    if ref:
        return False
    MailMessageRef.objects.filter(message_key=message_id).update(seen=True)
    return True
