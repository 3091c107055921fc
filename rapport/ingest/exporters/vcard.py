"""vCard 4.0 (RFC 6350) and 3.0 (RFC 2426) exports, written by hand for speed.

What a card holds and where Rapport keeps it:

- ``FN`` display name; ``N`` family;given;middle;prefix;suffix; ``NICKNAME``
- ``EMAIL``, ``TEL``, ``ADR``, ``URL`` in order with the primary first, marked
  ``PREF=1`` (4.0) or ``TYPE=pref`` (3.0). A label vCard knows is a ``TYPE`` (``work``,
  ``home``, ``mobile`` as ``cell`` …); any other is Apple's ``itemN.X-ABLabel``. Phones are
  ``TEL;VALUE=uri:tel:+14155550100;ext=12`` in 4.0 and the E.164 text in 3.0. ADR's
  country is the ISO 3166-1 code Rapport stores.
- ``BDAY``, ``TITLE`` (job title), ``ORG`` (organization;department of the current
  affiliation), ``NOTE``, ``CATEGORIES`` (tags), ``TZ``, ``LANG`` (4.0), ``REV``,
  ``PHOTO`` (a data: URI in 4.0, inline base64 in 3.0)
- ``UID``: ``urn:uuid:`` derived from the contact's id and creation time, the same in
  every export of that contact
- what vCard has no property for: ``X-RAPPORT-LIFECYCLE-STAGE``, ``X-RAPPORT-OWNER``,
  ``X-RAPPORT-SOURCE``, ``X-RAPPORT-AFFILIATION-TITLE``, ``X-RAPPORT-URL-KIND`` (on a
  URL's group), ``X-RAPPORT-EXTERNAL-ID;SOURCE=…``, ``X-RAPPORT-CUSTOM;KEY=…`` and, in
  3.0, ``X-RAPPORT-LANGUAGE``

Text values escape backslash, comma, semicolon and newlines; lines are folded at 75
octets without splitting a UTF-8 character; lines end with CRLF.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Iterable, Iterator
from itertools import chain
from operator import itemgetter
from typing import Any

from django.core.files.storage import default_storage

from rapport.ingest.exporters import _source as c
from rapport.ingest.exporters._pipeline import written
from rapport.ingest.exporters._source import Rows
from rapport.ingest.exporters.tabular import custom_text

# Names the writer, so an import knows the UID is Rapport's own and not another system's.
PRODID = "-//Rapport//Rapport contacts//EN"
_UID_NAMESPACE = uuid.UUID("5d0b6f1c-4f0e-4b3a-9a57-2f6e0c9d7a11")
_UID_PREFIX = _UID_NAMESPACE.bytes
# The RFC 4122 variant bits over the first hex digit of the clock sequence.
_UID_VARIANT = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


def contact_uid(contact_id: int, created_at_iso: str) -> str:
    """A stable UID for one contact: the same in every export, unlike any other contact's.

    ``uuid.uuid5`` of the contact's id and creation time, computed on the hex digest
    without building a UUID object (a sizeable part of a card's time otherwise)."""
    h = hashlib.sha1(_UID_PREFIX + f"contact:{contact_id}:{created_at_iso}".encode()).hexdigest()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-5{h[13:16]}-{_UID_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def escape(value: str) -> str:
    """A text value (or one component of N/ADR/ORG) with RFC 6350 escapes."""
    if not ("\\" in value or "," in value or ";" in value or "\n" in value or "\r" in value):
        return value
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def param(value: str) -> str:
    """A parameter value: bare when it is a token, else quoted (RFC 6868 caret escapes)."""
    if _TOKEN.match(value):
        return value
    value = value.replace("^", "^^").replace("\r\n", "^n").replace("\n", "^n").replace('"', "^'")
    return f'"{value}"'


def fold(card: bytes) -> bytes:
    """Fold every line longer than 75 octets (continuations start with a space)."""
    lines = card.split(b"\r\n")
    if max(map(len, lines)) <= 75:
        return card
    for i, line in enumerate(lines):
        if len(line) > 75:
            lines[i] = _folded(line)
    return b"\r\n".join(lines)


def _folded(line: bytes) -> bytes:
    out: list[bytes] = []
    while len(line) > 75:
        cut = 75
        while 0x80 <= line[cut] < 0xC0:  # never split a UTF-8 sequence
            cut -= 1
        out.append(line[:cut])
        line = b" " + line[cut:]
    out.append(line)
    return b"\r\n".join(out)


# Labels vCard readers know as TYPE values; any other label is written Apple's way, as
# an X-ABLabel on the property's group (item1.EMAIL + item1.X-ABLabel).
_TYPE_OF_LABEL = {
    word: word
    for word in (
        "work", "home", "main", "fax", "pager", "other", "text", "video", "car", "isdn",
        "homepage", "blog", "profile", "school", "iphone",
    )
} | {"mobile": "cell"}  # fmt: skip


class _Properties(dict[tuple[str, bool], tuple[str, str]]):
    """For one property (EMAIL, TEL …) and vCard version: by (label, primary), the
    property's name and parameters up to the colon, and the X-ABLabel line its group
    carries when vCard has no TYPE for the label ("" when it has one or there is none)."""

    def __init__(self, name: str, v4: bool) -> None:
        super().__init__()
        self.name, self.v4 = name, v4

    def __missing__(self, key: tuple[str, bool]) -> tuple[str, str]:
        label, primary = key
        params = self.name
        known = _TYPE_OF_LABEL.get(label)
        if known:
            params += ";TYPE=" + known
        if primary:
            params += ";PREF=1" if self.v4 else ";TYPE=pref"
        ablabel = "X-ABLabel:" + escape(label) if label and not known else ""
        self[key] = (params + ":", ablabel)
        return self[key]


def _photo(name: str, version: str) -> str | None:
    try:
        with default_storage.open(name, "rb") as handle:
            data = base64.b64encode(handle.read()).decode("ascii")
    except OSError:
        return None
    if version == "4.0":
        return f"PHOTO:data:image/jpeg;base64,{data}"
    return f"PHOTO;ENCODING=b;TYPE=JPEG:{data}"


_BEGIN = "BEGIN:VCARD\r\nVERSION:{}\r\nPRODID:" + PRODID + "\r\nUID:"
# The contact row's text values that cards escape.
_ESCAPED = (
    c.DISPLAY_NAME,
    c.PREFIX,
    c.GIVEN_NAME,
    c.MIDDLE_NAME,
    c.FAMILY_NAME,
    c.SUFFIX,
    c.NICKNAME,
    c.JOB_TITLE,
    c.TIME_ZONE,
    c.LANGUAGE,
    c.OWNER,
    c.SOURCE,
    c.NOTES,
)


def _needs_escape(text: str) -> bool:
    return "\\" in text or "," in text or ";" in text or "\n" in text or "\r" in text


def _escaped_column(values: tuple[str, ...]) -> tuple[str, ...] | list[str]:
    """``escape`` of every value of a column: most columns need none, and the others are
    escaped in one go, joined with NUL (which no escape involves) and split again."""
    joined = "\x00".join(values)
    if not _needs_escape(joined):
        return values
    if joined.count("\x00") != len(values) - 1:  # a value holds a NUL itself
        return [escape(value) for value in values]
    return escape(joined).split("\x00")


def _escaped_parts(parts: tuple[str, ...]) -> str:
    """The parts of a structured value (N, ADR), escaped and joined with semicolons."""
    joined = ";".join(parts)
    if joined.count(";") == len(parts) - 1 and not (
        "\\" in joined or "," in joined or "\n" in joined or "\r" in joined
    ):
        return joined
    return ";".join([escape(part) for part in parts])


def _folded_column(column: list[str]) -> list[str]:
    """A column of card lines (each item "" or whole lines ending with CRLF) with every
    line longer than 75 octets folded. In most columns every item is ASCII and short,
    which two C-level passes over the column tell."""
    if max(map(len, column)) <= 77 and "".join(column).isascii():
        return column
    return [lines if len(lines) <= 77 and lines.isascii() else _fitted(lines) for lines in column]


def _fitted(lines: str) -> str:
    """Whole lines ending with CRLF, each longer than 75 octets folded."""
    data = lines.encode()
    if len(data) <= 77 or max(map(len, data.split(b"\r\n"))) <= 75:
        return lines
    return fold(data).decode()


# Group names of the lines of one card's properties (item1., item2. …).
_GROUPS = [f"item{n}." for n in range(100)]


def _points(rows: Rows, v4: bool) -> dict[int, str]:
    """Each contact's EMAIL, TEL, ADR and URL lines, in that order, folded, as one text.

    The property lines are built a kind at a time over the chunk's rows (values escaped
    a column at once); only the groups (item1., item2. …), numbered within a card, need
    a pass per contact.
    """
    _contacts, emails, phones, addresses, urls, *_ = rows
    # Per row: (contact id, lines without their group, whether they have one, whether a
    # line may be longer than 75 octets). Grouped lines are kept as the pieces around
    # the group names, so that group.join(pieces) writes them: ("", line, extra line …).
    points: list[tuple[int, Any, bool, bool]] = []

    def add(
        contact_ids: Iterable[int], lines: list[str], extras: Iterable[tuple[str, ...]]
    ) -> None:
        # "item99." is 7 octets: a shorter ASCII line fits in 75 octets with its group
        for contact_id, line, more in zip(contact_ids, lines, extras, strict=True):
            long = len(line) > 68 or not line.isascii()
            if more:
                for extra in more:
                    long = long or len(extra) > 68 or not extra.isascii()
                points.append((contact_id, ("", line + "\r\n", *more), True, long))
            else:
                points.append((contact_id, line + "\r\n", False, long))

    def ablabel(label_params: tuple[str, str]) -> tuple[str, ...]:
        return (label_params[1] + "\r\n",) if label_params[1] else ()

    if emails:
        props = _Properties("EMAIL", v4)
        found = [props[label, primary] for _, _, label, primary in emails]
        values = _escaped_column(tuple(row[1] for row in emails))
        lines = [params + value for (params, _), value in zip(found, values, strict=True)]
        add((row[0] for row in emails), lines, map(ablabel, found))
    if phones:
        props = _Properties("TEL;VALUE=uri" if v4 else "TEL", v4)
        found = [props[row[2], row[5]] for row in phones]
        if v4:
            values = [
                "tel:" + e164 + (";ext=" + extension if extension else "")
                for _, _, _, e164, extension, _ in phones
            ]
        else:
            values = [
                escape(e164 + (" ext. " + extension if extension else ""))
                for _, _, _, e164, extension, _ in phones
            ]
        lines = [params + value for (params, _), value in zip(found, values, strict=True)]
        add((row[0] for row in phones), lines, map(ablabel, found))
    if addresses:
        props = _Properties("ADR", v4)
        found = [props[row[6], row[7]] for row in addresses]
        lines = [
            params + ";;" + _escaped_parts(row[1:6])
            for (params, _), row in zip(found, addresses, strict=True)
        ]
        add((row[0] for row in addresses), lines, map(ablabel, found))
    if urls:
        props = _Properties("URL", v4)
        found = [props[row[2], row[4]] for row in urls]
        lines = [params + escape(row[1]) for (params, _), row in zip(found, urls, strict=True)]
        extras = [
            ablabel(label_params)
            + (("X-RAPPORT-URL-KIND:" + row[3] + "\r\n",) if row[3] != "website" else ())
            for label_params, row in zip(found, urls, strict=True)
        ]
        add((row[0] for row in urls), lines, extras)
    # Each kind's rows are in contact order; a stable sort keeps the kinds in order.
    points.sort(key=itemgetter(0))
    texts: dict[int, str] = {}
    card: list[str] = []
    current = groups = 0
    check = False
    for contact_id, text, grouped, long in points:
        if contact_id != current:
            if card:
                texts[current] = _fitted("".join(card)) if check else "".join(card)
            card, current, groups, check = [], contact_id, 0, False
        if grouped:
            groups += 1
            if groups < 100:
                card.append(_GROUPS[groups].join(text))
            else:  # a longer group name than "long" allowed for
                card.append(f"item{groups}.".join(text))
                long = True
        else:
            card.append(text)
        check = check or long
    if card:
        texts[current] = _fitted("".join(card)) if check else "".join(card)
    return texts


def _bday(birthday: str, v4: bool) -> str:
    if not birthday:
        return ""
    if not v4:
        return "BDAY:" + birthday + "\r\n"
    if birthday[0] != "0":
        return "BDAY:" + birthday.replace("-", "") + "\r\n"
    # strftime writes a year before 1000 with fewer digits
    return f"BDAY:{dt.date.fromisoformat(birthday):%Y%m%d}\r\n"


def _org(affiliation: tuple[str, str, str] | None, job_title: str) -> str:
    if affiliation is None:
        return ""
    org, title, department = affiliation
    line = "ORG:" + escape(org) + (";" + escape(department) if department else "") + "\r\n"
    if title and title != job_title:
        line += "X-RAPPORT-AFFILIATION-TITLE:" + escape(title) + "\r\n"
    return line


def _others(items: list[tuple[str, str]] | None, r: tuple[Any, ...], version: str) -> str:
    """External ids (``items``), custom fields and the photo of one contact, if any."""
    lines = []
    if items:
        for source, value in items:
            lines.append(f"X-RAPPORT-EXTERNAL-ID;SOURCE={param(source)}:{escape(value)}\r\n")
    if r[c.CUSTOM_FIELDS] != "{}":
        for key, value in c.custom_fields(r[c.CUSTOM_FIELDS]).items():
            text = custom_text(value)
            if text:
                lines.append(f"X-RAPPORT-CUSTOM;KEY={param(key)}:{escape(text)}\r\n")
    if r[c.PHOTO]:
        photo = _photo(r[c.PHOTO], version)
        if photo:
            lines.append(photo + "\r\n")
    return "".join(lines)


def _optional(prefix: str, values: Any) -> list[str] | None:
    """``prefix`` + value + CRLF for every non-empty value, "" for the others; None when
    no value of the column is set (the column is left out)."""
    if not any(values):
        return None
    return [prefix + value + "\r\n" if value else "" for value in values]


def cards(rows: Rows, version: str) -> bytes:
    """A chunk's contacts as vCards of ``version`` ("4.0" or "3.0"), folded, CRLF line ends.

    Built a column at a time: each property's lines for all the chunk's contacts (one
    item a contact, "" when it has none), escaped and folded a whole column at once, then
    the cards are joined column after column. Related rows come from the source primary
    first.
    """
    contacts, _emails, _phones, _addresses, _urls, external_ids, tags, affiliations = rows
    if not contacts:
        return b""
    contacts = c.contact_rows(contacts)
    v4 = version == "4.0"
    begin = _BEGIN.format(version)
    col = list(zip(*contacts, strict=True))
    ids = col[c.ID]
    e = {i: _escaped_column(col[i]) for i in _ESCAPED}
    # The lines up to UID and from REV on are never longer than 75 octets, and _points
    # folds its own; the other columns are folded here.
    present: list[list[str]] = [
        [
            f"{begin}{contact_uid(i, f'{t[:10]}T{t[11:]}+00:00')}\r\n"
            for i, t in zip(ids, col[c.CREATED_AT], strict=True)
        ]
    ]

    def add(column: list[str] | None) -> None:
        if column is not None:  # None: no contact of the chunk has the property
            present.append(_folded_column(column))

    add(["FN:" + fn + "\r\n" for fn in e[c.DISPLAY_NAME]])
    add(
        [
            f"N:{family};{given};{middle};{prefix};{suffix}\r\n"
            for family, given, middle, prefix, suffix in zip(
                e[c.FAMILY_NAME],
                e[c.GIVEN_NAME],
                e[c.MIDDLE_NAME],
                e[c.PREFIX],
                e[c.SUFFIX],
                strict=True,
            )
        ]
    )
    add(_optional("NICKNAME:", e[c.NICKNAME]))
    points = _points(rows, v4)
    if points:
        present.append([points.get(i, "") for i in ids])
    if any(col[c.BIRTHDAY]):
        add([_bday(b, v4) for b in col[c.BIRTHDAY]])
    add(_optional("TITLE:", e[c.JOB_TITLE]))
    affiliation = c.current_affiliations(affiliations).get
    add([_org(affiliation(i), title) for i, title in zip(ids, col[c.JOB_TITLE], strict=True)])
    add(_optional("NOTE:", e[c.NOTES]))
    if tags:
        names = c.tag_names(tags)
        add(
            [
                "CATEGORIES:" + ",".join([escape(t) for t in names[i]]) + "\r\n"
                if i in names
                else ""
                for i in ids
            ]
        )
    if v4:
        add(_optional("TZ:", e[c.TIME_ZONE]))
        add(_optional("LANG:", e[c.LANGUAGE]))
    else:
        add(_optional("TZ;VALUE=text:", col[c.TIME_ZONE]))
        add(_optional("X-RAPPORT-LANGUAGE:", e[c.LANGUAGE]))
    add(["X-RAPPORT-LIFECYCLE-STAGE:" + stage + "\r\n" for stage in col[c.LIFECYCLE_STAGE]])
    add(_optional("X-RAPPORT-OWNER:", e[c.OWNER]))
    add(_optional("X-RAPPORT-SOURCE:", e[c.SOURCE]))
    if external_ids or any(f != "{}" for f in col[c.CUSTOM_FIELDS]) or any(col[c.PHOTO]):
        ids_of = c.by_contact(external_ids)
        add([_others(ids_of.get(r[c.ID]), r, version) for r in contacts])
    present.append(
        [
            f"REV:{u[:4]}{u[5:7]}{u[8:10]}T{u[11:13]}{u[14:16]}{u[17:19]}Z\r\nEND:VCARD\r\n"
            for u in col[c.UPDATED_AT]
        ]
    )
    return "".join(chain.from_iterable(zip(*present, strict=True))).encode()


def vcard_stream(chunks: Iterable[Rows], *, version: str, serial_chunks: int) -> Iterator[bytes]:
    """A .vcf file of every contact, one card after another, one chunk per yield."""

    def write(read: Rows) -> bytes:
        return cards(read, version)

    return written(chunks, write, serial_chunks=serial_chunks)


def cards_by_contact(rows: Rows, version: str) -> list[tuple[int, bytes]]:
    """Each contact of a chunk with its own card (as ``cards`` writes them, without
    ``REV``: an address book's card changes when what it shows changes, not with every
    save of the record), in id order."""
    contacts = c.contact_rows(rows[0])
    if not contacts:
        return []
    end = b"\r\nEND:VCARD\r\n"  # only a card's own end: values never hold a bare CRLF
    parts = cards(rows, version).split(end)[:-1]
    return [
        (
            row[c.ID],
            b"\r\n".join(line for line in part.split(b"\r\n") if not line.startswith(b"REV:"))
            + end,
        )
        for row, part in zip(contacts, parts, strict=True)
    ]
