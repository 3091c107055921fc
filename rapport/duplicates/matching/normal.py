"""The forms in which two records' values are compared.

Names lose case, accents and script (``Müller`` → ``muller``, ``王`` → ``wang``), and a
given name also has a canonical form through a curated nickname list (Bob → robert).
Emails lose what their provider ignores (Gmail's dots, ``+tags``); streets lose their
abbreviations; organizations lose legal suffixes and punctuation.
"""

from __future__ import annotations

import functools
import re

import jellyfish
from anyascii import anyascii
from cleanco import basename
from nicknames import NickNamer

# Providers that deliver ``local+tag@`` to ``local@``; Gmail also ignores dots.
_PLUS_PROVIDERS = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com",
        "icloud.com", "me.com", "mac.com", "fastmail.com", "fastmail.fm",
        "protonmail.com", "proton.me", "pm.me", "yahoo.com", "zoho.com", "gmx.de", "gmx.net",
        "posteo.de", "mailbox.org", "hey.com",
    }
)  # fmt: skip
_DOTLESS_PROVIDERS = frozenset({"gmail.com", "googlemail.com"})
# Local parts that name a role, not a person: the same one at two domains says nothing.
_ROLE_LOCAL_PARTS = frozenset(
    {
        "info", "contact", "sales", "support", "admin", "office", "hello", "mail", "team",
        "service", "billing", "accounts", "jobs", "hr", "press", "marketing", "enquiries",
        "inquiries", "reception", "noreply", "no-reply", "webmaster", "post", "kontakt",
    }
)  # fmt: skip
# Particles of compound surnames that do not tell two families apart on their own.
_PARTICLES = frozenset(
    {"de", "del", "della", "der", "den", "di", "da", "dos", "das", "do", "du", "la", "le",
     "van", "von", "vom", "zu", "ten", "ter", "y", "e", "bin", "ibn", "al", "el", "st"}
)  # fmt: skip
GENERATIONS = {
    "jr": "jr", "junior": "jr", "sr": "sr", "senior": "sr", "i": "i", "ii": "ii",
    "iii": "iii", "iv": "iv", "v": "v", "2nd": "ii", "3rd": "iii", "4th": "iv",
}  # fmt: skip
_STREET_WORDS = {
    "st": "street", "str": "strasse", "strasse": "strasse", "straße": "strasse",
    "ave": "avenue", "av": "avenue", "rd": "road", "dr": "drive", "ln": "lane",
    "blvd": "boulevard", "ct": "court", "pl": "place", "sq": "square", "hwy": "highway",
    "pkwy": "parkway", "cres": "crescent", "tce": "terrace", "ter": "terrace", "apt": "",
    "n": "north", "s": "south", "e": "east", "w": "west", "no": "", "nr": "",
    "bd": "boulevard", "bld": "boulevard", "che": "chemin", "rte": "route", "pza": "plaza",
    "c": "calle", "cl": "calle", "avda": "avenida", "ul": "ulica", "pl.": "plac",
}  # fmt: skip
_NON_WORD = re.compile(r"[^a-z0-9]+")
_DIGITS = re.compile(r"\d+[a-z]?")
_NICKNAMER = NickNamer()
# name → the full names it is a nickname of
_CANONICALS = _NICKNAMER.canonical_lookup


@functools.lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """Lower-case ASCII words separated by single spaces (``"Müller-Lüdenscheidt"`` →
    ``"muller ludenscheidt"``, ``"王"`` → ``"wang"``)."""
    if not text:
        return ""
    ascii_text = anyascii(text).lower() if not text.isascii() else text.lower()
    return " ".join(_NON_WORD.sub(" ", ascii_text).split())


@functools.lru_cache(maxsize=100_000)
def given_forms(name: str) -> frozenset[str]:
    """The folded first given name and every full name it is a nickname of: Bob gives
    {bob, robert}, Robert gives {robert}. Two records that share a form may name one
    person; blocking keys are made from each form."""
    first = name.split(" ", 1)[0] if name else ""
    if not first:
        return frozenset()
    return frozenset({first, *_CANONICALS.get(first, ())})


def nickname_equivalent(a: str, b: str) -> bool:
    """Whether two folded given names can name the same person: Liz and Elizabeth, or
    Bob and Bobby (both Robert). Two nicknames of one name count only when they start
    alike: Tony and Ann may both come from Antonia, but that says too little."""
    if a == b:
        return True
    first_a, first_b = a.split(" ", 1)[0], b.split(" ", 1)[0]
    forms_a, forms_b = given_forms(first_a), given_forms(first_b)
    if first_a in forms_b or first_b in forms_a:
        return True
    return first_a[:1] == first_b[:1] and bool(forms_a & forms_b)


@functools.lru_cache(maxsize=200_000)
def phonetic(text: str) -> str:
    """A sound key of a folded name (Smith and Smyth alike): its first word's Metaphone."""
    word = text.split(" ", 1)[0] if text else ""
    return jellyfish.metaphone(word) if word else ""


def surname_tokens(family: str) -> frozenset[str]:
    """The words of a folded surname that tell families apart (García López → both)."""
    return frozenset(word for word in family.split() if word not in _PARTICLES)


def generation(suffix: str) -> str:
    """Jr, Sr, II … as one code, "" for any other suffix (PhD, MD)."""
    for word in fold(suffix).split():
        code = GENERATIONS.get(word)
        if code:
            return code
    return ""


def email_canonical(address: str) -> str:
    """An address as its provider delivers it: lower case; ``+tag`` dropped where the
    provider ignores it; dots dropped at Gmail."""
    address = address.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    if domain in _PLUS_PROVIDERS:
        local = local.split("+", 1)[0]
        if domain in _DOTLESS_PROVIDERS:
            local = local.replace(".", "")
            domain = "gmail.com"
    return f"{local}@{domain}"


def email_local_part(canonical: str) -> str:
    """The local part of a canonical address when it likely names one person
    (``jane.doe``), "" for short or role addresses (``info``)."""
    local = canonical.rpartition("@")[0]
    local = local.split("+", 1)[0]
    if len(local) < 5 or local in _ROLE_LOCAL_PARTS:
        return ""
    return local.replace(".", "").replace("_", "").replace("-", "")


@functools.lru_cache(maxsize=100_000)
def street_key(street: str) -> tuple[str, str]:
    """A street line as (house number, words with abbreviations written out)."""
    words = fold(street.replace("ß", "ss")).split()
    number = ""
    kept: list[str] = []
    for word in words:
        if not number and _DIGITS.fullmatch(word):
            number = word
            continue
        if word.endswith("str") and len(word) > 3:  # Hauptstr. → hauptstrasse
            word = word[:-3] + "strasse"
        elif word.endswith("strasse") and len(word) > 7:
            pass
        else:
            word = _STREET_WORDS.get(word, word)
        if word:
            kept.append(word)
    return number, " ".join(kept)


def postcode_key(postcode: str) -> str:
    """A postcode without spaces, dashes and case (``SW1A 1AA`` → ``SW1A1AA``)."""
    return "".join(ch for ch in postcode.upper() if ch.isalnum())


@functools.lru_cache(maxsize=50_000)
def organization_key(name: str) -> str:
    """An organization's name without legal form, punctuation, case or ``&``/``and``
    (``Smith & Sons, Inc.`` and ``Smith and Sons`` alike)."""
    if not name:
        return ""
    base = basename(name) or name
    words = fold(base.replace("&", " and ")).split()
    return " ".join(word for word in words if word not in ("and", "the", "und", "et", "y"))


def title_key(title: str) -> str:
    return fold(title)
