"""Column presets: the headers of well-known exports, mapped to contact fields.

``detect_preset(headers)`` recognises the CSV exports of Google Contacts (the current
"First Name … E-mail 1 - Label" format and the older "Given Name … E-mail 1 - Type"
one), Outlook, HubSpot and LinkedIn Connections, and Rapport's own CSV/XLSX export
(whose headers are the mapping targets). Apple Contacts and iCloud export vCard only,
which the vCard parser maps by itself. ``guess_mapping(headers)`` maps the usual header
names of any other file ("Email", "Mobile", "Surname", "Zip", "Tags" …) and leaves the
rest unmapped ("").

A mapping is ``{header: target}`` with targets from ``rapport.ingest.mapping``; no
target appears twice. Columns a preset knows but no contact field holds (Google's
"Yomi Name", Outlook's "Spouse", LinkedIn's "Connected On") map to "". Numbered columns
keep their number: Google's "E-mail 2 - Value" is ``emails[1].address`` and its
"E-mail 2 - Label" (or "- Type") ``emails[1].label``. Columns whose name is their label
(Outlook's "Mobile Phone", "Business Street") have no label column; ``implied_label``
says what the header implies, for the engine to use when the row gives none.

Values are left as the export wrote them: Google puts several values in one cell
joined with " ::: " and marks the primary one's label with "* "; HubSpot's "Lifecycle
Stage" and "Contact owner" hold HubSpot's own stage names and people's names, so they
are left unmapped rather than failing every row (map them by hand when they fit).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapport.core.text import fold
from rapport.ingest.mapping import is_target

# A preset answers, for one header, its target ("" = known but not imported) or None
# when the header is not part of that export at all.
Lookup = Callable[[str], "str | None"]

MIN_SHARE = 0.6  # of a file's headers a preset must know to be chosen


def _key(header: str) -> str:
    """Header compared without case, accents, punctuation or the suffix " (2)" of repeats."""
    text = re.sub(r"\s+\(\d+\)$", "", header.strip())
    return " ".join(re.sub(r"[^a-z0-9/']+", " ", fold(text)).split())


@dataclass(frozen=True)
class Preset:
    """A known export: its name, how to recognise it, and how its headers map."""

    name: str
    label: str
    required: frozenset[str]
    lookup: Lookup

    def mapping(self, headers: Sequence[str]) -> tuple[int, dict[str, str]]:
        """How many headers this export knows, and the mapping for all of them."""
        known = 0
        result: dict[str, str] = {}
        used: set[str] = set()
        for header in headers:
            target = self.lookup(_key(header))
            if target is not None:
                known += 1
            target = target or ""
            if target in used:
                target = ""
            if target:
                used.add(target)
            result[header] = target
        return known, result


# --------------------------------------------------------------------------- Google


def _google_numbered(key: str) -> str | None:
    found = re.match(r"^(e mail|phone|address|website|organization|[a-z' ]+?) (\d+) (.+)$", key)
    if not found:
        return None
    kind, number, part = found.group(1), int(found.group(2)), found.group(3)
    index = number - 1
    if index < 0:
        return None
    if kind == "organization":
        if part not in _GOOGLE_ORGANIZATION_PARTS:
            return None
        return _GOOGLE_ORGANIZATION_PARTS[part] if index == 0 else ""
    if kind in _GOOGLE_OTHER_NUMBERED:
        return ""
    parts = _GOOGLE_REPEATED.get(kind)
    if parts is None or part not in parts:
        return None
    target = parts[part]
    if not target or index > 99:
        return ""
    list_name = {"e mail": "emails", "phone": "phones", "address": "addresses", "website": "urls"}
    return f"{list_name[kind]}[{index}].{target}"


_GOOGLE_REPEATED: dict[str, dict[str, str]] = {
    "e mail": {"type": "label", "label": "label", "value": "address"},
    "phone": {"type": "label", "label": "label", "value": "number"},
    "address": {
        "type": "label",
        "label": "label",
        "street": "street",
        "city": "locality",
        "region": "region",
        "postal code": "postcode",
        "country": "country",
        "formatted": "",
        "po box": "",
        "extended address": "",
    },
    "website": {"type": "label", "label": "label", "value": "url"},
}
_GOOGLE_ORGANIZATION_PARTS = {
    "type": "",
    "label": "",
    "name": "organization.name",
    "yomi name": "",
    "title": "job_title",
    "department": "affiliation.department",
    "symbol": "",
    "location": "",
    "job description": "",
}
_GOOGLE_OTHER_NUMBERED = {
    "relation",
    "event",
    "im",
    "custom field",
    "external id",
    "jot",
    "location",
    "calendar link",
    "hobby",
    "user",
    "sip address",
    "file as",
}
_GOOGLE_LEGACY = {
    "name": "full_name",
    "given name": "given_name",
    "additional name": "middle_name",
    "family name": "family_name",
    "name prefix": "prefix",
    "name suffix": "suffix",
    "nickname": "nickname",
    "birthday": "birthday",
    "notes": "notes",
    "group membership": "tags",
    **dict.fromkeys(
        (
            "yomi name",
            "given name yomi",
            "additional name yomi",
            "family name yomi",
            "initials",
            "short name",
            "maiden name",
            "gender",
            "location",
            "billing information",
            "directory server",
            "mileage",
            "occupation",
            "hobby",
            "sensitivity",
            "priority",
            "subject",
            "language",
            "photo",
        ),
        "",
    ),
}
_GOOGLE_CURRENT = {
    "first name": "given_name",
    "middle name": "middle_name",
    "last name": "family_name",
    "name prefix": "prefix",
    "name suffix": "suffix",
    "nickname": "nickname",
    "organization name": "organization.name",
    "organization title": "job_title",
    "organization department": "affiliation.department",
    "birthday": "birthday",
    "notes": "notes",
    "labels": "tags",
    **dict.fromkeys(
        (
            "phonetic first name",
            "phonetic middle name",
            "phonetic last name",
            "file as",
            "photo",
        ),
        "",
    ),
}


def _google_legacy(key: str) -> str | None:
    return _GOOGLE_LEGACY[key] if key in _GOOGLE_LEGACY else _google_numbered(key)


def _google_current(key: str) -> str | None:
    return _GOOGLE_CURRENT[key] if key in _GOOGLE_CURRENT else _google_numbered(key)


# --------------------------------------------------------------------------- Outlook

_OUTLOOK_PHONES = (
    "primary phone",
    "mobile phone",
    "business phone",
    "home phone",
    "business phone 2",
    "home phone 2",
    "other phone",
    "company main phone",
    "car phone",
    "business fax",
    "home fax",
    "other fax",
    "pager",
    "assistant's phone",
    "callback",
    "radio phone",
    "isdn",
    "tty/tdd phone",
    "telex",
)
_OUTLOOK_ADDRESSES = ("business", "home", "other")
_OUTLOOK: dict[str, str] = {
    "title": "prefix",
    "first name": "given_name",
    "middle name": "middle_name",
    "last name": "family_name",
    "suffix": "suffix",
    "nickname": "nickname",
    "company": "organization.name",
    "department": "affiliation.department",
    "job title": "job_title",
    "e mail address": "emails[0].address",
    "e mail 2 address": "emails[1].address",
    "e mail 3 address": "emails[2].address",
    "web page": "urls[0].url",
    "personal web page": "urls[1].url",
    "birthday": "birthday",
    "categories": "tags",
    "notes": "notes",
    **{name: f"phones[{i}].number" for i, name in enumerate(_OUTLOOK_PHONES)},
}
for _i, _kind in enumerate(_OUTLOOK_ADDRESSES):
    _OUTLOOK |= {
        f"{_kind} street": f"addresses[{_i}].street",
        f"{_kind} city": f"addresses[{_i}].locality",
        f"{_kind} state": f"addresses[{_i}].region",
        f"{_kind} postal code": f"addresses[{_i}].postcode",
        f"{_kind} country/region": f"addresses[{_i}].country",
        f"{_kind} country": f"addresses[{_i}].country",
        f"{_kind} street 2": "",
        f"{_kind} street 3": "",
        f"{_kind} address po box": "",
    }
_OUTLOOK |= dict.fromkeys(
    (
        "e mail type",
        "e mail display name",
        "e mail 2 type",
        "e mail 2 display name",
        "e mail 3 type",
        "e mail 3 display name",
        "account",
        "anniversary",
        "assistant's name",
        "billing information",
        "children",
        "directory server",
        "gender",
        "government id number",
        "hobby",
        "initials",
        "internet free busy",
        "keywords",
        "language",
        "location",
        "manager's name",
        "mileage",
        "office location",
        "organizational id number",
        "priority",
        "private",
        "profession",
        "referred by",
        "sensitivity",
        "spouse",
        "user 1",
        "user 2",
        "user 3",
        "user 4",
        "given yomi",
        "surname yomi",
        "company yomi",
        "imaddress",
        "schools",
    ),
    "",
)

# --------------------------------------------------------------------------- HubSpot

_HUBSPOT = {
    "record id": "external_id",
    "first name": "given_name",
    "last name": "family_name",
    "email": "emails[0].address",
    "phone number": "phones[0].number",
    "mobile phone number": "phones[1].number",
    "fax number": "phones[2].number",
    "company name": "organization.name",
    "job title": "job_title",
    "street address": "addresses[0].street",
    "city": "addresses[0].locality",
    "state/region": "addresses[0].region",
    "postal code": "addresses[0].postcode",
    "country/region": "addresses[0].country",
    "website url": "urls[0].url",
    "linkedin url": "urls[1].url",
    "time zone": "time_zone",
    "preferred language": "language",
    **dict.fromkeys(
        (
            "lifecycle stage",
            "contact owner",
            "create date",
            "last activity date",
            "associated company",
            "associated company ids",
            "primary associated company id",
            "lead status",
            "marketing contact status",
            "last modified date",
            "email domain",
            "additional email addresses",
            "original source",
            "number of sales activities",
            "recent deal amount",
            "industry",
        ),
        "",
    ),
}

# --------------------------------------------------------------------------- LinkedIn

_LINKEDIN = {
    "first name": "given_name",
    "last name": "family_name",
    "url": "urls[0].url",
    "email address": "emails[0].address",
    "company": "organization.name",
    "position": "job_title",
    "connected on": "",
}


def _table(table: dict[str, str]) -> Lookup:
    return table.get


PRESETS: tuple[Preset, ...] = (
    Preset(
        "google",
        "Google Contacts",
        frozenset({"first name", "last name", "labels", "e mail 1 value"}),
        _google_current,
    ),
    Preset(
        "google_legacy",
        "Google Contacts (older export)",
        frozenset({"given name", "family name", "group membership", "e mail 1 value"}),
        _google_legacy,
    ),
    Preset(
        "outlook",
        "Outlook",
        frozenset({"first name", "last name", "e mail address", "business phone", "mobile phone"}),
        _table(_OUTLOOK),
    ),
    Preset(
        "hubspot",
        "HubSpot",
        frozenset({"record id", "first name", "last name", "email"}),
        _table(_HUBSPOT),
    ),
    Preset(
        "linkedin",
        "LinkedIn Connections",
        frozenset({"first name", "last name", "url", "email address", "connected on"}),
        _table(_LINKEDIN),
    ),
)


def detect_preset(headers: Sequence[str]) -> tuple[str, dict[str, str]] | None:
    """The known export these headers come from, with the mapping for exactly them.

    None when no preset knows at least ``MIN_SHARE`` of the headers including the ones
    that identify it.
    """
    if not headers:
        return None
    keys = {_key(h) for h in headers}
    best: tuple[float, str, dict[str, str]] | None = None
    for preset in PRESETS:
        if not preset.required <= keys:
            continue
        known, mapping = preset.mapping(headers)
        share = known / len(headers)
        if share >= MIN_SHARE and (best is None or share > best[0]):
            best = (share, preset.name, mapping)
    own = _rapport_mapping(headers)
    if own is not None and (best is None or best[0] < 1):
        return "rapport", own
    return (best[1], best[2]) if best else None


def _rapport_mapping(headers: Sequence[str]) -> dict[str, str] | None:
    targets = [h for h in headers if is_target(h.strip())]
    if len(targets) < max(2, MIN_SHARE * len(headers)):
        return None
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        target = header.strip() if is_target(header.strip()) else ""
        mapping[header] = "" if target in used else target
        used.add(target)
    return mapping


def preset_label(name: str) -> str:
    """The name of a preset as people know the product ("Google Contacts")."""
    if name == "rapport":
        return "Rapport export"
    return next((p.label for p in PRESETS if p.name == name), name)


# --------------------------------------------------------------------------- any file

_SCALAR_SYNONYMS: dict[str, tuple[str, ...]] = {
    "full_name": ("name", "full name", "fullname", "contact name", "display name", "contact"),
    "given_name": (
        "first name",
        "firstname",
        "first",
        "given name",
        "forename",
        "vorname",
        "prenom",
        "nombre",
    ),
    "family_name": (
        "last name",
        "lastname",
        "last",
        "surname",
        "family name",
        "nachname",
        "nom",
        "apellido",
        "apellidos",
    ),
    "middle_name": ("middle name", "middlename", "middle", "additional name"),
    "prefix": ("prefix", "name prefix", "salutation", "honorific", "anrede"),
    "suffix": ("suffix", "name suffix"),
    "nickname": ("nickname", "nick name", "nick"),
    "job_title": ("title", "job title", "jobtitle", "position", "role", "job", "occupation"),
    "organization.name": (
        "company",
        "company name",
        "organization",
        "organisation",
        "organization name",
        "organisation name",
        "employer",
        "account",
        "account name",
        "firma",
        "societe",
        "empresa",
    ),
    "organization.domain": ("domain", "company domain", "company domain name", "email domain"),
    "affiliation.department": ("department", "dept", "division", "abteilung"),
    "birthday": ("birthday", "birth date", "birthdate", "date of birth", "dob", "geburtstag"),
    "notes": (
        "notes",
        "note",
        "comments",
        "comment",
        "description",
        "remarks",
        "remarques",
        "notizen",
        "bemerkungen",
    ),
    "tags": ("tags", "tag", "labels", "categories", "category", "groups", "group membership"),
    "external_id": ("id", "record id", "external id", "contact id", "uid", "crm id"),
    "time_zone": ("time zone", "timezone", "tz"),
    "language": ("language", "preferred language", "locale"),
    "addresses[0].street": (
        "street",
        "address",
        "street address",
        "address line 1",
        "address 1",
        "address1",
        "strasse",
        "adresse",
    ),
    "addresses[0].locality": ("city", "town", "locality", "ort", "stadt", "ville", "ciudad"),
    "addresses[0].region": (
        "state",
        "region",
        "province",
        "county",
        "state/region",
        "state/province",
        "bundesland",
    ),
    "addresses[0].postcode": (
        "zip",
        "zip code",
        "zipcode",
        "postcode",
        "post code",
        "postal code",
        "postalcode",
        "plz",
        "code postal",
    ),
    "addresses[0].country": ("country", "country/region", "country code", "land", "pays", "pais"),
}
_LOOKUP = {synonym: target for target, words in _SCALAR_SYNONYMS.items() for synonym in words}
_EMAIL_WORDS = re.compile(
    r"^(?:(work|home|business|personal|private|other|primary|secondary|alternate|alt)\s+)?"
    r"(?:e ?mail|mail)(?:\s+address)?(?:\s+(\d{1,2}))?$"
)
_PHONE_WORDS = re.compile(
    r"^(?:(work|home|business|office|personal|private|other|primary|main|direct|company)\s+)?"
    r"(phone|telephone|tel|mobile|cell|cellphone|cell phone|mobile phone|fax|pager|landline)"
    r"(?:\s+(?:number|no|nr))?(?:\s+(\d{1,2}))?$"
)
_URL_WORDS = re.compile(
    r"^(?:(personal|company|work|business)\s+)?"
    r"(website|web site|web|url|homepage|home page|web page|linkedin|linkedin url|"
    r"linkedin profile|twitter|github|facebook|instagram|xing)(?:\s+url)?(?:\s+(\d{1,2}))?$"
)


def guess_mapping(headers: Sequence[str]) -> dict[str, str]:
    """A first mapping for a file no preset knows; unrecognised headers map to ""."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    counters = {"emails": 0, "phones": 0, "urls": 0}
    for header in headers:
        bare = header.strip()
        if is_target(bare) and bare not in used:
            mapping[header] = bare
            used.add(bare)
            continue
        key = _key(header)
        target = _LOOKUP.get(key, "")
        if not target:
            target = _repeated_target(key, counters, used)
        if not target:
            # Google's numbered columns ("E-mail 2 - Value") are unmistakable even in a
            # file trimmed of the columns that identify a Google export.
            target = _google_numbered(key) or ""
        if target in used:
            target = ""
        if target:
            used.add(target)
        mapping[header] = target
    return mapping


def _repeated_target(key: str, counters: dict[str, int], used: set[str]) -> str:
    for kind, pattern, part in (
        ("emails", _EMAIL_WORDS, "address"),
        ("phones", _PHONE_WORDS, "number"),
        ("urls", _URL_WORDS, "url"),
    ):
        found = pattern.match(key)
        if not found:
            continue
        number = found.groups()[-1]
        if number and int(number) >= 1:
            wanted = f"{kind}[{int(number) - 1}].{part}"
            if wanted not in used:
                return wanted
        while f"{kind}[{counters[kind]}].{part}" in used:
            counters[kind] += 1
        target = f"{kind}[{counters[kind]}].{part}"
        counters[kind] += 1
        return target if counters[kind] <= 100 else ""
    return ""


_LABEL_WORDS = (
    ("assistant", "assistant"),
    ("fax", "fax"),
    ("pager", "pager"),
    ("mobile", "mobile"),
    ("cell", "mobile"),
    ("car", "car"),
    ("business", "work"),
    ("work", "work"),
    ("office", "work"),
    ("company main", "main"),
    ("main", "main"),
    ("primary", ""),
    ("home", "home"),
    ("personal", "personal"),
    ("private", "home"),
    ("other", "other"),
    ("linkedin", "linkedin"),
    ("twitter", "twitter"),
    ("github", "github"),
    ("facebook", "facebook"),
    ("instagram", "instagram"),
    ("xing", "xing"),
)


def implied_label(header: str) -> str:
    """The label a column's name implies for its values: "Business Fax" → "work fax"."""
    bare = _key(header).replace("'s", "").replace("/", " ")
    key = f" {bare} "
    words: list[str] = []
    for word, label in _LABEL_WORDS:
        if f" {word} " in key and label and label not in words:
            words.append(label)
            key = key.replace(f" {word} ", " ")
    if "fax" in words and len(words) > 1:
        words.remove("fax")
        words.append("fax")
    return " ".join(words)
