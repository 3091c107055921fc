"""Bulk actions on selected contacts: tag, untag, set owner, set lifecycle stage, delete.

A selection is a list of ids or everything a search with filters matches (resolved
once, when the action starts). Each contact is changed through ``contact_update`` or
deleted through ``contacts_delete``, so validation, permissions and the change history
are the ones of a single edit. Small selections run at once; larger ones run in the
background worker and report progress on their BulkJob.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.access.models import User
from rapport.contacts.models import BulkJob, Contact, Tag
from rapport.contacts.selectors import ContactFilters, contacts_matching
from rapport.contacts.services.contacts import contact_update, contacts_delete
from rapport.core import jobs, policy
from rapport.core.errors import Conflict, InvalidInput, NotPermitted
from rapport.core.text import fold

# Selections up to this size run within the request; larger ones in the background.
BACKGROUND_ABOVE = 200
# The most contacts one bulk action may cover; narrow the filters for more.
MAX_SELECTION = 100_000
# Contacts read and changed per round; progress is saved after each.
CHUNK = 50

PERMISSIONS = {
    BulkJob.Action.TAG: "contacts.change",
    BulkJob.Action.UNTAG: "contacts.change",
    BulkJob.Action.SET_OWNER: "contacts.change",
    BulkJob.Action.SET_STAGE: "contacts.change",
    BulkJob.Action.DELETE: "contacts.delete",
}


def _check_value(actor: Any, action: str, value: str) -> str:
    """The action's value, checked before anything runs; raises InvalidInput."""
    value = (value or "").strip()
    if action in (BulkJob.Action.TAG, BulkJob.Action.UNTAG):
        if not value:
            raise InvalidInput.single("value", "Name the tag.")
        if len(value) > 60:
            raise InvalidInput.single("value", "A tag name can have at most 60 characters.")
        exists = Tag.objects.filter(name_key=fold(value)).exists()
        if action == BulkJob.Action.UNTAG and not exists:
            raise InvalidInput.single("value", f"There is no tag “{value}”.")
        if not exists and not policy.can(actor, "tags.add"):
            raise InvalidInput.single("value", f"The tag “{value}” does not exist.")
    elif action == BulkJob.Action.SET_OWNER:
        if value and not User.objects.filter(username=value, is_active=True).exists():
            raise InvalidInput.single("value", f"There is no active user named “{value[:150]}”.")
    elif action == BulkJob.Action.SET_STAGE:
        if value not in Contact.Lifecycle.values:
            raise InvalidInput.single(
                "value", f"Must be one of: {', '.join(Contact.Lifecycle.values)}."
            )
    else:
        value = ""
    return value


def _selected_ids(
    *,
    actor: Any,
    ids: Sequence[Any] | None,
    q: str,
    filters: ContactFilters | None,
    sort: str,
) -> list[int]:
    if ids is not None:
        if len(ids) > MAX_SELECTION:
            raise InvalidInput.single("ids", f"Select at most {MAX_SELECTION:,} contacts.")
        wanted: list[int] = []
        for i, pk in enumerate(ids):
            if isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk < 2**63:
                raise InvalidInput.single(f"ids[{i}]", "Must be a contact id.")
            wanted.append(pk)
        wanted = sorted(set(wanted))
        found: set[int] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            found.update(Contact.objects.filter(pk__in=chunk).values_list("pk", flat=True))
        missing = [pk for pk in wanted if pk not in found]
        if missing:
            shown = ", ".join(str(pk) for pk in missing[:5])
            raise InvalidInput.single("ids", f"No such contact: {shown}.")
        return wanted
    qs = contacts_matching(actor=actor, q=q, filters=filters, sort=sort)
    matched = list(qs.order_by("pk").values_list("pk", flat=True)[: MAX_SELECTION + 1])
    if len(matched) > MAX_SELECTION:
        raise InvalidInput.single(
            "filters",
            f"More than {MAX_SELECTION:,} contacts match; narrow the search or filters.",
        )
    return matched


def contacts_bulk_start(
    *,
    actor: Any,
    action: str,
    value: str = "",
    ids: Sequence[Any] | None = None,
    q: str = "",
    filters: ContactFilters | None = None,
    sort: str = "",
    via: str = "ui",
) -> BulkJob:
    """Start ``action`` on the contacts with ``ids``, or (``ids`` None) on every contact
    the list shows for ``q``, ``filters`` and ``sort``.

    Up to BACKGROUND_ABOVE contacts are changed before this returns (the job is done);
    more are queued for the background worker once the transaction commits. Raises
    NotPermitted when the actor may not do this to contacts, InvalidInput for an unknown
    action, a bad value (which tag, owner or stage), ids that do not exist, an empty
    selection or one larger than MAX_SELECTION.
    """
    if action not in PERMISSIONS:
        raise InvalidInput.single("action", f"Must be one of: {', '.join(PERMISSIONS)}.")
    policy.require(actor, "contacts.view")
    policy.require(actor, PERMISSIONS[BulkJob.Action(action)])
    value = _check_value(actor, action, value)
    selected = _selected_ids(actor=actor, ids=ids, q=q, filters=filters, sort=sort)
    if not selected:
        raise InvalidInput.single("ids", "Select at least one contact.")
    job = BulkJob.objects.create(
        action=action,
        value=value,
        ids=selected,
        total=len(selected),
        via=via,
        started_by=actor if getattr(actor, "pk", None) else None,
    )
    if len(selected) <= BACKGROUND_ABOVE:
        return contacts_bulk_run(job_id=job.pk)
    from rapport.contacts.tasks import run_bulk

    transaction.on_commit(lambda: run_bulk.enqueue(job_id=job.pk))
    return job


def _change(job: BulkJob, contact: Contact) -> dict[str, Any] | None:
    """What ``contact_update`` is sent for this contact; None when nothing would change."""
    if job.action in (BulkJob.Action.TAG, BulkJob.Action.UNTAG):
        names = [t.name for t in contact.tags.all()]
        has = fold(job.value) in {fold(name) for name in names}
        if job.action == BulkJob.Action.TAG:
            return None if has else {"tags": [*names, job.value]}
        if not has:
            return None
        return {"tags": [n for n in names if fold(n) != fold(job.value)]}
    if job.action == BulkJob.Action.SET_OWNER:
        current = contact.owner.username if contact.owner_id and contact.owner else ""
        return None if current == job.value else {"owner": job.value or None}
    if job.action == BulkJob.Action.SET_STAGE:
        return None if contact.lifecycle_stage == job.value else {"lifecycle_stage": job.value}
    raise ValueError(f"unknown bulk action {job.action!r}")


def _failure(contact_id: int, name: str, message: str) -> dict[str, Any]:
    return {"id": contact_id, "name": name[:300], "message": message}


def _run_chunk(job: BulkJob, actor: Any, chunk: list[int]) -> tuple[int, list[dict[str, Any]]]:
    """Change (or delete) one chunk; returns how many changed and what failed."""
    failures: list[dict[str, Any]] = []
    if job.action == BulkJob.Action.DELETE:
        try:
            deleted = contacts_delete(actor=actor, contact_ids=chunk, via=job.via)
        except NotPermitted as exc:
            return 0, [_failure(pk, "", str(exc)) for pk in chunk]
        return len(deleted), []
    contacts = {
        c.pk: c
        for c in Contact.objects.filter(pk__in=chunk)
        .select_related("owner")
        .prefetch_related("tags")
    }
    changed = 0
    for pk in chunk:
        contact = contacts.get(pk)
        if contact is None:
            failures.append(_failure(pk, "", "This contact no longer exists."))
            continue
        data = _change(job, contact)
        if data is None:
            continue
        try:
            contact_update(actor=actor, contact=contact, data=data, via=job.via)
        except InvalidInput as exc:
            message = "; ".join(f"{e.path}: {e.message}" for e in exc.errors)
            failures.append(_failure(pk, contact.display_name, message))
        except (NotPermitted, Conflict) as exc:
            failures.append(_failure(pk, contact.display_name, str(exc)))
        else:
            changed += 1
    return changed, failures


def contacts_bulk_run(*, job_id: int) -> BulkJob:
    """Run a queued bulk job, saving progress after every CHUNK contacts and reporting
    heartbeats while it runs (a job whose worker died is taken over from where it stopped).

    A contact that cannot be changed (gone meanwhile, a value its validation refuses,
    not permitted) is listed in ``failures`` and the others still change. A job that is
    finished, or running in a live process, is returned as it is.
    """
    claimed = jobs.job_claim(
        BulkJob,
        job_id,
        startable=(BulkJob.Status.QUEUED,),
        running=BulkJob.Status.RUNNING,
        started_at=timezone.now(),
    )
    job = BulkJob.objects.select_related("started_by").get(pk=job_id)
    if not claimed:
        return job
    actor = job.started_by
    if actor is None or not actor.is_active:
        return _finish(job, error="The user who started this action can no longer act.")
    with jobs.job_heartbeat(BulkJob, job.pk):
        return _run_claimed(job, actor)


def _run_claimed(job: BulkJob, actor: Any) -> BulkJob:
    # A job taken over from a dead worker goes on after the last chunk it saved; the
    # actions are idempotent, so a chunk that was half done is simply done again.
    try:
        for start in range(job.done, len(job.ids), CHUNK):
            chunk = [int(pk) for pk in job.ids[start : start + CHUNK]]
            changed, failures = _run_chunk(job, actor, chunk)
            job.done += len(chunk)
            job.changed += changed
            job.failures += failures
            BulkJob.objects.filter(pk=job.pk).update(
                done=job.done, changed=job.changed, failures=job.failures
            )
    except Exception as exc:
        _finish(job, error=f"Stopped after {job.done:,} contacts: {exc}")
        raise
    return _finish(job)


def bulk_job_stopped_message(job: BulkJob) -> str:
    """What ``jobs_recover`` records on a bulk action whose worker died."""
    return (
        f"The process running this action stopped after {job.done:,} of {job.total:,} "
        f"({jobs.last_heard(job)}); the rest were not changed: select them and apply it again."
    )


def _finish(job: BulkJob, *, error: str = "") -> BulkJob:
    job.status = BulkJob.Status.FAILED if error else BulkJob.Status.DONE
    job.error = error
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at", "done", "changed", "failures"])
    return job


def bulk_job_get(*, actor: Any, job_id: int) -> BulkJob:
    """One bulk job, for the user who started it or an admin; raises BulkJob.DoesNotExist."""
    policy.require(actor, "contacts.view")
    job = BulkJob.objects.select_related("started_by").get(pk=job_id)
    if job.started_by_id != getattr(actor, "pk", None) and not policy.can(actor, "users.manage"):
        raise BulkJob.DoesNotExist("There is no such bulk action.")
    return job


def bulk_job_summary(job: BulkJob) -> str:
    """One sentence saying what a finished bulk action did."""
    noun = "contact" if job.changed == 1 else "contacts"
    done = {
        BulkJob.Action.TAG: f"Tag “{job.value}” added to {job.changed:,} {noun}.",
        BulkJob.Action.UNTAG: f"Tag “{job.value}” removed from {job.changed:,} {noun}.",
        BulkJob.Action.SET_OWNER: f"Owner set to {job.value_display} on {job.changed:,} {noun}.",
        BulkJob.Action.SET_STAGE: f"Lifecycle stage set to {job.value_display} "
        f"on {job.changed:,} {noun}.",
        BulkJob.Action.DELETE: f"{job.changed:,} {noun} deleted.",
    }[BulkJob.Action(job.action)]
    unchanged = job.done - job.changed - len(job.failures)
    if unchanged > 0 and job.action != BulkJob.Action.DELETE:
        done += f" {unchanged:,} already had it."
    if job.failures:
        done += f" {len(job.failures):,} could not be changed."
    return done
