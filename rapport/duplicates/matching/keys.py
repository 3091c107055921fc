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
    """The blocking keys of one person; "kind:value" texts of at most 200 characters.

    Beside emails and phones, keys pair one weak value with another so that a typo in
    one, a swapped or replaced name, or a missing value still leaves a key in common:
    the sound of every name part with the other name's sound, the given initial, the
    birthday, the postcode, the locality and the house number; every name part's first
    letters with the birthday, the postcode and the locality; the birthday with the
    postcode, the locality and the house number; the house number with the street.
    """
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
    elif len(f.family) > 2:
        # a typo in the surname that changes its sound: its first or last letters stay
        for sound in given:
            keys.add("f:" + sound + "|" + f.family[:2])
            keys.add("y:" + sound + "|" + f.family[-2:])
    # Each name part alone, given or family: a swapped or replaced other part still
    # leaves this one to meet on.
    sounds = surnames | {phonetic(word) for word in f.given.split()[:2]}
    sounds.discard("")
    starts = {word[:3] for word in (*f.family.split(), *f.given.split()[:2]) if len(word) > 2}
    day = f.birthday.isoformat() if f.birthday is not None else ""
    if day:
        if initial:
            keys.add("b:" + day + "|" + initial)
        for sound in sounds:
            keys.add("d:" + day + "|" + sound)
        for start in starts:
            keys.add("dx:" + day + "|" + start)
    for postcode, locality, number, street, _country in f.addresses:
        areas = [("z", postcode), ("t", locality.replace(" ", ""))]  # "Coolar oo"
        for kind, area in areas:
            if not area:
                continue
            if number:
                keys.add("a" + kind + ":" + area + "|" + number)
            if day:
                keys.add("b" + kind + ":" + area + "|" + day)
            for sound in sounds:
                keys.add("n" + kind + ":" + area + "|" + sound)
            for start in starts:
                keys.add("x" + kind + ":" + area + "|" + start)
        if number:
            if street:
                keys.add("s:" + number + "|" + street.replace(" ", "")[:4])
            if day:
                keys.add("bn:" + day + "|" + number)
            for surname in surnames:
                keys.add("sn:" + surname + "|" + number)
    return {key[:MAX_KEY_LENGTH] for key in keys}


# The kinds of key kept in the MatchKey table for the check at entry and the search
# around an import batch: the ones that find a likely duplicate alone. The bulk scan
# computes every kind in memory; the pairings of weak values above would multiply the
# table's rows by four for the few pairs only they find.
STORED_KINDS = frozenset({"e", "l", "p", "n", "i", "g", "b", "d", "az", "at"})


# The field each stored kind comes from: holders of two keys of one field (the same
# house by its postcode and by its locality) share one thing, not two.
KEY_FIELDS = {
    "e": "email", "l": "email", "p": "phone", "n": "name", "i": "name", "g": "name",
    "b": "birthday", "d": "birthday", "az": "address", "at": "address",
}  # fmt: skip


# Of those, the kinds whose blocks stay useful when large (a common name, a shared
# switchboard): the bulk scan compares each of their holders with its neighbours by
# name. A large block of any other kind (every number 12 in a city) gives no pairs.
WINDOWED_KINDS = frozenset({"e", "l", "p", "n", "i", "g", "b", "d"})


def stored_keys(f: PersonFeatures) -> set[str]:
    """The keys of ``person_keys`` that the MatchKey table keeps (STORED_KINDS)."""
    return {key for key in person_keys(f) if key.split(":", 1)[0] in STORED_KINDS}


def name_key(f: PersonFeatures) -> str:
    """The key whose count tells how common this person's name is ("" without one)."""
    surname = phonetic(f.family)
    sound = phonetic(f.given.split(" ", 1)[0]) if f.given else ""
    if not surname or not sound:
        return ""
    return "n:" + "|".join(sorted((surname, sound)))
