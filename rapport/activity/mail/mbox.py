"""Messages out of an mbox file, one at a time, in constant memory.

Handles what mbox files in the wild do: mboxo and mboxrd quoting (">From " in a body,
">>From " for a quoted one: one ">" is taken off), CRLF line ends, a file that does not
start with a "From " line (what comes before the first one is a message too), and
"From " at the start of a body line (a separator only after a blank line and when it
carries a time, as every "From_" line written by a mail program does). Each message
comes with its number and the byte offsets where it starts and where the next begins,
so a reading can resume at any message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

_SEPARATOR = re.compile(rb"^From \S*\s.*\d{1,2}:\d\d")
_QUOTED_FROM = re.compile(rb"^>+From ")
MAX_MESSAGE_BYTES = 200 * 1024 * 1024


@dataclass
class MboxMessage:
    number: int  # 1-based, in file order
    start: int  # byte offset of its "From " line (or of the file start)
    end: int  # byte offset where the next message starts
    raw: bytes
    too_large: bool = False


def _is_separator(line: bytes) -> bool:
    return line.startswith(b"From ") and bool(_SEPARATOR.match(line.rstrip(b"\r\n")))


def read_mbox(handle: BinaryIO, *, offset: int = 0, number: int = 0) -> Iterator[MboxMessage]:
    """The messages of an mbox file from byte ``offset`` (a message start), numbered on
    from ``number``. A message larger than MAX_MESSAGE_BYTES comes back empty with
    ``too_large`` set, its bytes skipped."""
    handle.seek(offset)
    position = offset
    start = offset
    lines: list[bytes] = []
    size = 0
    too_large = False
    previous_blank = True
    started = False  # any line of the current message seen (headerless start too)

    def finish(end: int) -> MboxMessage | None:
        body = b"".join(lines)
        if not started or (not body.strip() and not too_large):
            return None
        return MboxMessage(number + 1, start, end, b"" if too_large else body, too_large)

    while True:
        line = handle.readline()
        if not line:
            break
        here = position
        position += len(line)
        if previous_blank and _is_separator(line):
            message = finish(here)
            if message is not None:
                number += 1
                yield message
            lines, size, too_large, started = [], 0, False, True
            start = here
            previous_blank = False
            continue
        started = True
        previous_blank = line in (b"\n", b"\r\n")
        if too_large:
            continue
        if line.startswith(b">") and _QUOTED_FROM.match(line):
            line = line[1:]
        size += len(line)
        if size > MAX_MESSAGE_BYTES:
            too_large = True
            lines = []
            continue
        lines.append(line)
    message = finish(position)
    if message is not None:
        yield message


def looks_like_mbox(head: bytes) -> bool:
    """Whether a file's first bytes are an mbox's (a "From " line first)."""
    first = head.lstrip(b"\r\n").split(b"\n", 1)[0]
    return first.startswith(b"From ") and not first.startswith(b"From:")
