"""Finding the header row of a sheet whose first lines may be notes rather than columns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rapport.ingest.parsers import MAX_COLUMNS, UnreadableFile

# How far down a header row is looked for.
MAX_PREAMBLE_ROWS = 20


def filled_width(cells: Sequence[str]) -> int:
    """How many cells the row spans up to its last one with text."""
    for index in range(len(cells) - 1, -1, -1):
        if cells[index].strip():
            return index + 1
    return 0


def find_header(records: Sequence[Sequence[str]]) -> int:
    """Index of the header: the first row about as wide as the rows that follow.

    A first row much narrower than the typical row ("Notes:", an export date) is a
    preamble, not the header. Raises ``UnreadableFile`` when no row has any text.
    """
    filled = [(i, w) for i, w in ((i, filled_width(r)) for i, r in enumerate(records)) if w]
    if not filled:
        raise UnreadableFile("The file holds no text, only empty rows or spaces.")
    widths = Counter(w for _, w in filled)
    typical = max(widths.items(), key=lambda item: (item[1], item[0]))[0]
    for index, width in filled[:MAX_PREAMBLE_ROWS]:
        if typical < 2 or width >= max(2, typical * 0.8):
            return index
    return filled[0][0]


def typical_width(header: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """How many columns the table has: the header's, or more when most rows reach further.

    Rows that hold text past the last header cell in half the sample or more get named
    columns ("Column 9"); a few ragged rows do not widen the table.
    """
    width = filled_width(header)
    widths = sorted(filled_width(row) for row in rows if filled_width(row))
    if widths:
        width = max(width, widths[(len(widths) - 1) // 2])
    return min(width, MAX_COLUMNS)


def preview(records: Sequence[Sequence[str]]) -> str:
    """The start of some rows' text, for a note about rows that were skipped."""
    text = " ".join(" ".join(cell for cell in r if cell.strip()) for r in records)
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "…"
