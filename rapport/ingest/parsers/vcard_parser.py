"""vCard files (2.1, 3.0 and 4.0; one card or many), read card by card.

The file's text encoding is detected as for CSV. Cards are cut out of the stream line
by line (``BEGIN:VCARD`` … ``END:VCARD``) and each card's lines are unfolded and parsed
with vobject's line grammar (``getLogicalLines``/``parseLine``): folded lines,
quoted-printable soft breaks, parameters and groups (``item1.EMAIL`` with its
``item1.X-ABLabel``). Values are decoded here rather than by vobject's content lines,
so a quoted-printable value in an unexpected charset or one unreadable line spoils one
card, not the rest of the file (vobject's ``readComponents`` stops at the first error).

The table has one column per contact field path, so the mapping is the identity. The
number of ``emails[N]``/``phones[N]``/``addresses[N]``/``urls[N]`` columns is what the
busiest card needs (a first quick pass over the file counts them). Preferred values
(``TYPE=pref``, ``PREF=1``) come first. The ``photo`` column holds an embedded photo as
a ``data:`` URI (``data:image/jpeg;base64,…``); it is not a mapping target, so the
engine attaches it through the photo service or leaves it. Linked photos are not
fetched. A birthday without a year (``--0415``, Apple's 1604) is left out with a note.
Properties that carry data but have no contact field (IMPP, ANNIVERSARY, …) are listed
in a note at the end.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vobject.base import ParseError, VObjectError, getLogicalLines, parseLine

from rapport.ingest.parsers import Table, UnreadableFile
from rapport.ingest.parsers.encoding import LineTooLong, bounded_lines, choose, open_text

MAX_CARD_CHARS = 10_000_000
MAX_PHOTO_CHARS = 8_000_000
MAX_REPEATS = 100  # the mapping vocabulary numbers repeated values with two digits
MAX_LABEL_CHARS = 40

NAME_COLUMNS = (
    "full_name",
    "prefix",
    "given_name",
    "middle_name",
    "family_name",
    "suffix",
    "nickname",
)
OTHER_COLUMNS = (
    "birthday",
    "affiliation.title",
    "lifecycle_stage",
    "owner",
    "source",
    "time_zone",
    "language",
    "organization.name",
    "affiliation.department",
    "job_title",
    "notes",
    "tags",
    "external_id",
    "photo",
)
REPEATED = {
    "emails": ("address", "label"),
    "phones": ("number", "label"),
    "addresses": ("street", "locality", "region", "postcode", "country", "label"),
    "urls": ("url", "label", "kind"),
}
_KIND_OF = {
    "EMAIL": "emails",
    "TEL": "phones",
    "ADR": "addresses",
    "URL": "urls",
    "X-SOCIALPROFILE": "urls",
}
_COUNTED = re.compile(
    r"^(?:[A-Za-z0-9-]+\.)?(EMAIL|TEL|ADR|URL|X-SOCIALPROFILE)[;:]", re.IGNORECASE
)
# What a Rapport export writes for fields vCard has no property of its own for.
_RAPPORT_VALUES = {
    "X-RAPPORT-LIFECYCLE-STAGE": "lifecycle_stage",
    "X-RAPPORT-OWNER": "owner",
    "X-RAPPORT-SOURCE": "source",
    "X-RAPPORT-AFFILIATION-TITLE": "affiliation.title",
    "X-RAPPORT-LANGUAGE": "language",
    "LANG": "language",
    "TZ": "time_zone",
}
_NAMED = re.compile(
    r'^(?:[A-Za-z0-9-]+\.)?X-RAPPORT-(CUSTOM|EXTERNAL-ID);(?:[^:]*;)?(KEY|SOURCE)=("?)([^";:]+)\3',
    re.IGNORECASE,
)
# Properties with nothing to import, or whose content is imported through another one.
_SILENT = {
    "BEGIN", "END", "VERSION", "PRODID", "REV", "X-ABLABEL", "X-ABUID", "LABEL", "KIND",
    "SOURCE", "NAME", "PROFILE", "X-ABSHOWAS", "X-ABADR", "CLASS", "MAILER", "SORT-STRING",
    "X-IMAGETYPE", "X-IMAGEHASH", "X-SHAREDPHOTODISPLAYPREF", "ROLE",
}  # fmt: skip
_TYPE_WORDS = {
    "cell": "mobile",
    "mobile": "mobile",
    "iphone": "iphone",
    "work": "work",
    "home": "home",
    "main": "main",
    "fax": "fax",
    "pager": "pager",
    "other": "other",
    "text": "text",
    "video": "video",
    "car": "car",
    "isdn": "isdn",
    "homepage": "homepage",
    "blog": "blog",
    "profile": "profile",
    "school": "school",
}
_ENCODING_WORDS = {"QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"}
_APPLE_LABEL = re.compile(r"^_\$!<(.*)>!\$_$")
_QP_RUN = re.compile(r"(?:=[0-9A-Fa-f]{2})+")
_QP_SOFT_BREAK = re.compile(r"=\r?\n")
_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:T.*)?$")
_IMAGE_TYPES = {
    "JPEG": "jpeg",
    "JPG": "jpeg",
    "PNG": "png",
    "GIF": "gif",
    "BMP": "bmp",
    "WEBP": "webp",
}


class VCardParser:
    """vCard address books (.vcf), one row per card."""

    file_format = "vcard"

    def accepts(self, *, file_name: str, head: bytes) -> bool:
        if file_name.lower().endswith((".vcf", ".vcard")):
            return True
        start = head[:2048].replace(b"\x00", b"").lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n")
        return start[:11].upper() == b"BEGIN:VCARD"

    def open(self, path: Path, *, encoding: str | None = None) -> Table:
        """Detect the encoding and count the columns the cards need; cards are read when iterated."""
        chosen = choose(path, encoding)
        counts: Counter[str] = Counter()
        named: dict[str, None] = {}
        cards = 0
        for raw in _raw_cards(path, chosen.name):
            cards += 1
            if raw.lines is None:
                continue
            for line in raw.lines:
                if (found := _NAMED.match(line)) is not None:
                    prefix = (
                        "custom_fields" if found.group(1).upper() == "CUSTOM" else "external_id"
                    )
                    named[f"{prefix}.{found.group(4)}"] = None
            per_card = Counter(
                _KIND_OF[found.group(1).upper()]
                for line in raw.lines
                if (found := _COUNTED.match(line))
            )
            for kind, n in per_card.items():
                counts[kind] = max(counts[kind], n)
        if not cards:
            raise UnreadableFile("No vCard was found in the file (it has no BEGIN:VCARD line).")
        headers = list(NAME_COLUMNS)
        for kind, parts in REPEATED.items():
            for n in range(min(counts[kind], MAX_REPEATS)):
                headers += [f"{kind}[{n}].{part}" for part in parts]
        headers += OTHER_COLUMNS
        headers += list(named)
        table = Table(
            file_format="vcard",
            headers=headers,
            rows=iter(()),
            encoding=chosen.name,
            identity_mapping=True,
        )
        table.add_note(chosen.note)
        table.add_note(f"{cards:,} card(s) found.")
        for kind, n in counts.items():
            if n > MAX_REPEATS:
                table.add_note(f"A card has {n} {kind}; only the first {MAX_REPEATS} are read.")
        table.rows = _rows(table, path, chosen.name)
        return table


@dataclass
class RawCard:
    """One card's physical lines as found between BEGIN and END, or why it is broken."""

    number: int
    line: int
    lines: list[str] | None
    problem: str = ""


def _raw_cards(path: Path, encoding: str) -> Iterator[RawCard]:
    number = 0
    current: list[str] | None = None
    start = size = 0
    too_big = False
    with open_text(path, encoding) as text:
        try:
            for line_number, line in enumerate(
                bounded_lines(text, limit=MAX_CARD_CHARS, path=path, encoding=encoding), start=1
            ):
                content = line.rstrip("\r\n")
                marker = content.strip().upper()
                if marker == "BEGIN:VCARD":
                    if current is not None:
                        number += 1
                        yield RawCard(
                            number, start, None, "it has no END:VCARD before the next card begins"
                        )
                    current, start, size, too_big = [content], line_number, len(content), False
                elif current is None:
                    continue  # text between cards carries nothing
                elif marker == "END:VCARD":
                    number += 1
                    current.append(content)
                    if too_big:
                        problem = f"it is longer than {MAX_CARD_CHARS:,} characters"
                        yield RawCard(number, start, None, problem)
                    else:
                        yield RawCard(number, start, current)
                    current = None
                else:
                    size += len(content)
                    if size > MAX_CARD_CHARS:
                        too_big, current = True, []
                    elif not too_big:
                        current.append(content)
        except LineTooLong as exc:
            raise UnreadableFile(
                f"line {exc.number:,}: the line is longer than {MAX_CARD_CHARS:,} characters."
            ) from None
    if current is not None:
        number += 1
        yield RawCard(number, start, None, "the file ends before its END:VCARD")


@dataclass
class Property:
    """One content line: name, group, parameters (upper-cased names) and the raw value."""

    name: str
    group: str
    params: dict[str, list[str]]
    flags: list[str]
    value: str
    line: int

    def param(self, name: str) -> str:
        values = self.params.get(name)
        return values[0] if values else ""

    @property
    def types(self) -> list[str]:
        words = [w for v in self.params.get("TYPE", []) for w in v.split(",")]
        words += [w for w in self.flags if w.upper() not in _ENCODING_WORDS]
        return [w.strip().lower() for w in words if w.strip()]

    @property
    def preferred(self) -> bool:
        return "pref" in self.types or self.param("PREF") == "1"

    @property
    def quoted_printable(self) -> bool:
        return self.param("ENCODING").upper() == "QUOTED-PRINTABLE" or any(
            f.upper() == "QUOTED-PRINTABLE" for f in self.flags
        )


class BrokenCard(Exception):
    """A card whose lines cannot be parsed; the message names the line."""


def _properties(raw: RawCard) -> list[Property]:
    assert raw.lines is not None
    properties: list[Property] = []
    text = "\n".join(raw.lines) + "\n"
    try:
        for logical, n in getLogicalLines(io.StringIO(text), True):
            line = raw.line + max(n - 1, 0)
            try:
                name, params, value, group = parseLine(logical, n)
            except (ParseError, VObjectError):
                raise BrokenCard(f"line {line:,} cannot be read: “{logical[:60]}”") from None
            table: dict[str, list[str]] = {}
            flags: list[str] = []
            for param in params:
                if len(param) == 1:
                    flags.append(param[0])
                else:
                    table.setdefault(param[0].upper(), []).extend(param[1:])
            properties.append(
                Property(name.upper(), (group or "").lower(), table, flags, value or "", line)
            )
    except (ParseError, VObjectError) as exc:
        raise BrokenCard(str(exc)) from None
    return properties


@dataclass
class _Card:
    """What one card says, before it becomes a row."""

    values: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[tuple[bool, dict[str, str]]]] = field(
        default_factory=lambda: {kind: [] for kind in REPEATED}
    )
    notes: list[str] = field(default_factory=list)


def _rows(table: Table, path: Path, encoding: str) -> Iterator[tuple[int, list[str] | None]]:
    positions = {header: index for index, header in enumerate(table.headers)}
    ignored: Counter[str] = Counter()
    for raw in _raw_cards(path, encoding):
        where = f"Card {raw.number:,} (line {raw.line:,})"
        if raw.lines is None:
            table.row_problems[raw.number] = f"{where}: {raw.problem}."
            table.add_note(table.row_problems[raw.number])
            yield raw.number, None
            continue
        try:
            card = _read_card(_properties(raw), ignored)
        except BrokenCard as exc:
            table.row_problems[raw.number] = f"{where}: {exc}."
            table.add_note(table.row_problems[raw.number])
            yield raw.number, None
            continue
        for note in card.notes:
            table.add_note(f"{where}: {note}")
        yield raw.number, _cells(card, positions)
    if ignored:
        listed = ", ".join(f"{name} ({count:,} card(s))" for name, count in ignored.most_common(10))
        table.add_note(f"Not imported, no contact field holds them: {listed}.")


def _cells(card: _Card, positions: dict[str, int]) -> list[str]:
    cells = [""] * len(positions)
    for key, value in card.values.items():
        if key in positions:
            cells[positions[key]] = value
    for kind, entries in card.lists.items():
        ordered = sorted(entries, key=lambda entry: not entry[0])  # preferred first, stable
        for n, (_, entry) in enumerate(ordered[:MAX_REPEATS]):
            for part, value in entry.items():
                index = positions.get(f"{kind}[{n}].{part}")
                if index is not None:
                    cells[index] = value
    return cells


@dataclass
class OneCard:
    """One card read on its own (a card a CardDAV client sends): its row, with the
    headers that row needs, the notes on values left out, and every property."""

    headers: list[str]
    cells: list[str]
    notes: list[str]
    properties: list[Property]
    ignored: set[str]


def read_one_card(lines: list[str]) -> OneCard:
    """The card in ``lines`` (BEGIN:VCARD … END:VCARD, unfolded or not) as a row for
    the identity mapping. Raises BrokenCard naming the line that cannot be read."""
    properties = _properties(RawCard(1, 1, lines))
    ignored: Counter[str] = Counter()
    card = _read_card(properties, ignored)
    headers = list(NAME_COLUMNS)
    for kind, parts in REPEATED.items():
        for n in range(min(len(card.lists[kind]), MAX_REPEATS)):
            headers += [f"{kind}[{n}].{part}" for part in parts]
    headers += OTHER_COLUMNS
    headers += [key for key in card.values if key not in headers]
    positions = {header: index for index, header in enumerate(headers)}
    return OneCard(headers, _cells(card, positions), card.notes, properties, set(ignored))


def _read_card(properties: list[Property], ignored: Counter[str]) -> _Card:
    card = _Card()
    labels = {
        p.group: _label_text(p.value) for p in properties if p.name == "X-ABLABEL" and p.group
    }
    kinds = {
        p.group: p.value.strip() for p in properties if p.name == "X-RAPPORT-URL-KIND" and p.group
    }
    # A Rapport export's UID is Rapport's own id for the contact, not another system's.
    own_export = any(p.name == "PRODID" and "//rapport//" in p.value.lower() for p in properties)
    seen_ignored: set[str] = set()
    for prop in properties:
        name = prop.name
        if name in _RAPPORT_VALUES:
            card.values[_RAPPORT_VALUES[name]] = _text(prop, card).strip()
        elif name == "X-RAPPORT-CUSTOM" and prop.param("KEY"):
            card.values[f"custom_fields.{prop.param('KEY')}"] = _text(prop, card)
        elif name == "X-RAPPORT-EXTERNAL-ID" and prop.param("SOURCE"):
            card.values[f"external_id.{prop.param('SOURCE')}"] = _text(prop, card).strip()
        elif name == "X-RAPPORT-URL-KIND":
            continue
        elif name == "FN":
            card.values["full_name"] = _text(prop, card)
        elif name == "N":
            # Each component may be a list ("Jr.,M.D."); an escaped comma is part of a name.
            raw = _split(_text(prop, card, unescape=False), ";") + [""] * 5
            family, given, middle, prefix, suffix = (
                " ".join(_unescape(piece).strip() for piece in _split(part, ",") if piece.strip())
                for part in raw[:5]
            )
            for key, value in (
                ("family_name", family),
                ("given_name", given),
                ("middle_name", middle),
                ("prefix", prefix),
                ("suffix", suffix),
            ):
                if value.strip():
                    card.values[key] = value.strip()
        elif name == "NICKNAME":
            card.values["nickname"] = _text(prop, card)
        elif name in ("EMAIL", "TEL", "URL", "X-SOCIALPROFILE"):
            _add_value(card, prop, labels)
            if name == "URL" and prop.group in kinds and card.lists["urls"]:
                card.lists["urls"][-1][1]["kind"] = kinds[prop.group]
        elif name == "ADR":
            _add_address(card, prop, labels)
        elif name == "BDAY":
            _add_birthday(card, prop)
        elif name == "TITLE":
            card.values["job_title"] = _text(prop, card)
        elif name == "ORG":
            parts = [p.strip() for p in _components(prop, card)]
            if parts and parts[0]:
                card.values["organization.name"] = parts[0]
            department = ", ".join(p for p in parts[1:] if p)
            if department:
                card.values["affiliation.department"] = department
        elif name == "NOTE":
            note = _text(prop, card)
            previous = card.values.get("notes")
            card.values["notes"] = f"{previous}\n\n{note}" if previous else note
        elif name == "CATEGORIES":
            tags = [t.strip() for t in _split(_text(prop, card, unescape=False), ",")]
            tags = [_unescape(t) for t in tags if t]
            if tags:
                previous = card.values.get("tags")
                card.values["tags"] = ",".join(([previous] if previous else []) + tags)
        elif name == "UID":
            if not own_export:
                card.values["external_id"] = _text(prop, card)
        elif name == "PHOTO":
            _add_photo(card, prop)
        elif (name == "X-ABSHOWAS" and prop.value.strip().upper() == "COMPANY") or (
            name == "KIND" and prop.value.strip().lower() == "org"
        ):
            card.notes.append("it describes an organization; it becomes a contact named after it.")
        elif name not in _SILENT and name not in seen_ignored and prop.value.strip():
            seen_ignored.add(name)
            ignored[name] += 1
    return card


def _label(prop: Property, labels: dict[str, str]) -> str:
    if prop.group and labels.get(prop.group):
        return labels[prop.group][:MAX_LABEL_CHARS]
    words: list[str] = []
    for word in prop.types:
        mapped = _TYPE_WORDS.get(word)
        if prop.name == "X-SOCIALPROFILE" and not mapped and word not in ("pref",):
            mapped = word
        if mapped and mapped not in words:
            words.append(mapped)
    if "mobile" in words and "iphone" in words:
        words.remove("mobile")
    return " ".join(words)[:MAX_LABEL_CHARS]


def _label_text(value: str) -> str:
    text = _unescape(value).strip()
    apple = _APPLE_LABEL.match(text)
    return apple.group(1).lower() if apple else text


def _add_value(card: _Card, prop: Property, labels: dict[str, str]) -> None:
    value = _text(prop, card).strip()
    if prop.name == "EMAIL" and value.lower().startswith("mailto:"):
        value = value[7:]
    if prop.name == "TEL" and value.lower().startswith("tel:"):
        value = value[4:]
    if not value:
        return
    kind = _KIND_OF[prop.name]
    key = REPEATED[kind][0]
    card.lists[kind].append((prop.preferred, {key: value, "label": _label(prop, labels)}))


def _add_address(card: _Card, prop: Property, labels: dict[str, str]) -> None:
    parts = [p.strip() for p in _components(prop, card)] + [""] * 7
    pobox, extended, street, locality, region, postcode, country = parts[:7]
    lines = [p for p in (street, extended) if p]
    if pobox:
        lines.append(pobox if not pobox.isdecimal() else f"PO Box {pobox}")
    entry = {
        "street": "\n".join(lines),
        "locality": locality,
        "region": region,
        "postcode": postcode,
        "country": country,
        "label": _label(prop, labels),
    }
    if any(entry[part] for part in ("street", "locality", "region", "postcode", "country")):
        card.lists["addresses"].append((prop.preferred, entry))


def _add_birthday(card: _Card, prop: Property) -> None:
    value = _text(prop, card).strip()
    found = _DATE.match(value)
    if found:
        year, month, day = (int(part) for part in found.groups())
        omitted = prop.param("X-APPLE-OMIT-YEAR")
        if omitted and omitted == found.group(1):
            card.notes.append(f"the birthday {month:02d}-{day:02d} has no year; it was left out.")
            return
        try:
            card.values["birthday"] = dt.date(year, month, day).isoformat()
        except ValueError:
            card.notes.append(f"the birthday “{value}” is not a date; it was left out.")
        return
    if value.startswith("--"):
        card.notes.append(f"the birthday “{value}” has no year; it was left out.")
    elif value:
        card.notes.append(f"the birthday “{value[:40]}” is not a full date; it was left out.")


def _add_photo(card: _Card, prop: Property) -> None:
    value = "".join(prop.value.split())
    if not value:
        return
    if len(value) > MAX_PHOTO_CHARS:
        card.notes.append("the photo is larger than 6 MB; it was left out.")
        return
    if value.lower().startswith("data:"):
        card.values["photo"] = value
        return
    encoding = prop.param("ENCODING").upper()
    if encoding in ("B", "BASE64") or "BASE64" in (f.upper() for f in prop.flags):
        kind = prop.param("TYPE").upper() or next(
            (f.upper() for f in prop.flags if f.upper() in _IMAGE_TYPES), "JPEG"
        )
        subtype = _IMAGE_TYPES.get(kind.removeprefix("IMAGE/"), kind.lower().removeprefix("image/"))
        card.values["photo"] = f"data:image/{subtype};base64,{value}"
        return
    card.notes.append("the photo is a link to elsewhere; it was not fetched.")


def _split(value: str, separator: str) -> list[str]:
    """Split on separators not escaped with a backslash; escapes are kept for _unescape."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return re.sub(
        r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value, flags=re.DOTALL
    )


def _decode_qp(prop: Property, value: str, card: _Card) -> str:
    charset = prop.param("CHARSET") or "utf-8"
    value = _QP_SOFT_BREAK.sub("", value)

    def run(match: re.Match[str]) -> str:
        data = bytes.fromhex(match.group().replace("=", ""))
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            note = f"{prop.name} is not in the charset “{charset}” it names; read as windows-1252."
            if note not in card.notes:
                card.notes.append(note)
            return data.decode("cp1252", errors="replace")

    return _QP_RUN.sub(run, value).replace("\r\n", "\n")


def _text(prop: Property, card: _Card, *, unescape: bool = True) -> str:
    value = prop.value
    if prop.quoted_printable:
        value = _decode_qp(prop, value, card)
    return _unescape(value) if unescape else value


def _components(prop: Property, card: _Card) -> list[str]:
    parts = _split(prop.value, ";")
    if prop.quoted_printable:
        parts = [_decode_qp(prop, part, card) for part in parts]
    return [_unescape(part) for part in parts]
