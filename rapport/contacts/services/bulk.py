"""Bulk actions on selected contacts or organizations: tag, untag, set owner, set
lifecycle stage (contacts), delete.

A selection is a list of ids or everything a search with filters matches (resolved
once, when the action starts). A delete is confirmed first: ``bulk_preview`` says how
many records match, names some and gives a snapshot of exactly which; ``bulk_start``
given that snapshot refuses (SelectionChanged) when the search now matches other
records, so nothing is deleted that the user did not see counted. Each record is
changed through its kind's update service (``contact_update``, ``organization_update``)
or deleted through its delete service, so validation, permissions and the change
history are the ones of a single edit. Small selections run at once; larger ones run
in the background worker and report progress on their BulkJob. What differs between
contacts and organizations is one ``BulkKind``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from rapport.access.models import User
from rapport.contacts.models import BulkJob, Contact, Organization, Tag
from rapport.contacts.selectors import contacts_matching, organizations_matching
from rapport.contacts.services.contacts import contact_update, contacts_delete
from rapport.contacts.services.organizations import organization_update, organizations_delete
from rapport.core import jobs, policy
from rapport.core.errors import Conflict, InvalidInput, NotPermitted
from rapport.core.text import fold

# Selections up to this size run within the request; larger ones in the background.
BACKGROUND_ABOVE = 200
# The most records one bulk action may cover; narrow the filters for more.
MAX_SELECTION = 100_000
# Records read and changed per round; progress is saved after each.
CHUNK = 50


@dataclass(frozen=True, slots=True)
class BulkKind:
    """What bulk actions need to know about one kind of record."""

    name: str  # "contacts": also the prefix of its permissions
    singular: str
    model: type[models.Model]
    actions: tuple[str, ...]
    matching: Callable[..., models.QuerySet[Any]]  # (actor, q, filters, sort)
    update: Callable[..., Any]  # (actor, record, data, via), as contact_update
    delete: Callable[[Any, list[int], str], list[int]]  # (actor, ids, via) -> deleted ids
    label: Callable[[Any], str]

    def noun(self, count: int) -> str:
        return self.singular if count == 1 else self.name

    def permission(self, action: str) -> str:
        return f"{self.name}.{'delete' if action == BulkJob.Action.DELETE else 'change'}"


KINDS = {
    "contacts": BulkKind(
        name="contacts",
        singular="contact",
        model=Contact,
        actions=BulkJob.ACTIONS["contacts"],
        matching=contacts_matching,
        update=lambda actor, record, data, via: contact_update(
            actor=actor, contact=record, data=data, via=via
        ),
        delete=lambda actor, ids, via: contacts_delete(actor=actor, contact_ids=ids, via=via),
        label=lambda contact: contact.display_name,
    ),
    "organizations": BulkKind(
        name="organizations",
        singular="organization",
        model=Organization,
        actions=BulkJob.ACTIONS["organizations"],
        matching=organizations_matching,
        update=lambda actor, record, data, via: organization_update(
            actor=actor, org=record, data=data, via=via
        ),
        delete=lambda actor, ids, via: organizations_delete(
            actor=actor, organization_ids=ids, via=via
        ),
        label=lambda org: org.name,
    ),
}


class SelectionChanged(Conflict):
    """The records a search matches are no longer the ones the caller confirmed (or as
    many as it expected); nothing was done."""


def bulk_kind(name: str) -> BulkKind:
    """The kind called ``name``; raises InvalidInput for another."""
    if name not in KINDS:
        raise InvalidInput.single("kind", f"Must be one of: {', '.join(KINDS)}.")
    return KINDS[name]


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
    *, kind: BulkKind, actor: Any, ids: Sequence[Any] | None, q: str, filters: Any, sort: str
) -> list[int]:
    if ids is not None:
        if len(ids) > MAX_SELECTION:
            raise InvalidInput.single("ids", f"Select at most {MAX_SELECTION:,} {kind.name}.")
        wanted: list[int] = []
        for i, pk in enumerate(ids):
            if isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk < 2**63:
                raise InvalidInput.single(f"ids[{i}]", f"Must be {_a(kind.singular)} id.")
            wanted.append(pk)
        wanted = sorted(set(wanted))
        found: set[int] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            found.update(
                kind.model._default_manager.filter(pk__in=chunk).values_list("pk", flat=True)
            )
        missing = [pk for pk in wanted if pk not in found]
        if missing:
            shown = ", ".join(str(pk) for pk in missing[:5])
            raise InvalidInput.single("ids", f"No such {kind.singular}: {shown}.")
        return wanted
    qs = kind.matching(actor=actor, q=q, filters=filters, sort=sort)
    matched = list(qs.order_by("pk").values_list("pk", flat=True)[: MAX_SELECTION + 1])
    if len(matched) > MAX_SELECTION:
        raise InvalidInput.single(
            "filters",
            f"More than {MAX_SELECTION:,} {kind.name} match; narrow the search or filters.",
        )
    return matched


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _snapshot(selected: Sequence[int]) -> str:
    """How many records and which, in a few characters: ``<count>.<digest of the ids>``."""
    digest = hashlib.sha256(",".join(map(str, sorted(selected))).encode()).hexdigest()
    return f"{len(selected)}.{digest[:32]}"


def _outcome(action: str) -> str:
    return "deleted" if action == BulkJob.Action.DELETE else "changed"


def _check_unchanged(
    kind: BulkKind,
    action: str,
    selected: list[int],
    snapshot: str | None,
    expected_count: int | None,
) -> None:
    """Raise SelectionChanged unless ``selected`` is what ``snapshot`` (from
    bulk_preview) pinned and holds ``expected_count`` records."""
    found = len(selected)
    if snapshot is not None and snapshot != _snapshot(selected):
        count, _, _ = snapshot.partition(".")
        if not count.isdecimal():
            raise InvalidInput.single("snapshot", "Not a snapshot of a selection.")
        confirmed = int(count)
        if found == confirmed:
            change = f"other {kind.name} match now (still {found:,})"
        else:
            diff = abs(found - confirmed)
            more = "more" if found > confirmed else "fewer"
            verb = "matches" if diff == 1 else "match"
            change = f"{diff:,} {more} {kind.noun(diff)} {verb} now"
        raise SelectionChanged(
            f"The list changed since you confirmed: {change}. "
            f"Nothing was {_outcome(action)}; review them and confirm again."
        )
    if expected_count is not None and expected_count != found:
        raise SelectionChanged(
            f"{found:,} {kind.noun(found)} {'matches' if found == 1 else 'match'}, not the "
            f"{expected_count:,} expected. Nothing was {_outcome(action)}."
        )


@dataclass(frozen=True, slots=True)
class BulkPreview:
    """What a confirmation shows: how many records, the first names alphabetically, and
    the snapshot that makes ``bulk_start`` act on exactly these records."""

    total: int
    sample: list[str]
    snapshot: str


# Names a confirmation shows; the rest are counted.
PREVIEW_NAMES = 10


def bulk_preview(
    *,
    kind: str,
    actor: Any,
    action: str = BulkJob.Action.DELETE,
    ids: Sequence[Any] | None = None,
    q: str = "",
    filters: Any = None,
    sort: str = "",
) -> BulkPreview:
    """What ``action`` would cover, resolved now as ``bulk_start`` resolves it, for a
    confirmation. Pass its ``snapshot`` to ``bulk_start`` to act on these records only.

    Raises what ``bulk_start`` raises before it acts: NotPermitted, InvalidInput for an
    unknown action, ids that do not exist, an empty selection or one larger than
    MAX_SELECTION.
    """
    spec = bulk_kind(kind)
    if action not in spec.actions:
        raise InvalidInput.single("action", f"Must be one of: {', '.join(spec.actions)}.")
    policy.require(actor, f"{spec.name}.view")
    policy.require(actor, spec.permission(action))
    selected = _selected_ids(kind=spec, actor=actor, ids=ids, q=q, filters=filters, sort=sort)
    if not selected:
        raise InvalidInput.single("ids", f"Select at least one {spec.singular}.")
    if ids is None:
        named = spec.matching(actor=actor, q=q, filters=filters, sort=sort)
    else:
        named = spec.model._default_manager.filter(pk__in=selected[:1000])
    sample = [spec.label(r) for r in named.order_by("sort_name", "id")[:PREVIEW_NAMES]]
    return BulkPreview(total=len(selected), sample=sample, snapshot=_snapshot(selected))


def bulk_start(
    *,
    kind: str,
    actor: Any,
    action: str,
    value: str = "",
    ids: Sequence[Any] | None = None,
    q: str = "",
    filters: Any = None,
    sort: str = "",
    via: str = "ui",
    snapshot: str | None = None,
    expected_count: int | None = None,
) -> BulkJob:
    """Start ``action`` on the records of ``kind`` ("contacts", "organizations") with
    ``ids``, or (``ids`` None) on every one the list shows for ``q``, ``filters`` (the
    kind's ContactFilters or OrganizationFilters) and ``sort``.

    Up to BACKGROUND_ABOVE records are changed before this returns (the job is done);
    more are queued for the background worker once the transaction commits. Raises
    NotPermitted when the actor may not do this to the kind, InvalidInput for an action
    the kind has not, a bad value (which tag, owner or stage), ids that do not exist, an
    empty selection or one larger than MAX_SELECTION. Raises SelectionChanged, doing
    nothing, when the selection is not the one ``snapshot`` (from ``bulk_preview``)
    pinned, or does not hold ``expected_count`` records.
    """
    spec = bulk_kind(kind)
    if action not in spec.actions:
        raise InvalidInput.single("action", f"Must be one of: {', '.join(spec.actions)}.")
    policy.require(actor, f"{spec.name}.view")
    policy.require(actor, spec.permission(action))
    value = _check_value(actor, action, value)
    selected = _selected_ids(kind=spec, actor=actor, ids=ids, q=q, filters=filters, sort=sort)
    _check_unchanged(spec, action, selected, snapshot, expected_count)
    if not selected:
        raise InvalidInput.single("ids", f"Select at least one {spec.singular}.")
    job = BulkJob.objects.create(
        kind=spec.name,
        action=action,
        value=value,
        ids=selected,
        total=len(selected),
        via=via,
        started_by=actor if getattr(actor, "pk", None) else None,
    )
    if len(selected) <= BACKGROUND_ABOVE:
        return bulk_run(job_id=job.pk)
    from rapport.contacts.tasks import run_bulk

    transaction.on_commit(lambda: run_bulk.enqueue(job_id=job.pk))
    return job


def _change(job: BulkJob, record: Any) -> dict[str, Any] | None:
    """What the update service is sent for this record; None when nothing would change."""
    if job.action in (BulkJob.Action.TAG, BulkJob.Action.UNTAG):
        names = [t.name for t in record.tags.all()]
        has = fold(job.value) in {fold(name) for name in names}
        if job.action == BulkJob.Action.TAG:
            return None if has else {"tags": [*names, job.value]}
        if not has:
            return None
        return {"tags": [n for n in names if fold(n) != fold(job.value)]}
    if job.action == BulkJob.Action.SET_OWNER:
        current = record.owner.username if record.owner_id and record.owner else ""
        return None if current == job.value else {"owner": job.value or None}
    if job.action == BulkJob.Action.SET_STAGE:
        return None if record.lifecycle_stage == job.value else {"lifecycle_stage": job.value}
    raise ValueError(f"unknown bulk action {job.action!r}")


def _failure(record_id: int, name: str, message: str) -> dict[str, Any]:
    return {"id": record_id, "name": name[:300], "message": message}


def _run_chunk(
    kind: BulkKind, job: BulkJob, actor: Any, chunk: list[int]
) -> tuple[int, list[dict[str, Any]]]:
    """Change (or delete) one chunk; returns how many changed and what failed."""
    failures: list[dict[str, Any]] = []
    if job.action == BulkJob.Action.DELETE:
        try:
            deleted = kind.delete(actor, chunk, job.via)
        except NotPermitted as exc:
            return 0, [_failure(pk, "", str(exc)) for pk in chunk]
        return len(deleted), []
    records = {
        r.pk: r
        for r in kind.model._default_manager.filter(pk__in=chunk)
        .select_related("owner")
        .prefetch_related("tags")
    }
    changed = 0
    for pk in chunk:
        record = records.get(pk)
        if record is None:
            failures.append(_failure(pk, "", f"This {kind.singular} no longer exists."))
            continue
        data = _change(job, record)
        if data is None:
            continue
        try:
            kind.update(actor, record, data, job.via)
        except InvalidInput as exc:
            message = "; ".join(f"{e.path}: {e.message}" for e in exc.errors)
            failures.append(_failure(pk, kind.label(record), message))
        except (NotPermitted, Conflict) as exc:
            failures.append(_failure(pk, kind.label(record), str(exc)))
        else:
            changed += 1
    return changed, failures


def bulk_run(*, job_id: int) -> BulkJob:
    """Run a queued bulk job, saving progress after every CHUNK records and reporting
    heartbeats while it runs (a job whose worker died is taken over from where it stopped).

    A record that cannot be changed (gone meanwhile, a value its validation refuses,
    not permitted) is listed in ``failures`` and the others still change. A job that is
    finished, or running in a live process, is returned as it is.
    """
    claim = jobs.job_claim(
        BulkJob,
        job_id,
        startable=(BulkJob.Status.QUEUED,),
        running=BulkJob.Status.RUNNING,
        started_at=timezone.now(),
    )
    job = BulkJob.objects.select_related("started_by").get(pk=job_id)
    if claim is None:
        return job
    actor = job.started_by
    if actor is None or not actor.is_active:
        return _finish(claim, job, error="The user who started this action can no longer act.")
    with jobs.job_heartbeat(claim):
        return _run_claimed(claim, KINDS[job.kind], job, actor)


# The failures kept with their reasons; past this only their number grows.
FAILURES_KEPT = 100


def _run_claimed(claim: jobs.Claim, kind: BulkKind, job: BulkJob, actor: Any) -> BulkJob:
    # A job taken over from a dead worker goes on after the last chunk it saved; the
    # actions are idempotent, so a chunk that was half done is simply done again. The
    # worker it was taken from, if it was only paused, stops at its next save.
    try:
        for start in range(job.done, len(job.ids), CHUNK):
            chunk = [int(pk) for pk in job.ids[start : start + CHUNK]]
            changed, failures = _run_chunk(kind, job, actor, chunk)
            job.done += len(chunk)
            job.changed += changed
            job.failed += len(failures)
            job.failures = (job.failures + failures)[:FAILURES_KEPT]
            claim.update(
                done=job.done, changed=job.changed, failed=job.failed, failures=job.failures
            )
    except jobs.ClaimLost:
        raise  # the job is another process's now
    except Exception as exc:
        _finish(claim, job, error=f"Stopped after {job.done:,} {kind.name}: {exc}")
        raise
    return _finish(claim, job)


def bulk_job_stopped_message(job: BulkJob) -> str:
    """What ``jobs_recover`` records on a bulk action whose worker died."""
    return (
        f"The process running this action stopped after {job.done:,} of {job.total:,} "
        f"({jobs.last_heard(job)}); the rest were not changed: select them and apply it again."
    )


def _finish(claim: jobs.Claim, job: BulkJob, *, error: str = "") -> BulkJob:
    job.status = BulkJob.Status.FAILED if error else BulkJob.Status.DONE
    job.error = error
    job.finished_at = timezone.now()
    fields = ["status", "error", "finished_at", "done", "changed", "failed", "failures"]
    claim.update(**{name: getattr(job, name) for name in fields})
    return job


def bulk_job_get(*, actor: Any, job_id: int, kind: str | None = None) -> BulkJob:
    """One bulk job (of ``kind``, when given), for the user who started it or an admin;
    raises BulkJob.DoesNotExist."""
    job = BulkJob.objects.select_related("started_by").filter(pk=job_id).first()
    if job is None or (kind is not None and job.kind != kind):
        raise BulkJob.DoesNotExist("There is no such bulk action.")
    policy.require(actor, f"{job.kind}.view")
    if job.started_by_id != getattr(actor, "pk", None) and not policy.can(actor, "users.manage"):
        raise BulkJob.DoesNotExist("There is no such bulk action.")
    return job


def bulk_job_summary(job: BulkJob) -> str:
    """One sentence saying what a finished bulk action did."""
    noun = KINDS[job.kind].noun(job.changed)
    done = {
        BulkJob.Action.TAG: f"Tag “{job.value}” added to {job.changed:,} {noun}.",
        BulkJob.Action.UNTAG: f"Tag “{job.value}” removed from {job.changed:,} {noun}.",
        BulkJob.Action.SET_OWNER: f"Owner set to {job.value_display} on {job.changed:,} {noun}.",
        BulkJob.Action.SET_STAGE: f"Lifecycle stage set to {job.value_display} "
        f"on {job.changed:,} {noun}.",
        BulkJob.Action.DELETE: f"{job.changed:,} {noun} deleted.",
    }[BulkJob.Action(job.action)]
    unchanged = job.done - job.changed - job.failed
    if unchanged > 0 and job.action != BulkJob.Action.DELETE:
        done += f" {unchanged:,} already had it."
    if job.failed:
        done += f" {job.failed:,} could not be changed."
    return done
