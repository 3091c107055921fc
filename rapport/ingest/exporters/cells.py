"""Spreadsheet cells that cannot run as formulas, and the exact way back.

A CSV cell starting with ``= + - @`` (or a tab or carriage return, which some
spreadsheets skip before reading a formula) is run as a formula when the file is opened
in Excel, LibreOffice or Google Sheets. Exports prefix such cells with one apostrophe,
the spreadsheets' own mark for "this is text": ``=cmd()`` is written ``'=cmd()``.

A cell that starts with ``+`` or ``-`` and holds nothing but digits, spaces and the
punctuation of numbers (``( ) . - /``) is written as it is: without a letter, a ``!``,
a ``|`` or a quote it can name no function, cell, sheet or DDE command, so at worst a
spreadsheet reads it as a number. Phone numbers in international form
(``+1 212 555 0100``, ``+12125550100``) and negative amounts stay clean that way
(OWASP "CSV Injection": the danger is a formula, not a leading sign).

The escape is reversible, so a file exported by Rapport imports back unchanged:
``formula_unescape`` removes one leading apostrophe when a trigger character or another
apostrophe follows it, and ``formula_escape`` also prefixes values that already start
with such an apostrophe pair. Other text starting with an apostrophe (``'tis``) is left
alone both ways.
"""

from __future__ import annotations

import re

TRIGGERS = frozenset("=+-@\t\r")
_AFTER_QUOTE = TRIGGERS | {"'"}
_SIGNED_NUMBER = re.compile(r"[+-][\d ().\-/]*\d[\d ().\-/]*")


def formula_escape(value: str) -> str:
    """``value`` safe to open in a spreadsheet; ``formula_unescape`` gives it back."""
    if not value:
        return value
    first = value[0]
    if first in "+-" and _SIGNED_NUMBER.fullmatch(value):
        return value
    if first in TRIGGERS or (first == "'" and len(value) > 1 and value[1] in _AFTER_QUOTE):
        return "'" + value
    return value


def formula_unescape(value: str) -> str:
    """The value before ``formula_escape``; text not escaped by it is returned as is."""
    if len(value) > 1 and value[0] == "'" and value[1] in _AFTER_QUOTE:
        return value[1:]
    return value
