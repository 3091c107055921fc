"""Background work for mailboxes: the periodic duty finds the mailboxes due, and one
task per mailbox syncs it (the sync's claim keeps one mailbox from syncing twice)."""

from __future__ import annotations

import logging

from django_tasks import task

from rapport.activity.mail.imap.sync import mailbox_sync, mailboxes_due
from rapport.core import jobs
from rapport.core.schedule import routine

logger = logging.getLogger(__name__)


@routine
@task()
@jobs.job_task
def sync_mailbox(mailbox_id: int, due_only: bool = True) -> None:
    """Sync one mailbox; logged at INFO when it logged or failed to log mail (a failed
    sync is a WARNING of the sync itself), at DEBUG when there was nothing new."""
    from rapport.activity.models import Mailbox

    try:
        result = mailbox_sync(mailbox_id=mailbox_id, due_only=due_only)
    except Mailbox.DoesNotExist:
        logger.info("Mailbox %s was removed before its sync started", mailbox_id)
        return
    busy = [f for f in result.folders if f.stored or f.failed or f.rescanned or f.error]
    if result.ran and busy:
        logger.info(
            "Mailbox %s synced: %s", mailbox_id, "; ".join(f.summary() for f in result.folders)
        )
    else:
        logger.debug("Mailbox %s: %s", mailbox_id, result.message or "nothing new")


def mailboxes_enqueue_due() -> None:
    """The periodic duty: a sync task for every mailbox that is due."""
    for mailbox_id in mailboxes_due():
        sync_mailbox.enqueue(mailbox_id=mailbox_id, due_only=True)
