"""Writing a large export's chunks in a second process while this one reads the next.

Reading a chunk (the database's work and the driver's) and writing it (CSV cells or
vCard lines) cost about the same, and each is a single core's work in Python. Past the
first chunks, the rows read go to a forked worker process that writes them, while this
process reads the next chunk; the file's bytes come back in order. Small exports, and
systems without ``fork`` or with one core, never start a process.

At most one chunk is read ahead of the one being written, so memory stays bounded by a
few chunks. The worker only formats: it never uses the database connection it inherits,
and it ends with its parent's reads (closing the pipes ends it).
"""

from __future__ import annotations

import gc
import marshal
import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from typing import Any

# Chunks written here before a worker starts: starting one (a fork) costs milliseconds,
# about what a few chunks take to write.
SERIAL_CHUNKS = 5


def written(
    chunks: Iterable[Any], write: Callable[[Any], bytes], *, serial_chunks: int = SERIAL_CHUNKS
) -> Iterator[bytes]:
    """``write(chunk)`` for every chunk, in order; after the first ``serial_chunks``, in a
    worker process. Chunks must be what ``marshal`` can send (tuples, lists, str, int …).

    An error in the worker is raised here as a RuntimeError with its traceback.
    """
    rest = iter(chunks)
    for _ in range(serial_chunks):
        chunk = next(rest, None)
        if chunk is None:
            return
        yield write(chunk)
    if not _can_fork():
        for chunk in rest:
            yield write(chunk)
        return
    pending = next(rest, None)
    if pending is None:
        return
    context = multiprocessing.get_context("fork")
    results, worker_results = context.Pipe(duplex=False)
    worker_chunks, to_worker = context.Pipe(duplex=False)
    worker = context.Process(
        target=_work,
        args=(write, worker_chunks, worker_results, (to_worker, results)),
        daemon=True,
    )
    worker.start()
    worker_chunks.close()
    worker_results.close()
    try:
        to_worker.send_bytes(marshal.dumps(pending))
        while pending is not None:
            pending = next(rest, None)  # read while the worker writes the last one
            try:
                data = results.recv_bytes()
            except EOFError:
                raise RuntimeError("The export's writer process ended unexpectedly.") from None
            if data[:1] == b"!":
                raise RuntimeError("Writing the export failed:\n" + data[1:].decode())
            if pending is not None:
                to_worker.send_bytes(marshal.dumps(pending))
            yield data[1:]
    finally:
        to_worker.close()
        results.close()
        worker.join(timeout=5)
        if worker.is_alive():
            worker.kill()
            worker.join()


def _can_fork() -> bool:
    return (
        (os.cpu_count() or 1) > 1
        and "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon  # may not have children
    )


def _work(
    write: Callable[[Any], bytes],
    chunks: Connection,
    results: Connection,
    parents_ends: tuple[Connection, ...],
) -> None:
    """The worker: write each chunk received and send back its bytes ("=" first) or a
    traceback ("!" first), until the parent closes its end."""
    for end in parents_ends:  # the fork copied them; the parent's close must end the pipe
        end.close()
    # Formatting makes no reference cycles, and a collection would walk (and copy, page
    # by page) the whole heap inherited from the parent: a third of the time otherwise.
    gc.freeze()
    gc.disable()
    while True:
        try:
            chunk = marshal.loads(chunks.recv_bytes())
        except (EOFError, OSError):
            return
        try:
            data = b"=" + write(chunk)
        except BaseException:
            data = b"!" + traceback.format_exc().encode()
        try:
            results.send_bytes(data)
        except OSError:  # the parent stopped reading
            return
