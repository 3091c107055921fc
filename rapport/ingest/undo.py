"""Undoing an import: a background job with progress, resumable after a crash.

Undo removes the contacts a batch created and puts back the fields it changed, unless
they were edited since: those are kept and listed. On a large batch this takes minutes,
so a request only queues it (``import_undo_start``) and a worker runs it
(``import_undo_run``) page by page; each page commits with the progress and a cursor in
``ImportBatch.undo_report``, so the page shows how far it got and a worker that dies
leaves a batch the next ``import_undo_start`` carries on from where it stopped.

Each start takes the batch's next claim (``rapport.core.jobs``) and hands it to the run:
a run from an earlier start, whose worker was only paused, can no longer write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from rapport.contacts import services as contact_services
from rapport.contacts.models import Affiliation, Contact, Organization
from rapport.core import jobs, policy
from rapport.core.errors import Conflict, InvalidInput, NotPermitted
from rapport.ingest import services
from rapport.ingest.models import ImportBatch, ImportChange

UPDATED_PAGE = 500
CREATED_PAGE = 2000
# The lines of "kept" the report keeps; the batch log has them all.
KEPT_LINES = 200
# An undo whose worker stopped reporting for this long may be started again.
STALLED_SECONDS = 120


@dataclass
class UndoReport:
    """What an undo did: contacts removed, contacts restored, and what it left alone."""

    removed: int = 0
    restored: int = 0
    kept: list[str] = field(default_factory=list)
    kept_count: int = 0

    @classmethod
    def of(cls, batch: ImportBatch) -> UndoReport:
        data = batch.undo_report or {}
        return cls(
            removed=int(data.get("removed", 0)),
            restored=int(data.get("restored", 0)),
            kept=list(data.get("kept", [])),
            kept_count=int(data.get("kept_count", 0)),
        )


def undo_is_stalled(batch: ImportBatch) -> bool:
    """Being undone by a worker that stopped reporting (killed, crashed, restarted)."""
    if batch.status != ImportBatch.Status.UNDOING:
        return False
    beat = batch.heartbeat_at
    return beat is None or (timezone.now() - beat).total_seconds() > STALLED_SECONDS


def import_undo_start(*, actor: Any, batch: ImportBatch, enqueue: bool = True) -> ImportBatch:
    """Queue the undo of a finished batch; a worker runs it (``import_undo_run``).
    With ``enqueue=False`` the caller runs it itself.

    Raises NotPermitted, or InvalidInput on ``status`` when the batch is running, was
    already undone (or is being undone), or was a dry run.
    """
    policy.require(actor, "imports.run")
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        resuming = undo_is_stalled(batch)
        if batch.status == ImportBatch.Status.UNDOING and not resuming:
            raise InvalidInput.single("status", "This import is already being undone.")
        active = (ImportBatch.Status.RUNNING, ImportBatch.Status.QUEUED)
        if batch.status in active and not services.is_stalled(batch):
            raise InvalidInput.single(
                "status", "This import is still running; undo it when it has stopped."
            )
        if batch.status == ImportBatch.Status.UNDONE:
            raise InvalidInput.single("status", "This import was already undone.")
        if batch.dry_run:
            raise InvalidInput.single(
                "status", "A dry run changed nothing; there is nothing to undo."
            )
        if batch.status == ImportBatch.Status.PENDING:
            raise InvalidInput.single("status", "This import has not started; nothing to undo.")
        # An undo that stopped half-way (its worker died, or it failed) carries on from
        # its cursors: what it already restored must not be taken for later edits.
        report = dict(batch.undo_report)
        report.setdefault("total", batch.changes.count())
        report.setdefault("done", 0)
        report["by"] = getattr(actor, "pk", None)
        claim = batch.claim + 1  # the row is locked and checked: this start claims it
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.UNDOING,
            status_before_undo=batch.status_before_undo if resuming else batch.status,
            undo_report=report,
            heartbeat_at=timezone.now(),
            claim=claim,
        )
    if enqueue:
        from rapport.ingest.tasks import run_undo

        transaction.on_commit(lambda: run_undo.enqueue(batch_id=batch.pk, claim=claim))
    batch.refresh_from_db()
    return batch


def import_undo(*, actor: Any, batch: ImportBatch) -> UndoReport:
    """Undo ``batch`` here and now (the command line): start, then run to the end."""
    batch = import_undo_start(actor=actor, batch=batch, enqueue=False)
    return import_undo_run(batch_id=batch.pk, claim=batch.claim)


def import_undo_run(
    *, batch_id: int, claim: int, progress: Callable[[int, int], None] | None = None
) -> UndoReport:
    """Run a queued undo to the end (or on from where a dead worker left it), as the
    holder of ``claim``, the claim ``import_undo_start`` took for it.

    Contacts and fields edited after the import are left as they are and listed in the
    report and the batch log; nothing anyone did later is overwritten. A contact counts
    as restored when a field the import changed was put back or a role it added removed.
    Raises ClaimLost, having stopped, once the undo was started again by someone else.
    """
    batch = ImportBatch.objects.get(pk=batch_id)
    if batch.status != ImportBatch.Status.UNDOING:
        return UndoReport.of(batch)
    held = jobs.Claim(ImportBatch, batch.pk, claim)
    held.confirm()  # a run of an earlier start stops here
    actor = get_user_model().objects.filter(pk=batch.undo_report.get("by")).first()
    if not policy.can(actor, "imports.run"):
        _stop(held, batch, "The user who asked for the undo may no longer import.")
        return UndoReport.of(batch)
    try:
        # Beats while it works, so a long page is never taken for a dead worker and
        # started a second time.
        with jobs.job_heartbeat(held):
            _restore_updated(held, batch, actor, progress)
            _remove_created(held, batch, actor, progress)
            _remove_organizations(held, batch, actor)
    except jobs.ClaimLost:
        raise  # the undo is another run's now
    except Exception as exc:
        _stop(held, batch, f"The undo stopped: {exc}. Start it again to carry on.")
        services.logger.exception("Undo of import %s stopped", batch.pk)
        raise
    batch.refresh_from_db()
    report = UndoReport.of(batch)
    held.update(status=ImportBatch.Status.UNDONE, undone_at=timezone.now())
    services._log(
        held,
        batch,
        f"Undone: {report.removed} contacts removed, {report.restored} restored, "
        f"{report.kept_count} kept.",
    )
    return report


def _stop(claim: jobs.Claim, batch: ImportBatch, message: str) -> None:
    """Give the batch back its status from before the undo, with the reason in the log."""
    batch.refresh_from_db(fields=["status_before_undo"])
    claim.update(status=batch.status_before_undo or ImportBatch.Status.DONE)
    services._log(claim, batch, message)


def _save_page(
    claim: jobs.Claim,
    batch: ImportBatch,
    *,
    done: int,
    cursor: tuple[str, int],
    **counts: Any,
) -> None:
    """Commit a page's counts and kept lines with the cursor after it (in the caller's
    transaction, so progress and work commit together)."""
    batch.refresh_from_db(fields=["undo_report", "log"])
    report = dict(batch.undo_report)
    report["done"] = report.get("done", 0) + done
    report[cursor[0]] = cursor[1]
    kept: list[str] = counts.pop("kept", [])
    for key, value in counts.items():
        report[key] = report.get(key, 0) + value
    report["kept"] = [*report.get("kept", []), *kept][:KEPT_LINES]
    report["kept_count"] = report.get("kept_count", 0) + len(kept)
    claim.update(undo_report=report, heartbeat_at=timezone.now())
    if kept:
        services._log(claim, batch, *kept)
    batch.undo_report = report


def _tell(batch: ImportBatch, progress: Callable[[int, int], None] | None) -> None:
    if progress is not None:
        progress(batch.undo_report.get("done", 0), batch.undo_report.get("total", 0))


def _restore_updated(
    claim: jobs.Claim, batch: ImportBatch, actor: Any, progress: Callable[[int, int], None] | None
) -> None:
    changes = batch.changes.filter(action=ImportChange.Action.UPDATED).order_by("-id")
    while True:
        after_id = batch.undo_report.get("updated_before")
        page = list((changes.filter(id__lt=after_id) if after_id else changes)[:UPDATED_PAGE])
        if not page:
            return
        with transaction.atomic():
            restored, kept = 0, []
            for change in page:
                contact = Contact.objects.filter(pk=change.contact_id).first()
                if contact is None:
                    continue
                now = services._comparable(
                    contact_services.contact_values(contact), contact, set(change.after)
                )
                restore = {
                    k: change.before[k]
                    for k in change.after
                    if now.get(k) == change.after[k] and k in change.before
                }
                edited = sorted(set(change.after) - set(restore))
                if edited:
                    kept.append(
                        f"{contact.display_name} (#{contact.pk}): {', '.join(edited)} edited "
                        "after the import; kept."
                    )
                if restore:
                    try:
                        contact_services.contact_update(
                            actor=actor, contact=contact, data=restore, via="import"
                        )
                    except (InvalidInput, Conflict, NotPermitted) as exc:
                        # One contact that can no longer take its old values (another
                        # now holds its external id, its owner left…) is reported and
                        # kept as it is; it must not stop the rest of the undo.
                        kept.append(
                            f"{contact.display_name} (#{contact.pk}) could not be restored "
                            f"({exc}); kept as it is."
                        )
                        continue
                    restored += 1
                elif _remove_roles(batch, actor, contact.pk, kept):
                    restored += 1  # the import only gave them a role; it is gone again
            _save_page(
                claim,
                batch,
                done=len(page),
                cursor=("updated_before", page[-1].pk),
                restored=restored,
                kept=kept,
            )
        _tell(batch, progress)


def _remove_roles(batch: ImportBatch, actor: Any, contact_id: int, kept: list[str]) -> bool:
    """Remove the roles the batch gave ``contact_id`` that nobody edited since."""
    removed = False
    roles = Affiliation.objects.filter(pk__in=batch.created_affiliation_ids, contact_id=contact_id)
    for affiliation in roles:
        if affiliation.version != 1:
            kept.append(f"A role at organization #{affiliation.organization_id} was edited; kept.")
            continue
        try:
            contact_services.affiliation_delete(actor=actor, affiliation=affiliation, via="import")
        except (InvalidInput, Conflict, NotPermitted) as exc:
            kept.append(
                f"A role at organization #{affiliation.organization_id} could not be removed "
                f"({exc}); kept."
            )
            continue
        removed = True
    return removed


def _remove_created(
    claim: jobs.Claim, batch: ImportBatch, actor: Any, progress: Callable[[int, int], None] | None
) -> None:
    """People the batch added go in bulk, a few thousand at a time, unless edited since."""
    created = batch.changes.filter(action=ImportChange.Action.CREATED).order_by("-id")
    while True:
        after_id = batch.undo_report.get("created_before")
        rows = list(
            (created.filter(id__lt=after_id) if after_id else created).values_list(
                "id", "contact_id", "version_after"
            )[:CREATED_PAGE]
        )
        if not rows:
            return
        with transaction.atomic():
            versions = {contact_id: version for _, contact_id, version in rows}
            removed = contact_services.contacts_delete(
                actor=actor, contact_ids=list(versions), versions=versions, via="import"
            )
            kept = [
                f"{name} (#{pk}) was edited after the import; kept."
                for pk, name in Contact.objects.filter(
                    pk__in=set(versions) - set(removed)
                ).values_list("pk", "display_name")
            ]
            _save_page(
                claim,
                batch,
                done=len(rows),
                cursor=("created_before", rows[-1][0]),
                removed=len(removed),
                kept=kept,
            )
        _tell(batch, progress)


@transaction.atomic
def _remove_organizations(claim: jobs.Claim, batch: ImportBatch, actor: Any) -> None:
    """The roles left (of people who stay) and the organizations the batch created."""
    kept: list[str] = []
    for affiliation in Affiliation.objects.filter(pk__in=batch.created_affiliation_ids):
        if affiliation.version != 1:
            kept.append(f"A role at organization #{affiliation.organization_id} was edited; kept.")
            continue
        contact_services.affiliation_delete(actor=actor, affiliation=affiliation, via="import")
    for org in Organization.objects.filter(pk__in=batch.created_organization_ids):
        if org.affiliations.exists() or org.version != 1:
            kept.append(f"Organization {org.name} (#{org.pk}) is in use or was edited; kept.")
            continue
        contact_services.organization_delete(actor=actor, org=org, via="import")
    _save_page(claim, batch, done=0, cursor=("organizations", 1), kept=kept)
