"""Progress for long commands: a live bar on a terminal, plain lines in a log.

A bar redraws itself with carriage returns; written to a file, a pipe or a service's
journal it leaves one garbled line of escape codes. So the bar is drawn only when its
stream is a terminal, and otherwise a plain line is written every LOG_EVERY seconds
and once at the end.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

LOG_EVERY = 10.0


class PlainProgress:
    """The part of tqdm's interface the commands use, writing whole lines."""

    def __init__(
        self, *, total: float | None, desc: str, unit: str, initial: float, file: IO[str]
    ) -> None:
        self.total = total
        self.n = initial
        self.desc = desc
        self.unit = unit
        self.file = file
        self._last_line = time.monotonic()
        self._closed = False

    def update(self, n: float = 1) -> None:
        self.n += n
        self.refresh(when_due=True)

    def refresh(self, when_due: bool = False) -> None:
        if when_due and time.monotonic() - self._last_line < LOG_EVERY:
            return
        self._last_line = time.monotonic()
        self._write()

    def _write(self) -> None:
        done = f"{self.n:,.0f}" + (f"/{self.total:,.0f}" if self.total else "")
        self.file.write(f"{self.desc + ': ' if self.desc else ''}{done}{self.unit}\n")
        self.file.flush()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._write()


class _Silent:
    total: float | None = None
    n: float = 0

    def update(self, n: float = 1) -> None:
        pass

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(
    *,
    total: float | None = None,
    desc: str = "",
    unit: str = "",
    initial: float = 0,
    disable: bool = False,
    file: IO[str] | None = None,
    **bar_options: Any,
) -> Any:
    """A tqdm bar on a terminal; plain progress lines elsewhere; nothing if ``disable``."""
    stream = file if file is not None else sys.stderr
    if disable:
        return _Silent()
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, initial=initial, file=stream, **bar_options)
    return PlainProgress(total=total, desc=desc, unit=unit, initial=initial, file=stream)
