"""Blocking keys: two records are compared only when they share a key.

A key is a short text that records of one person very likely share even when corrupted
differently: an email as its provider delivers it, a phone number, a sound key of the
name pair in either order (so swapped given and family names meet), the surname's sound
with the given name's initial (typos, initials), a house number in a postcode, a
birthday with an initial. Most keys are rare, so the work grows almost linearly with the
number of records; the few very common ones (a switchboard number, "Smith J") are
handled by the bulk scan with a sorted window instead of all pairs.
"""

from __future__ import annotations

from rapport.duplicates.matching.features import PersonFeatures
from rapport.duplicates.matching.normal import phonetic

MAX_KEY_LENGTH = 200


def person_keys(f: PersonFeatures) -> set[str]:
    """The blocking keys of one person; "kind:value" texts of at most 200 characters."""
    keys: set[str] = set()
    for email in f.emails:
        keys.add("e:" + email)
    for local in f.email_locals:
        keys.add("l:" + local)
    for e164, _ext in f.phones:
        keys.add("p:" + e164)
    surnames = {phonetic(token) for token in f.family_tokens} | {phonetic(f.family)}
    surnames.discard("")
    given = {phonetic(form) for form in f.given_forms}
    given.discard("")
    initial = f.given[:1]
    for surname in surnames:
        for sound in given:
            keys.add("n:" + "|".join(sorted((surname, sound))))
        keys.add("i:" + surname + "|" + initial)
    if not surnames:
        for sound in given:
            keys.add("g:" + sound)
    for postcode, locality, number, _street, _country in f.addresses:
        if number and (postcode or locality):
            keys.add("a:" + (postcode or locality) + "|" + number)
    if f.birthday is not None:
        day = f.birthday.isoformat()
        if initial:
            keys.add("b:" + day + "|" + initial)
        for surname in surnames:
            keys.add("d:" + day + "|" + surname)
    return {key[:MAX_KEY_LENGTH] for key in keys}


def name_key(f: PersonFeatures) -> str:
    """The key whose count tells how common this person's name is ("" without one)."""
    surname = phonetic(f.family)
    sound = phonetic(f.given.split(" ", 1)[0]) if f.given else ""
    if not surname or not sound:
        return ""
    return "n:" + "|".join(sorted((surname, sound)))
