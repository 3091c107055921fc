"""The folded text that search matches against, rebuilt by every write."""

from __future__ import annotations

from collections.abc import Iterable

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from rapport.core.text import fold


def phone_terms(e164: str) -> str:
    """'+14155552671' -> '14155552671 4155552671' so both forms of a number match."""
    number = e164.lstrip("+")
    # Country calling codes are prefix-free: the first 1-3 digits that are one, are it.
    for size in (1, 2, 3):
        if number[:size].isdecimal() and int(number[:size]) in COUNTRY_CODE_TO_REGION_CODE:
            return f"{number} {number[size:].lstrip('0') or number}"
    return f"{number} {number}"


def build(
    *,
    names: Iterable[str],
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    organizations: Iterable[str] = (),
    places: Iterable[str] = (),
    tags: Iterable[str] = (),
    extra: Iterable[str] = (),
) -> str:
    parts = [fold(n) for n in names if n]
    parts += [e.casefold() for e in emails if e]
    parts += [phone_terms(p) for p in phones if p]
    parts += [fold(o) for o in organizations if o]
    parts += [fold(p) for p in places if p]
    parts += ["#" + fold(t) for t in tags if t]
    parts += [fold(x) for x in extra if x]
    return " | ".join(p for p in parts if p)
