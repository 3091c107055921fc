"""How two people's values compare, field by field, as one of a few levels each.

Every comparison returns the index of a level in its ``levels`` (the strongest agreement
first, disagreement last) or ``MISSING`` when either record lacks the value: a missing
value is no evidence either way. The model (model.py) turns each level into a weight.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rapidfuzz.distance import OSA, JaroWinkler

from rapport.duplicates.matching import normal
from rapport.duplicates.matching.features import PersonFeatures

MISSING = -1
# A phone number held by this many people (told apart by given name) or more is a
# switchboard or a household line.
SHARED_PHONE = 2
# Birthdays this many years apart belong to two generations (a parent and a child)...
GENERATION_YEARS = 12
# ...up to this many: a parent and a child are hardly ever born further apart, so beyond
# it one of two dates on records that otherwise agree is more likely simply wrong.
PARENT_CHILD_MAX_YEARS = 50


@dataclass(frozen=True)
class Context:
    """What a comparison may know of the whole database: how many people (contacts with
    different given names) hold a phone number (1 when unknown)."""

    phone_holders: Callable[[str], int] = lambda e164: 1


NO_CONTEXT = Context()


def people_among(given_names: Iterable[str]) -> int:
    """How many people these first given names name at least: Bob, Robert and Robret
    are one, Anna and Piotr two."""
    groups: list[str] = []
    for name in sorted(set(given_names)):
        if not any(
            normal.nickname_equivalent(name, seen) or _similar(name, seen, 0.88) for seen in groups
        ):
            groups.append(name)
    return len(groups)


def _similar(a: str, b: str, cutoff: float) -> bool:
    return JaroWinkler.normalized_similarity(a, b, score_cutoff=cutoff) > 0


def _umlauts_written_out(folded: str) -> str:
    """Mueller as Muller: folding turns ü into u, German spelling writes it ue."""
    return folded.replace("ue", "u").replace("oe", "o").replace("ae", "a")


def _family_close(a: PersonFeatures, b: PersonFeatures) -> bool:
    if a.family == b.family:
        return True
    if _umlauts_written_out(a.family) == _umlauts_written_out(b.family):  # Müller, Mueller
        return True
    if a.family_tokens and b.family_tokens:
        small, large = sorted((a.family_tokens, b.family_tokens), key=len)
        if small <= large:  # García ⊂ García López
            return True
    if len(a.family) >= 4 and OSA.distance(a.family, b.family, score_cutoff=1) <= 1:
        return True  # one letter wrong, missing, added, or two swapped (Bquer, Bauer)
    return _similar(a.family, b.family, 0.92)


def _alike(x: str, y: str) -> bool:
    """The same name but for a typo (as ``compare_name`` counts one)."""
    return bool(x and y) and (x == y or _similar(x, y, 0.88))


def _swapped(a: PersonFeatures, b: PersonFeatures) -> bool:
    if not (a.given and b.given and a.family and b.family):
        return False
    return _alike(a.given, b.family) and _alike(a.family, b.given)


def _initial_of(short: str, full: str) -> bool:
    return len(short) == 1 and full[:1] == short


NAME_LEVELS = (
    "exact",
    "swapped",
    "nickname",
    "typo",
    "initial",
    "family, a given name missing",
    "given, a family name missing",
    "family only",
    "given only",
    "one name, in the other field",
    "different",
)


def compare_name(a: PersonFeatures, b: PersonFeatures, ctx: Context) -> int:
    if not a.has_name or not b.has_name:
        return MISSING
    if a.given == b.given and a.family == b.family:
        return 0
    if _swapped(a, b):
        return 1
    family = _family_close(a, b)
    if family and a.given and b.given:
        if a.given == b.given:  # the surnames differ a little (a slip, a shortened one)
            return 3
        if normal.nickname_equivalent(a.given, b.given):
            return 2
        if _similar(a.given, b.given, 0.88):
            return 3
        first_a, first_b = a.given.split(" ", 1)[0], b.given.split(" ", 1)[0]
        if _initial_of(first_a, first_b) or _initial_of(first_b, first_a):
            return 4
    if family:
        return 7 if a.given and b.given else 5
    one_family_missing = (not a.family) != (not b.family)
    if (
        one_family_missing
        and a.given
        and b.given
        and (normal.nickname_equivalent(a.given, b.given) or _alike(a.given, b.given))
    ):
        return 6  # one record has no family name: the given names are all there is
    if a.given and b.given and normal.nickname_equivalent(a.given, b.given):
        return 8
    if _alike(a.given, b.family) or _alike(a.family, b.given):
        return 9  # one name written in the other field, the other name replaced
    return 10


EMAIL_LEVELS = ("same", "same local part", "different")


def compare_email(a: PersonFeatures, b: PersonFeatures, ctx: Context) -> int:
    if not a.emails or not b.emails:
        return MISSING
    if a.emails & b.emails:
        return 0
    if a.email_locals & b.email_locals:
        return 1
    return 2


PHONE_LEVELS = ("same", "same, at the same address", "same shared line", "other extension",
                "different")  # fmt: skip


def compare_phone(a: PersonFeatures, b: PersonFeatures, ctx: Context) -> int:
    """A number shared at one address says less: a household's landline is shared by
    whoever lives there (a parent and a child of the same name, too)."""
    if not a.phones or not b.phones:
        return MISSING
    numbers_b = {e164: ext for e164, ext in b.phones}
    best = 4
    for e164, ext in a.phones:
        other = numbers_b.get(e164)
        if other is None:
            continue
        if ext and other and ext != other:
            best = min(best, 3)
        elif ctx.phone_holders(e164) >= SHARED_PHONE:
            best = min(best, 2)
        elif compare_address(a, b, ctx) == 0:
            best = min(best, 1)
        else:
            return 0
    return best


ADDRESS_LEVELS = ("same", "same street", "same area", "different")


def one_edit(x: str, y: str) -> bool:
    """Equal but for one character changed, or two neighbours swapped (3072 and 3702)."""
    if len(x) != len(y) or x == y:
        return False
    diff = [i for i, (c, d) in enumerate(zip(x, y, strict=True)) if c != d]
    if len(diff) == 1:
        return True
    i, j = diff[0], diff[-1]
    return len(diff) == 2 and j == i + 1 and x[i] == y[j] and x[j] == y[i]


def _same_town(town_a: str, town_b: str) -> bool:
    """The same locality, however its words are spaced ("Birmingham Gardens",
    "Birminghamgardens")."""
    return bool(town_a) and town_a.replace(" ", "") == town_b.replace(" ", "")


def _similar_town(town_a: str, town_b: str) -> bool:
    return bool(town_a and town_b) and _similar(
        town_a.replace(" ", ""), town_b.replace(" ", ""), 0.9
    )


def _mistyped_town(town_a: str, town_b: str) -> bool:
    """One letter of a locality's name wrong, missing, added, or two swapped ("New Farm",
    "New Fam"); never a number ("Town 12", "Town 13")."""
    x, y = town_a.replace(" ", ""), town_b.replace(" ", "")
    if min(len(x), len(y)) < 5 or any(c.isdigit() for c in x + y):
        return False
    return OSA.distance(x, y, score_cutoff=1) <= 1


def same_area(post_a: str, town_a: str, post_b: str, town_b: str) -> bool:
    """The same postcode or locality; or, each mistyped, a postcode one slip apart and a
    similar locality name."""
    if (post_a and post_a == post_b) or _same_town(town_a, town_b):
        return True
    return bool(post_a and post_b and one_edit(post_a, post_b) and _similar_town(town_a, town_b))


def same_street(a: str, b: str) -> bool:
    """Street words alike: equal, similar, or equal over the shorter one's length once
    spaces are dropped (a second line, such as a building, added on one side); or the
    same words in another order, or one side's words all on the other (a building line
    written first, or one of two lines left out)."""
    if not a or not b:
        return False
    if a == b or _similar(a, b, 0.85):
        return True
    x, y = a.replace(" ", ""), b.replace(" ", "")
    short = min(len(x), len(y))
    if short >= 6 and _similar(x[:short], y[:short], 0.9):
        return True
    small, large = sorted((set(a.split()), set(b.split())), key=len)
    return small <= large and sum(map(len, small)) >= 6


def compare_address(a: PersonFeatures, b: PersonFeatures, ctx: Context) -> int:
    """Same (the house: number and street, in the same area, or with a postcode one slip
    off or a locality mistyped); same street (in the same area, another house number or
    none on one side); same area (postcode or locality); different."""
    if not a.addresses or not b.addresses:
        return MISSING
    best = 3
    for post_a, town_a, number_a, street_a, country_a in a.addresses:
        for post_b, town_b, number_b, street_b, country_b in b.addresses:
            if country_a and country_b and country_a != country_b:
                continue
            number = bool(number_a and number_a == number_b)
            if same_area(post_a, town_a, post_b, town_b):
                if same_street(street_a, street_b):
                    if number:
                        return 0
                    best = 1
                else:
                    best = min(best, 2)
            elif (
                number and same_street(street_a, street_b)
                and (
                    (post_a and post_b and one_edit(post_a, post_b))
                    or _mistyped_town(town_a, town_b)
                )
            ):  # fmt: skip
                return 0  # the same house, its postcode mistyped (or its town)
    return best


ORGANIZATION_LEVELS = ("same", "different")


def compare_organization(a: PersonFeatures, b: PersonFeatures, ctx: Context) -> int:
    if not a.organizations or not b.organizations:
        return MISSING
    return 0 if a.organizations & b.organizations else 1


TITLE_LEVELS = ("same", "similar", "different")


def compare_title(a: PersonFeatures, b: PersonFeatures, ctx: Context) -> int:
    if not a.title or not b.title:
        return MISSING
    if a.title == b.title:
        return 0
    if set(a.title.split()) & set(b.title.split()) or _similar(a.title, b.title, 0.85):
        return 1
    return 2


BIRTHDAY_LEVELS = ("same", "close", "one part differs", "different", "far apart",
                   "another generation")  # fmt: skip


def _one_slip(x: dt.date, y: dt.date) -> bool:
    """A typing slip: day and month swapped, or one of year, month, day differs by
    one digit."""
    if (x.day, x.month) == (y.month, y.day) and x.year == y.year:
        return True
    differ = (x.year != y.year) + (x.month != y.month) + (x.day != y.day)
    if differ != 1:
        return False
    pairs = (x.year, y.year) if x.year != y.year else (x.month, y.month)
    if x.day != y.day:
        pairs = (x.day, y.day)
    a, b = (f"{n:04d}" for n in pairs)
    return sum(c != d for c, d in zip(a, b, strict=True)) == 1


def compare_birthday(a: PersonFeatures, b: PersonFeatures, ctx: Context) -> int:
    """Same; close (a typing slip); one of year, month and day wrong, the other two
    right (a value mistyped or misread); different; far apart (more years apart than a
    parent and a child: a wrong date, weighed as the data shows); or years apart as a
    parent and a child are (ruled out as one person)."""
    x, y = a.birthday, b.birthday
    if x is None or y is None:
        return MISSING
    if x == y:
        return 0
    if _one_slip(x, y):
        return 1
    if (x.year == y.year) + (x.month == y.month) + (x.day == y.day) == 2:
        return 2
    years = abs(x.year - y.year)
    if years > PARENT_CHILD_MAX_YEARS:
        return 4
    if years >= GENERATION_YEARS:
        return 5
    return 3


GENERATION_LEVELS = ("same", "conflict")


def compare_generation(a: PersonFeatures, b: PersonFeatures, ctx: Context) -> int:
    """Jr. against Sr. (or II against III) says two people; one without says nothing."""
    if not a.generation or not b.generation:
        return MISSING
    return 0 if a.generation == b.generation else 1


@dataclass(frozen=True)
class Comparison:
    name: str
    label: str
    levels: tuple[str, ...]
    compare: Callable[[PersonFeatures, PersonFeatures, Context], int]


PERSON_COMPARISONS: tuple[Comparison, ...] = (
    Comparison("name", "Name", NAME_LEVELS, compare_name),
    Comparison("email", "Email", EMAIL_LEVELS, compare_email),
    Comparison("phone", "Phone", PHONE_LEVELS, compare_phone),
    Comparison("address", "Address", ADDRESS_LEVELS, compare_address),
    Comparison("organization", "Organization", ORGANIZATION_LEVELS, compare_organization),
    Comparison("title", "Job title", TITLE_LEVELS, compare_title),
    Comparison("birthday", "Birthday", BIRTHDAY_LEVELS, compare_birthday),
    Comparison("generation", "Jr./Sr.", GENERATION_LEVELS, compare_generation),
)


def compare(a: PersonFeatures, b: PersonFeatures, ctx: Context) -> tuple[int, ...]:
    """The level of every comparison for this pair, in PERSON_COMPARISONS order."""
    return tuple(c.compare(a, b, ctx) for c in PERSON_COMPARISONS)
