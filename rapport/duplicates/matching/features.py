"""A person or organization reduced to what matching compares, computed once per record.

``person_features`` takes plain values (as stored: E.164 phones, ISO country codes) so
the same code serves a saved contact, a form being filled in and an import row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from rapport.duplicates.matching import normal


@dataclass(frozen=True, slots=True)
class PersonFeatures:
    """One person's comparable values. Every text is folded (see normal.fold)."""

    id: int
    given: str
    given_forms: frozenset[str]
    middle: str
    family: str
    family_tokens: frozenset[str]
    generation: str
    emails: frozenset[str]
    email_locals: frozenset[str]
    # (E.164, extension)
    phones: frozenset[tuple[str, str]]
    # (postcode key, locality, house number, street words, country)
    addresses: tuple[tuple[str, str, str, str, str], ...]
    organizations: frozenset[str]
    title: str
    birthday: dt.date | None

    @property
    def has_name(self) -> bool:
        return bool(self.given or self.family)


def person_features(
    *,
    id: int = 0,  # noqa: A002 - the contact's id
    given_name: str = "",
    middle_name: str = "",
    family_name: str = "",
    suffix: str = "",
    birthday: dt.date | str | None = None,
    job_title: str = "",
    emails: Iterable[str] = (),
    phones: Iterable[tuple[str, str]] = (),
    addresses: Iterable[tuple[str, str, str, str]] = (),
    organizations: Iterable[str] = (),
) -> PersonFeatures:
    """Features of one person. ``phones`` are (E.164, extension); ``addresses`` are
    (street, locality, postcode, country code)."""
    given = normal.fold(given_name)
    family = normal.fold(family_name)
    canonical_emails = frozenset(normal.email_canonical(e) for e in emails if e)
    street_rows = []
    for street, locality, postcode, country in addresses:
        number, words = normal.street_key(street or "")
        row = (normal.postcode_key(postcode or ""), normal.fold(locality or ""), number, words)
        if any(row):
            street_rows.append((*row, (country or "").upper()))
    if isinstance(birthday, str):
        try:
            birthday = dt.date.fromisoformat(birthday) if birthday else None
        except ValueError:
            birthday = None
    return PersonFeatures(
        id=id,
        given=given,
        given_forms=normal.given_forms(given),
        middle=normal.fold(middle_name),
        family=family,
        family_tokens=normal.surname_tokens(family),
        generation=normal.generation(suffix),
        emails=canonical_emails,
        email_locals=frozenset(
            local for local in map(normal.email_local_part, canonical_emails) if local
        ),
        phones=frozenset((e164, ext or "") for e164, ext in phones if e164),
        addresses=tuple(street_rows),
        organizations=frozenset(key for key in map(normal.organization_key, organizations) if key),
        title=normal.title_key(job_title),
        birthday=birthday,
    )
