"""Syncing one mailbox: new mail from each chosen folder into the mail intake.

Per folder, the sync stands at (UIDVALIDITY, highest UID recorded). It asks the server
for the folder's STATUS first; when UIDVALIDITY, UIDNEXT and (with CONDSTORE) the
HIGHESTMODSEQ are what they were, nothing changed and the folder costs one round trip.
Otherwise it reads the messages above the highest UID in batches (``BODY.PEEK[]``, so
nothing is marked read) and hands each to ``mail_capture``. Every 50 messages commit in
one transaction together with one ``MailboxMessage`` per UID (what became of it, and
why) and the folder's new highest UID, so a worker killed mid-sync resumes after the
last commit: no duplicates, no gaps. The folder's UIDVALIDITY is recorded before any
message under it, so that holds too when the folder was renumbered while the sync lay
dead. When the server renumbers a folder (UIDVALIDITY changed) the folder is read again
from the start; messages already logged come back "joined" (Message-ID), never as
duplicates.

The reconcile step then compares the UIDs the server has with the UIDs recorded: those
never recorded are processed now, and the counts go into the folder's report, so no
message is skipped without a reason one can see. It runs after every change, and at
least once a day.

Failures (``MailboxFault``) put the mailbox in back-off: the next attempt waits one
minute, doubling with each failure up to six hours. A fault that needs the owner (wrong
password, certificate, vanished folder), or one that keeps coming back, turns the status
to "error" and notifies the owner once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from rapport.activity.mail.imap.connection import (
    FolderVanished,
    MailboxFault,
    Server,
    sent_folder,
    session,
)
from rapport.activity.mail.imap.passwords import (
    PasswordUnreadable,
    password_decrypt,
    password_rotated,
)
from rapport.activity.mail.intake import (
    CaptureRun,
    MailOutcome,
    Policy,
    mail_capture,
    read_mail,
)
from rapport.activity.models import (
    Interaction,
    Mailbox,
    MailboxFolder,
    MailboxMessage,
    Notification,
)
from rapport.activity.services.attachments import atomic_with_files
from rapport.activity.services.participants import Directory
from rapport.core import jobs
from rapport.env import env_int

logger = logging.getLogger(__name__)

BATCH_SIZE = 200  # UIDs fetched at a time
# messages captured per transaction: short enough that other writers (on SQLite, the
# whole database) never wait long, long enough that commits cost little
COMMIT_EVERY = 50
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
# passing faults in a row before the mailbox counts as broken (about half an hour)
FAILURES_BEFORE_ERROR = 5
RECONCILE_EVERY = timedelta(hours=24)
STARTABLE = (Mailbox.Status.OK, Mailbox.Status.ERROR, Mailbox.Status.BACKING_OFF)


def sync_interval() -> timedelta:
    """How often a healthy mailbox is synced: ``RAPPORT_MAILBOX_SYNC_MINUTES`` (5)."""
    return timedelta(minutes=max(1, env_int("RAPPORT_MAILBOX_SYNC_MINUTES", 5)))


def max_message_bytes() -> int:
    """Messages above ``RAPPORT_MAILBOX_MAX_MESSAGE_MB`` (25) are logged from their
    headers only."""
    return max(1, env_int("RAPPORT_MAILBOX_MAX_MESSAGE_MB", 25)) * 1024 * 1024


def retry_delay(failures: int) -> timedelta:
    """One minute after the first failure, doubling, at most six hours."""
    return min(FIRST_RETRY * (2 ** min(max(failures - 1, 0), 20)), LONGEST_RETRY)


@dataclass
class FolderResult:
    """What one folder's sync did in this run."""

    name: str
    seen: int = 0
    stored: int = 0
    joined: int = 0
    skipped: int = 0
    failed: int = 0
    unchanged: bool = False
    rescanned: bool = False
    report: str = ""
    error: str = ""

    def count(self, outcome: str) -> None:
        self.seen += 1
        setattr(self, outcome, getattr(self, outcome) + 1)

    def summary(self) -> str:
        if self.error:
            return f"{self.name}: {self.error}"
        if self.unchanged:
            return f"{self.name}: nothing new"
        text = (
            f"{self.name}: {self.seen} read, {self.stored} logged, {self.joined} already "
            f"known, {self.skipped} skipped, {self.failed} failed"
        )
        return text + (f". {self.report}" if self.report else "")


@dataclass
class SyncResult:
    """What a sync run did: ``ran`` is False when it did not start (another process is
    syncing the mailbox, it is paused, or not due), ``message`` says why or how it went."""

    mailbox_id: int
    ran: bool
    status: str
    message: str = ""
    folders: list[FolderResult] = field(default_factory=list)


# Called after each message with the folder name and UID (progress display, tests).
Progress = Callable[[str, int], None]


def _claim(mailbox: Mailbox, *, due_only: bool) -> jobs.Claim | None:
    """Mark the mailbox syncing for this process in one conditional UPDATE; None when
    another live process syncs it, it is paused, or (``due_only``) not due yet."""
    now = timezone.now()
    stale = Q(status=Mailbox.Status.SYNCING) & (
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - jobs.stale_after())
    )
    condition = Q(status__in=STARTABLE) | stale
    if due_only:
        condition &= Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimed = Mailbox.objects.filter(condition, pk=mailbox.pk, claim=mailbox.claim).update(
        status=Mailbox.Status.SYNCING, heartbeat_at=now, claim=mailbox.claim + 1
    )
    return jobs.Claim(Mailbox, mailbox.pk, mailbox.claim + 1) if claimed else None


def mailbox_sync(
    *,
    mailbox_id: int,
    due_only: bool = False,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> SyncResult:
    """Sync one mailbox now, in this process: every chosen folder, then reconcile.

    Returns what it did; never raises for what the server does (faults go into the
    mailbox's status, with back-off). Raises ``jobs.ClaimLost`` if another process took
    the mailbox over meanwhile. ``due_only`` skips a mailbox whose next attempt is not
    due yet (the background duty); "sync now" and the CLI leave it False.
    """
    mailbox = Mailbox.objects.select_related("owner").get(pk=mailbox_id)
    previous = mailbox.status
    claim = _claim(mailbox, due_only=due_only)
    if claim is None:
        mailbox.refresh_from_db(fields=["status", "next_attempt_at"])
        if mailbox.status == Mailbox.Status.DISABLED:
            why = "it is paused"
        elif mailbox.status == Mailbox.Status.SYNCING:
            why = "it is being synced already"
        else:
            why = "it is not due yet"
        return SyncResult(mailbox.pk, False, mailbox.status, f"Not synced: {why}.")
    if mailbox.policy == Policy.OFF:
        claim.update(
            status=Mailbox.Status.OK,
            last_error="",
            consecutive_failures=0,
            next_attempt_at=timezone.now() + sync_interval(),
        )
        return SyncResult(mailbox.pk, True, "ok", "Logging is off for this mailbox: not synced.")
    results: list[FolderResult] = []
    try:
        with jobs.job_heartbeat(claim):
            server = Server(
                mailbox.host,
                mailbox.port,
                mailbox.security,
                mailbox.username,
                password_decrypt(mailbox.password_encrypted),
            )
            with session(server) as client:
                folders = _folders_to_sync(client, mailbox, claim)
                directory = Directory()
                for name in folders:
                    try:
                        results.append(
                            _folder_sync(
                                client, mailbox, claim, name, directory, progress, batch_size
                            )
                        )
                    except FolderVanished as vanished:
                        results.append(FolderResult(name, error=str(vanished)))
                        MailboxFolder.objects.filter(mailbox=mailbox, name=name).update(
                            error=str(vanished)
                        )
    except jobs.ClaimLost:
        raise
    except (MailboxFault, PasswordUnreadable) as fault:
        lasting = isinstance(fault, PasswordUnreadable) or fault.lasting
        return _failed(mailbox, claim, previous, str(fault), lasting=lasting, folders=results)
    except Exception as exc:  # a fault of ours must not stop the mailbox for good
        logger.exception("Sync of mailbox %s failed", mailbox.pk)
        message = f"The sync stopped on an unexpected error ({type(exc).__name__}: {exc})."
        return _failed(mailbox, claim, previous, message, lasting=False, folders=results)
    errors = [r.error for r in results if r.error]
    if errors:
        return _failed(mailbox, claim, previous, " ".join(errors), lasting=True, folders=results)
    changes: dict[str, Any] = {}
    rotated = password_rotated(mailbox.password_encrypted)
    if rotated:
        changes["password_encrypted"] = rotated
    now = timezone.now()
    claim.update(
        status=Mailbox.Status.OK,
        last_sync_at=now,
        last_error="",
        consecutive_failures=0,
        next_attempt_at=now + sync_interval(),
        heartbeat_at=now,
        **changes,
    )
    return SyncResult(mailbox.pk, True, Mailbox.Status.OK, "Synced.", results)


def _failed(
    mailbox: Mailbox,
    claim: jobs.Claim,
    previous: str,
    message: str,
    *,
    lasting: bool,
    folders: list[FolderResult],
) -> SyncResult:
    failures = mailbox.consecutive_failures + 1
    now = timezone.now()
    retry_at = now + retry_delay(failures)
    broken = lasting or failures >= FAILURES_BEFORE_ERROR
    status = Mailbox.Status.ERROR if broken else Mailbox.Status.BACKING_OFF
    local = timezone.localtime(retry_at, timezone.get_current_timezone())
    text = f"{message} Next attempt at {local:%H:%M} ({failures} failed attempt"
    text += "s in a row)." if failures != 1 else " so far)."
    with transaction.atomic():
        claim.update(
            status=status,
            last_error=text,
            consecutive_failures=failures,
            next_attempt_at=retry_at,
            heartbeat_at=now,
        )
        if status == Mailbox.Status.ERROR and previous != Mailbox.Status.ERROR:
            Notification.objects.create(
                user=mailbox.owner,
                kind=Notification.Kind.MAILBOX,
                title=f"Mailbox “{mailbox.name}” needs attention"[:300],
                body=message,
                url=reverse("activity:mailbox", args=[mailbox.pk]),
            )
    logger.warning("Mailbox %s (%s): %s", mailbox.pk, status, text)
    return SyncResult(mailbox.pk, True, status, text, folders)


def _folders_to_sync(client: IMAPClient, mailbox: Mailbox, claim: jobs.Claim) -> list[str]:
    """The chosen folders; without a choice, INBOX and the Sent folder (found by its
    \\Sent flag or a common name), remembered so that a vanished one is noticed."""
    if mailbox.folders:
        return [str(name) for name in mailbox.folders]
    folders = ["INBOX"]
    sent = sent_folder(client)
    if sent and sent.upper() != "INBOX":
        folders.append(sent)
    claim.update(folders=folders)
    mailbox.folders = folders
    return folders


def _folder_status(client: IMAPClient, name: str, condstore: bool) -> dict[bytes, int]:
    items = [b"UIDVALIDITY", b"UIDNEXT", b"MESSAGES"] + ([b"HIGHESTMODSEQ"] if condstore else [])
    try:
        return dict(client.folder_status(name, items))
    except IMAPClientError:
        if not client.folder_exists(name):
            raise FolderVanished(name) from None
        raise


def _folder_sync(
    client: IMAPClient,
    mailbox: Mailbox,
    claim: jobs.Claim,
    name: str,
    directory: Directory,
    progress: Progress | None,
    batch_size: int,
) -> FolderResult:
    condstore = client.has_capability("CONDSTORE")
    status = _folder_status(client, name, condstore)
    uidvalidity = int(status[b"UIDVALIDITY"])
    uidnext = int(status.get(b"UIDNEXT", 0))
    modseq = int(status[b"HIGHESTMODSEQ"]) if b"HIGHESTMODSEQ" in status else None
    folder, _ = MailboxFolder.objects.get_or_create(mailbox=mailbox, name=name)
    result = FolderResult(name)
    now = timezone.now()
    if folder.uidvalidity != uidvalidity:
        # The numbering is recorded before any message under it: a sync killed half-way
        # resumes knowing which numbering its recorded UIDs belong to, and notices a
        # renumbering that happened meanwhile.
        changes: dict[str, Any] = {"uidvalidity": uidvalidity}
        with transaction.atomic():
            claim.confirm()
            if folder.uidvalidity is not None:  # renumbered: read it again from the start
                folder.messages.all().delete()
                changes.update(
                    highest_uid=0,
                    highest_modseq=None,
                    seen=0,
                    stored=0,
                    joined=0,
                    skipped=0,
                    failed=0,
                )
                result.rescanned = True
            MailboxFolder.objects.filter(pk=folder.pk).update(**changes)
        folder.refresh_from_db()
    reconcile_due = folder.reconciled_at is None or now - folder.reconciled_at > RECONCILE_EVERY
    unchanged = (
        not result.rescanned
        and folder.uidvalidity == uidvalidity
        and uidnext <= folder.highest_uid + 1
        and (modseq is None or modseq == folder.highest_modseq)
    )
    if unchanged and not reconcile_due:
        MailboxFolder.objects.filter(pk=folder.pk).update(last_sync_at=now, error="")
        result.unchanged = True
        return result
    client.select_folder(name, readonly=True)
    highest = folder.highest_uid
    new = sorted(uid for uid in client.search(["UID", f"{highest + 1}:*"]) if uid > highest)
    for start in range(0, len(new), batch_size):
        chunk = new[start : start + batch_size]
        for outcome in _capture(client, mailbox, claim, folder, chunk, directory, progress):
            result.count(outcome)
    result.report = _reconcile(
        client, mailbox, claim, folder, directory, result, batch_size, progress
    )
    if result.rescanned:
        result.report = (
            "The server renumbered this folder (UIDVALIDITY changed), so it was read again; "
            "messages already logged were recognised by their Message-ID. " + result.report
        )
    MailboxFolder.objects.filter(pk=folder.pk).update(
        uidvalidity=uidvalidity,
        highest_modseq=modseq,
        last_sync_at=timezone.now(),
        reconciled_at=timezone.now(),
        reconcile_report=result.report,
        error="",
    )
    return result


def _capture(
    client: IMAPClient,
    mailbox: Mailbox,
    claim: jobs.Claim,
    folder: MailboxFolder,
    uids: list[int],
    directory: Directory,
    progress: Progress | None,
) -> list[str]:
    """Read ``uids`` from the selected folder and capture each, recording every UID's
    outcome and the folder's new highest UID in the same transaction as its capture;
    returns the outcomes."""
    limit = max_message_bytes()
    sizes = client.fetch(uids, ["RFC822.SIZE"])
    small = [uid for uid in uids if int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0)) <= limit]
    large = [uid for uid in uids if uid in sizes and uid not in small]
    bodies = {u: d.get(b"BODY[]") for u, d in client.fetch(small, ["BODY.PEEK[]"]).items()}
    heads = (
        {u: d.get(b"BODY[HEADER]") for u, d in client.fetch(large, ["BODY.PEEK[HEADER]"]).items()}
        if large
        else {}
    )
    outcomes: list[str] = []
    for start in range(0, len(uids), COMMIT_EVERY):
        chunk = uids[start : start + COMMIT_EVERY]
        outcomes += _commit(
            chunk, bodies, heads, sizes, mailbox, claim, folder, directory, progress
        )
    return outcomes


def _commit(
    uids: list[int],
    bodies: dict[int, Any],
    heads: dict[int, Any],
    sizes: dict[int, Any],
    mailbox: Mailbox,
    claim: jobs.Claim,
    folder: MailboxFolder,
    directory: Directory,
    progress: Progress | None,
) -> list[str]:
    """Capture ``uids`` and record them with the folder's new highest UID, in one
    transaction that commits only while this process still holds the mailbox."""
    records: list[MailboxMessage] = []
    outcomes: list[str] = []
    with atomic_with_files():
        claim.confirm()
        present = [uid for uid in uids if (bodies.get(uid) or heads.get(uid)) is not None]
        captured = dict(
            zip(
                present,
                _capture_many(
                    [bytes(bodies.get(uid) or heads[uid]) for uid in present], mailbox, directory
                ),
                strict=True,
            )
        )
        for uid in uids:
            note = ""
            if uid not in captured:
                outcome = MailOutcome(
                    "skipped", "the message was deleted from the server before it could be read"
                )
            else:
                if uid in heads:
                    size = int(sizes[uid][b"RFC822.SIZE"]) / (1024 * 1024)
                    note = f"larger than the limit ({size:.0f} MB): logged from its headers only"
                outcome = captured[uid]
            reason = "; ".join(part for part in (outcome.reason, note) if part)
            records.append(
                MailboxMessage(
                    folder=folder,
                    uid=uid,
                    message_id=(outcome.message_id or "")[:500],
                    outcome=outcome.status,
                    reason=reason,
                    interaction_id=outcome.interaction_id,
                )
            )
            outcomes.append(outcome.status)
            if progress:
                progress(folder.name, uid)
        MailboxMessage.objects.bulk_create(records)
        tally = {key: outcomes.count(key) for key in ("stored", "joined", "skipped", "failed")}
        highest = max(folder.highest_uid, *uids)
        MailboxFolder.objects.filter(pk=folder.pk).update(
            highest_uid=highest,
            seen=F("seen") + len(uids),
            **{key: F(key) + count for key, count in tally.items()},
        )
    folder.highest_uid = highest
    return outcomes


def _capture_many(raws: list[bytes], mailbox: Mailbox, directory: Directory) -> list[MailOutcome]:
    """Capture a batch's messages together: their addresses looked up at once, no
    savepoint per message, "last contacted" written once. When any of them fails to
    store, the batch is rolled back and redone one message at a time, so a bad message
    stops only itself."""
    run = CaptureRun(directory, deferred=True)
    readings = [read_mail(raw, policy=mailbox.policy) for raw in raws]
    run.prepare(readings)
    mark = run.mark()
    try:
        with atomic_with_files():
            outcomes = [
                mail_capture(
                    raw,
                    owner=mailbox.owner,
                    source=Interaction.Source.MAILBOX,
                    policy=mailbox.policy,
                    run=run,
                    parsed=mail,
                    isolated=False,
                )
                for raw, mail in zip(raws, readings, strict=True)
            ]
            run.flush()
            return outcomes
    except Exception:  # noqa: BLE001 (redone one by one below)
        run.rewind(mark)
    return [_capture_one(raw, mailbox, directory) for raw in raws]


def _capture_one(raw: bytes, mailbox: Mailbox, directory: Directory) -> MailOutcome:
    try:
        with atomic_with_files():
            outcome = mail_capture(
                raw,
                owner=mailbox.owner,
                source=Interaction.Source.MAILBOX,
                policy=mailbox.policy,
                directory=directory,
            )
    except Exception as exc:  # noqa: BLE001 (one message never stops the rest)
        logger.exception("Capturing a message of mailbox %s failed", mailbox.pk)
        return MailOutcome("failed", f"{type(exc).__name__}: {exc}")
    if outcome.status not in ("stored", "joined", "skipped", "failed"):
        return MailOutcome("failed", f"unexpected outcome {outcome.status!r}: {outcome.reason}")
    return outcome


def _reconcile(
    client: IMAPClient,
    mailbox: Mailbox,
    claim: jobs.Claim,
    folder: MailboxFolder,
    directory: Directory,
    result: FolderResult,
    batch_size: int,
    progress: Progress | None,
) -> str:
    """Compare the server's UIDs with the recorded ones; process those never recorded
    and say, in words, what was found."""
    on_server = set(client.search(["ALL"]))
    recorded = set(MailboxMessage.objects.filter(folder=folder).values_list("uid", flat=True))
    missing = sorted(on_server - recorded)
    for start in range(0, len(missing), batch_size):
        chunk = missing[start : start + batch_size]
        for outcome in _capture(client, mailbox, claim, folder, chunk, directory, progress):
            result.count(outcome)
    gone = len(recorded - on_server)
    report = f"Reconciled: the server has {len(on_server)}, all recorded"
    if missing:
        report += f" ({len(missing)} had not been recorded and were read now)"
    if gone:
        report += f"; {gone} recorded earlier are no longer on the server"
    return report + "."


def mailboxes_due(now: datetime | None = None) -> list[int]:
    """Ids of the mailboxes whose next sync is due, or whose sync lost its worker."""
    now = now or timezone.now()
    due = Q(status__in=STARTABLE) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    dead = Q(status=Mailbox.Status.SYNCING) & (
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - jobs.stale_after())
    )
    return list(
        Mailbox.objects.filter(due | dead)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)
    )
