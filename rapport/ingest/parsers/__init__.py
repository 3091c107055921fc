"""Importers are plugins behind one small interface: a file in, a table of text out.

Each parser turns a file into a ``Table``: the detected encoding (and delimiter), the
column headers, and a streaming iterator of rows, each a list of cell texts numbered
as a person would count them in the file (the header is row 1 in a spreadsheet). The
import engine maps columns to contact fields; parsers know nothing about contacts.

vCard files have no columns of their own: their parser emits one column per target
field path (``given_name``, ``emails[0].address``, …) so the mapping is the identity.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class UnreadableFile(Exception):
    """The file cannot be imported; the message says why in terms a person understands."""


@dataclass
class Table:
    """A parsed file: what was detected, the headers, and the rows (read lazily, once)."""

    file_format: str
    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]
    encoding: str = ""
    delimiter: str = ""
    identity_mapping: bool = False
    notes: list[str] = field(default_factory=list)


class Parser(Protocol):
    """What every file format provides."""

    file_format: str

    def accepts(self, *, file_name: str, head: bytes) -> bool:
        """True when this parser reads files that start with ``head``."""

    def open(self, path: Path, *, encoding: str | None = None) -> Table:
        """Parse the file; raise UnreadableFile with a clear reason when it cannot be read."""
