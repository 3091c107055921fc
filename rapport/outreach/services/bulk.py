"""Sending one email to many contacts: a selection, or everything the contact list shows
for a search and filters.

``bulk_send_start`` checks the request (permission, purpose, template or subject and
body, ``when``), resolves the selection once and queues a ``BulkSend`` job for the
worker. ``bulk_send_run`` sends to each contact through ``message_send`` — the contact
gate decides for every message, at the moment it is made — as a bulk message (List-
Unsubscribe), saving progress as it goes. A worker killed mid-job leaves the job
running with a stale heartbeat; the next worker takes it over (``core.jobs.jobs_recover``
calls ``bulk_send_resume``) and goes on from the last saved position. Each message carries the
idempotency key ``bulk-<job>-<contact>``, so the contacts done before the crash are
recognised, not sent to again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.contacts.models import Contact
from rapport.contacts.services import bulk as contact_bulk
from rapport.core import jobs, policy
from rapport.core.errors import FieldError, InvalidInput
from rapport.outreach.gate import check_request
from rapport.outreach.models import BulkSend, OutboundMessage
from rapport.outreach.services import sending

# Contacts sent to between two saves of the job's progress.
CHUNK = 20
Status = OutboundMessage.Status


def idempotency_key(job_id: int, contact_id: int) -> str:
    return f"bulk-{job_id}-{contact_id}"


def bulk_send_start(
    *,
    actor: Any,
    purpose: str,
    ids: Sequence[Any] | None = None,
    q: str = "",
    filters: Any = None,
    sort: str = "",
    template: Any = None,
    subject: str = "",
    body_text: str = "",
    body_html: str = "",
    when: str = "now",
    via: str = "ui",
    base_url: str = "",
) -> BulkSend:
    """Queue a bulk send of one message to the contacts ``ids``, or (``ids`` None) to
    every contact the list shows for ``q``, ``filters`` and ``sort`` now.

    Raises NotPermitted without ``messages.send``, InvalidInput naming every wrong
    field (an unknown purpose, channel or template, no subject or text without a
    template, ``when`` not now/next_allowed, ids that do not exist, an empty selection
    or one past the bulk limit). The worker starts it once the transaction commits.
    """
    policy.require(actor, "messages.send")
    errors: list[FieldError] = []
    try:
        check_request(channel="email", purpose=purpose, at=timezone.now())
    except InvalidInput as exc:
        errors += exc.errors
    from rapport.consent.models import Purpose

    if not errors and not Purpose.objects.filter(key=purpose).exists():
        errors.append(FieldError("purpose", f"There is no purpose “{purpose}”."))
    if when not in sending.WHEN:
        errors.append(FieldError("when", "Must be now or next_allowed."))
    found = sending._template(template, errors)
    if found is None and template in (None, ""):
        if not isinstance(subject, str) or not subject.strip():
            errors.append(FieldError("subject", "Give a subject, or a template."))
        if not isinstance(body_text, str) or not body_text.strip():
            errors.append(FieldError("body_text", "Give the message's text, or a template."))
    if errors:
        raise InvalidInput(errors)
    selected = contact_bulk._selected_ids(
        kind=contact_bulk.KINDS["contacts"], actor=actor, ids=ids, q=q, filters=filters, sort=sort
    )
    if not selected:
        raise InvalidInput.single("ids", "Select at least one contact.")
    job = BulkSend.objects.create(
        purpose=purpose,
        template=found,
        subject=subject if found is None else "",
        body_text=body_text if found is None else "",
        body_html=body_html if found is None else "",
        when=when,
        base_url=base_url,
        ids=selected,
        total=len(selected),
        via=via,
        started_by=actor if getattr(actor, "pk", None) else None,
    )
    from rapport.outreach.tasks import run_bulk_send

    transaction.on_commit(lambda: run_bulk_send.enqueue(job_id=job.pk))
    return job


def bulk_send_run(*, job_id: int) -> BulkSend:
    """Run a queued bulk send, or take over one whose worker died, from its last saved
    position; a job finished or running in a live process is returned as it is.

    Every contact is sent to through ``message_send`` with the job's idempotency key;
    a contact no message can be made for (no email address, deleted) is listed in
    ``skipped`` and the others still go.
    """
    claim = jobs.job_claim(
        BulkSend,
        job_id,
        startable=(BulkSend.Status.QUEUED,),
        running=BulkSend.Status.RUNNING,
    )
    job = BulkSend.objects.select_related("started_by", "template").get(pk=job_id)
    if claim is None:
        return job
    if job.started_at is None:
        job.started_at = timezone.now()
        claim.update(started_at=job.started_at)
    actor = job.started_by
    if actor is None or not actor.is_active or not policy.can(actor, "messages.send"):
        return _finish(claim, job, error="The user who started this send can no longer send.")
    with jobs.job_heartbeat(claim):
        try:
            for start in range(job.done, len(job.ids), CHUNK):
                chunk = [int(pk) for pk in job.ids[start : start + CHUNK]]
                skipped = _send_chunk(job, actor, chunk)
                job.done += len(chunk)
                job.skipped = job.skipped + skipped
                claim.update(done=job.done, skipped=job.skipped)
        except jobs.ClaimLost:
            raise
        except Exception as exc:
            _finish(claim, job, error=f"Stopped after {job.done:,} contacts: {exc}")
            raise
    return _finish(claim, job)


def _send_chunk(job: BulkSend, actor: Any, chunk: list[int]) -> list[dict[str, Any]]:
    contacts = {c.pk: c for c in Contact.objects.filter(pk__in=chunk)}
    skipped: list[dict[str, Any]] = []
    for pk in chunk:
        contact = contacts.get(pk)
        if contact is None:
            skipped.append({"id": pk, "name": "", "message": "This contact no longer exists."})
            continue
        try:
            sending.message_send(
                actor=actor,
                contact=contact,
                purpose=job.purpose,
                channel=job.channel,
                template=job.template,
                subject=job.subject,
                body_text=job.body_text,
                body_html=job.body_html,
                when=job.when,
                idempotency_key=idempotency_key(job.pk, pk),
                via=job.via,
                kind=OutboundMessage.Kind.BULK,
                bulk_job_id=job.pk,
                base_url=job.base_url,
            )
        except InvalidInput as exc:
            message = "; ".join(e.message for e in exc.errors)
            skipped.append({"id": pk, "name": contact.display_name[:300], "message": message})
    return skipped


def _finish(claim: jobs.Claim, job: BulkSend, *, error: str = "") -> BulkSend:
    job.status = BulkSend.Status.FAILED if error else BulkSend.Status.DONE
    job.error = error
    job.finished_at = timezone.now()
    claim.update(status=job.status, error=error, finished_at=job.finished_at, done=job.done)
    return job


def bulk_send_resume(job_id: int) -> None:
    """Queue a bulk send whose worker died again (``core.jobs.jobs_recover`` calls this
    from ``rapport worker``): its run takes it over where it stopped."""
    from rapport.outreach.tasks import run_bulk_send

    run_bulk_send.enqueue(job_id=job_id)


def bulk_send_stopped_message(job: BulkSend) -> str:
    return (
        f"The process sending this stopped after {job.done:,} of {job.total:,} contacts "
        f"({jobs.last_heard(job)}); it goes on in the next worker."
    )


# -- reading -------------------------------------------------------------------------


def bulk_send_get(*, actor: Any, job_id: int) -> BulkSend:
    """One bulk send, for the user who started it or an admin; raises
    BulkSend.DoesNotExist."""
    policy.require(actor, "contacts.view")
    job = BulkSend.objects.select_related("started_by", "template").filter(pk=job_id).first()
    if job is None or (
        job.started_by_id != getattr(actor, "pk", None) and not policy.can(actor, "users.manage")
    ):
        raise BulkSend.DoesNotExist("There is no such bulk send.")
    return job


OUTCOMES = ("sent", "queued", "blocked", "failed", "skipped", "pending")


def _outcome(status: str) -> str:
    if status in (Status.SENT,):
        return "sent"
    if status in (Status.QUEUED, Status.SENDING):
        return "queued"
    if status in (Status.BLOCKED, Status.BLOCKED_AT_DELIVERY):
        return "blocked"
    return "failed"


@dataclass(frozen=True)
class BulkCounts:
    """How many recipients ended each way: sent, queued (until the gate allows),
    blocked (with reasons), failed (the mail server refused, after retries), skipped
    (no message could be made) and pending (not reached yet)."""

    sent: int = 0
    queued: int = 0
    blocked: int = 0
    failed: int = 0
    skipped: int = 0
    pending: int = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in OUTCOMES}


def bulk_send_counts(job: BulkSend) -> BulkCounts:
    """Recipients of ``job`` by outcome, as they stand now (queued ones may be sent later)."""
    return bulk_send_counts_for([job])[job.pk]


def bulk_send_counts_for(jobs: Sequence[BulkSend]) -> dict[int, BulkCounts]:
    """Recipients of each of ``jobs`` by outcome, by job id, read in one query for them
    all (a page of the list of bulk sends). A job read with ``skipped_count`` annotated
    (the list, which leaves the long ``skipped`` list unread) is counted from that."""
    from django.db.models import Count

    found: dict[int, dict[str, int]] = {job.pk: dict.fromkeys(OUTCOMES, 0) for job in jobs}
    if not found:
        return {}
    rows = (
        OutboundMessage.objects.filter(bulk_job_id__in=list(found))
        .values("bulk_job_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        job_id: Any = row["bulk_job_id"]  # never null: filtered on
        found[job_id][_outcome(row["status"])] += row["n"]
    result: dict[int, BulkCounts] = {}
    for job in jobs:
        counts = found[job.pk]
        skipped = getattr(job, "skipped_count", None)
        counts["skipped"] = len(job.skipped) if skipped is None else skipped
        counts["pending"] = max(0, job.total - sum(counts.values()))
        result[job.pk] = BulkCounts(**counts)
    return result


RESULT_COLUMNS = (
    "contact_id",
    "name",
    "email",
    "outcome",
    "status",
    "until",
    "sent_at",
    "message_id",
    "reasons",
)


def bulk_send_results(job: BulkSend) -> Iterator[dict[str, Any]]:
    """One row per recipient of ``job`` reached so far, in selection order: outcome,
    the time a queued message waits for (``until``), the gate's reasons for a blocked
    one, or why a contact was skipped."""
    skipped = {int(s["id"]): s for s in job.skipped}
    names = dict(
        Contact.objects.filter(pk__in=[int(pk) for pk in job.ids]).values_list("pk", "display_name")
    )
    messages = {
        m.contact_id: m
        for m in OutboundMessage.objects.filter(bulk_job_id=job.pk).only(
            "contact_id",
            "to_address",
            "status",
            "next_try_at",
            "not_before",
            "sent_at",
            "message_id",
            "reasons",
        )
    }
    for pk in (int(pk) for pk in job.ids):
        if pk in skipped:
            yield {
                "contact_id": pk,
                "name": names.get(pk, skipped[pk]["name"]),
                "email": "",
                "outcome": "skipped",
                "status": "skipped",
                "until": "",
                "sent_at": "",
                "message_id": "",
                "reasons": skipped[pk]["message"],
            }
            continue
        m = messages.get(pk)
        if m is None:
            continue
        queued = m.status in (Status.QUEUED, Status.SENDING)
        yield {
            "contact_id": pk,
            "name": names.get(pk, ""),
            "email": m.to_address,
            "outcome": _outcome(m.status),
            "status": m.status,
            "until": m.next_try_at.isoformat() if queued and m.next_try_at else "",
            "sent_at": m.sent_at.isoformat() if m.sent_at else "",
            "message_id": m.message_id,
            "reasons": "; ".join(r.get("text", "") for r in m.reasons or []),
        }


def bulk_send_csv(job: BulkSend) -> Iterator[str]:
    """The per-recipient results as CSV text, one chunk per row (streamed)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RESULT_COLUMNS)
    writer.writeheader()
    for row in bulk_send_results(job):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
