"""What ``rapport mail sync [MAILBOX]`` runs: sync one mailbox (by id or name), or every
mailbox that is due, in this process, printing what each folder brought."""

from __future__ import annotations

from typing import TextIO

from rapport.activity.mail.imap.sync import SyncResult, mailbox_sync, mailboxes_due
from rapport.activity.models import Mailbox
from rapport.core import jobs


def _find(name: str) -> list[Mailbox]:
    if name.isdecimal():
        found = list(Mailbox.objects.filter(pk=int(name)).select_related("owner"))
        if found:
            return found
    return list(Mailbox.objects.filter(name=name).select_related("owner"))


def _print(mailbox: Mailbox, result: SyncResult, stdout: TextIO) -> None:
    owner = mailbox.owner.get_username()
    stdout.write(f"Mailbox {mailbox.pk} “{mailbox.name}” ({owner}): {result.message}\n")
    for folder in result.folders:
        stdout.write(f"  {folder.summary()}\n")


def mailboxes_sync_cli(name: str | None, stdout: TextIO) -> int:
    """Sync the mailbox called ``name`` (an id or a name), or with None every mailbox
    that is due, now. Returns 0 when every sync went well, 1 otherwise (the reason is
    printed), 2 when no such mailbox exists or a name fits several."""
    if name is None:
        ids = mailboxes_due()
        if not ids:
            stdout.write("No mailbox is due for a sync.\n")
            return 0
        targets = list(Mailbox.objects.filter(pk__in=ids).select_related("owner"))
        force = False
    else:
        targets = _find(name)
        if not targets:
            stdout.write(f"There is no mailbox with the id or name {name!r}.\n")
            return 2
        if len(targets) > 1:
            owners = ", ".join(f"{m.pk} ({m.owner.get_username()})" for m in targets)
            stdout.write(f"Several mailboxes are called {name!r}; give the id: {owners}.\n")
            return 2
        force = True
    code = 0
    for mailbox in targets:
        try:
            result = mailbox_sync(mailbox_id=mailbox.pk, due_only=not force)
        except jobs.ClaimLost as exc:
            stdout.write(f"Mailbox {mailbox.pk} “{mailbox.name}”: {exc}\n")
            code = 1
            continue
        _print(mailbox, result, stdout)
        if not result.ran or result.status != Mailbox.Status.OK:
            code = 1
    return code
