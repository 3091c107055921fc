"""An import's rows read and validated ahead of saving: in a second process for big files.

Reading a row through the mapping and validating the person in it is most of an
import's work, and it needs no database once the reference data (tags, users, custom
field definitions) has been read. For a file of more than one chunk a forked process
does it for the next chunks while this one saves the current chunk, so on a machine
with two cores the two halves overlap. Smaller files are validated here, in one go.

A draft is advice, not a verdict: the saving side still matches every draft against
the contacts saved since (a row whose email or external id now belongs to someone
updates that person instead), and a row that did not validate goes through the
one-row path, which validates it again against the database and reports its errors.
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from django.db import connections

from rapport.contacts import services as contact_services
from rapport.core.errors import InvalidInput
from rapport.ingest.models import ImportBatch
from rapport.ingest.records import (
    RowRecord,
    build_record,
    contact_data,
    drop_optional,
    row_external_ids,
)

# A row as read: (row number, cells), cells None when the row could not be read.
Row = tuple[int, Any]
# What validation made of a row: its record and, for a valid new person, a draft.
Prepared = tuple[RowRecord, contact_services.ContactDraft | None] | None

# Chunks handed to the validating process before their turn; bounds the memory used.
AHEAD = 2


class ChunkValidator:
    """Builds each row's record and validates the person in it as a new contact."""

    def __init__(
        self, batch: ImportBatch, actor: Any, lookups: contact_services.Lookups | None
    ) -> None:
        self.mapping = dict(batch.mapping)
        self.headers = list(batch.headers)
        self.source = batch.source
        self.actor = actor
        self.drafts = batch.mode != ImportBatch.Mode.UPDATE
        self.lookups = lookups  # None: read what each chunk needs from the database

    def __call__(self, chunk: Sequence[Row]) -> list[Prepared]:
        records = [
            build_record(self.mapping, self.headers, cells) if cells is not None else None
            for _, cells in chunk
        ]
        if not self.drafts:
            return [(record, None) if record is not None else None for record in records]
        lookups = self.lookups
        if lookups is None:
            lookups = contact_services.Lookups()
            lookups.load_external_owners(
                {
                    pair
                    for record in records
                    if record is not None
                    for pair in row_external_ids(record, self.source).items()
                }
            )
        return [
            (record, self.draft(record, lookups)) if record is not None else None
            for record in records
        ]

    def draft(
        self, record: RowRecord, lookups: contact_services.Lookups
    ) -> contact_services.ContactDraft | None:
        if record.empty:
            return None
        for attempt in range(2):
            try:
                return contact_services.contact_draft(
                    actor=self.actor,
                    data=contact_data(record, self.source),
                    lookups=lookups,
                    role={"title": record.title, "department": record.department},
                )
            except InvalidInput as exc:
                # A bad optional value (a website) is left out, and the row tried again.
                if attempt or not drop_optional(record, exc.errors):
                    break
        return None  # the one-row path reports it, or finds whom the row updates


class ValidatedChunks:
    """The rows in chunks of ``size``, each with what validation made of its rows.

    Use as a context manager, so the validating process ends with the import::

        with ValidatedChunks(batch, actor, rows, 500) as chunks:
            for chunk, prepared in chunks: ...
    """

    def __init__(self, batch: ImportBatch, actor: Any, rows: Iterator[Row], size: int) -> None:
        self.batch = batch
        self.actor = actor
        self.rows = rows
        self.size = size
        self.executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> ValidatedChunks:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None

    def __iter__(self) -> Iterator[tuple[list[Row], list[Prepared]]]:
        first = self.next_chunk()
        second = self.next_chunk() if len(first) == self.size else []
        forkable = sys.platform == "linux"  # fork, and a child that dies with its parent
        if not second or self.batch.mode == ImportBatch.Mode.UPDATE or not forkable:
            validate = ChunkValidator(self.batch, self.actor, lookups=None)
            for chunk in itertools.chain((first, second), iter(self.next_chunk, [])):
                if chunk:
                    yield chunk, validate(chunk)
            return
        pending: deque[tuple[list[Row], Future[list[Prepared]]]] = deque()
        pending.append((first, self.start(first)))
        assert self.executor is not None
        pending.append((second, self.executor.submit(_validate_in_worker, second)))
        while pending:
            while len(pending) < AHEAD and (chunk := self.next_chunk()):
                assert self.executor is not None
                pending.append((chunk, self.executor.submit(_validate_in_worker, chunk)))
            chunk, future = pending.popleft()
            yield chunk, future.result()

    def next_chunk(self) -> list[Row]:
        return list(itertools.islice(self.rows, self.size))

    def start(self, first: list[Row]) -> Future[list[Prepared]]:
        """Fork the validating process, handing it the reference data, and give it ``first``."""
        global _worker_validator
        validator = ChunkValidator(
            self.batch, self.actor, lookups=contact_services.Lookups.snapshot()
        )
        with _fork_lock:  # the process inherits the validator at the fork, at first submit
            _worker_validator = validator
            self.executor = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_worker_started,
                initargs=(os.getpid(),),
            )
            try:
                return self.executor.submit(_validate_in_worker, first)
            finally:
                _worker_validator = None


_PR_SET_PDEATHSIG = 1  # prctl(2)
_fork_lock = threading.Lock()
# Set only while the validating process is forked, which inherits it.
_worker_validator: ChunkValidator | None = None


def _worker_started(importer: int) -> None:
    """In the validating process: die with the importer, leave Ctrl-C to it, make no
    queries, and collect no garbage in the inherited heap."""
    # Killed with the importer: it holds a copy of the importer's database connection,
    # which must close when the importer goes, so the server ends its transaction.
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0 or os.getppid() != importer:
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()
    for connection in connections.all(initialized_only=True):
        connection.execute_wrappers.append(_refuse_query)


def _validate_in_worker(chunk: list[Row]) -> list[Prepared]:
    assert _worker_validator is not None, "the validating process has no validator"
    return _worker_validator(chunk)


def _refuse_query(*args: Any) -> Any:
    # The connection is the importer's; a query from here would corrupt its session.
    raise RuntimeError("The validating process may not use the database.")
