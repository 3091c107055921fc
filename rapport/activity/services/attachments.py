"""Attachment files on disk, kept in step with the rows that point at them.

A file is written while its ``Attachment`` row is, in the same transaction; a file
system takes no part in a transaction, so what the database rolls back must be undone
on disk:

* a transaction that rolls back (a message that could not be stored, a chunk of an
  import or a batch of a mailbox sync redone one message at a time, a claim lost to
  another worker) deletes the files written inside it at once, when it ran in
  ``atomic_with_files`` — as every mail capture does;
* a process killed in the middle of such a transaction leaves files no row points at:
  the sweep (``attachment_files_sweep``, a periodic duty of the worker) deletes them
  once they are older than ``SWEEP_AGE``, longer than any transaction writing them
  stays open.

A file is deleted only after the transaction that deleted its row commits
(``attachment_files_discard``); a deletion cut short by a killed process leaves a file
no row points at, which the sweep deletes too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from rapport.activity.models import Attachment

logger = logging.getLogger(__name__)

FOLDER = "attachments/"  # where Attachment.file's upload_to puts them
# Older than this, a file no row points at cannot belong to a transaction still running
# (a chunk of mail commits within seconds to minutes): the sweep deletes it.
SWEEP_AGE = dt.timedelta(days=1)
_BATCH = 500

# The files written inside the innermost ``atomic_with_files`` block.
_written: ContextVar[list[str] | None] = ContextVar("attachment files written", default=None)


def _storage() -> Storage:
    return Attachment._meta.get_field("file").storage  # type: ignore[attr-defined, no-any-return]


def attachment_file_save(*, attachment: Attachment, content: bytes) -> None:
    """Write ``content`` as the file of ``attachment`` (a row about to be stored; it is
    not saved here), named after its ``filename`` under ``attachments/<year>/<month>/``.
    Inside ``atomic_with_files`` the file is deleted again if the transaction rolls
    back; a file left by a killed process is the sweep's. Raises OSError when the file
    cannot be written."""
    attachment.file.save(attachment.filename, ContentFile(content), save=False)
    written = _written.get()
    if written is not None:
        written.append(str(attachment.file.name))


def _delete(storage: Storage, names: Iterable[str]) -> None:
    for name in names:
        try:
            storage.delete(name)
        except OSError as exc:
            logger.warning("Attachment file %s could not be deleted (%s)", name, exc)


@contextlib.contextmanager
def atomic_with_files() -> Iterator[None]:
    """``transaction.atomic()`` that deletes the attachment files written inside it when
    it rolls back (their rows went with it). When it succeeds its files are handed to
    the enclosing ``atomic_with_files`` block, if any, which deletes them should it roll
    back in turn. Files of a transaction rolled back outside such a block are left to
    the sweep."""
    outer = _written.get()
    mine: list[str] = []
    token = _written.set(mine)
    try:
        with transaction.atomic():
            yield
    except BaseException:
        _written.reset(token)
        _delete(_storage(), mine)
        raise
    _written.reset(token)
    if outer is not None:
        outer.extend(mine)


def attachment_files_discard(*, attachments: QuerySet[Attachment]) -> None:
    """Have the files of ``attachments`` deleted once the current transaction commits:
    call it before deleting their rows (with their interactions). When the transaction
    rolls back, the files stay with their rows."""
    storage = _storage()
    names = list(attachments.exclude(file="").values_list("file", flat=True))
    if names:
        transaction.on_commit(functools.partial(_delete, storage, names), robust=True)


@dataclass
class FileSweep:
    """What one sweep did."""

    looked_at: int = 0  # files older than the sweep's age
    removed: int = 0  # of them, those no row points at


def _files(storage: Storage, folder: str) -> Iterator[str]:
    """Every file under ``folder`` (a name relative to the storage, ending in "/")."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield folder + name
    for name in sorted(folders):
        yield from _files(storage, f"{folder}{name}/")


def _older(storage: Storage, name: str, before: dt.datetime) -> bool:
    try:
        return storage.get_modified_time(name) < before
    except FileNotFoundError:
        return False  # deleted meanwhile


def _batches(names: Iterable[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for name in names:
        batch.append(name)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def attachment_files_sweep(
    *, now: dt.datetime | None = None, age: dt.timedelta = SWEEP_AGE
) -> FileSweep:
    """Delete the files under ``attachments/`` that no ``Attachment`` row points at and
    that are older than ``age`` (so none that a transaction still running has just
    written). Reads the folder and asks the database once per 500 such files (an
    indexed lookup); safe while mail is captured and other sweeps run. Logs at INFO
    only when it deleted something."""
    storage = _storage()
    before = (now or timezone.now()) - age
    sweep = FileSweep()
    old = (name for name in _files(storage, FOLDER) if _older(storage, name, before))
    for batch in _batches(old):
        kept = set(Attachment.objects.filter(file__in=batch).values_list("file", flat=True))
        unused = [name for name in batch if name not in kept]
        _delete(storage, unused)
        sweep.looked_at += len(batch)
        sweep.removed += len(unused)
    if sweep.removed:
        logger.info(
            "Attachment files: %d that no interaction holds removed (of %d older than %s)",
            sweep.removed,
            sweep.looked_at,
            age,
        )
    else:
        logger.debug("Attachment files: none to remove (%d looked at)", sweep.looked_at)
    return sweep
