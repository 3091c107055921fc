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
from typing import Any

from django.core.files.storage import default_storage

from rapport.ingest.exporters import _source as c
from rapport.ingest.exporters._pipeline import written
from rapport.ingest.exporters._source import Chunk, Rows, chunk_of
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


_BEGIN = "BEGIN:VCARD\r\nVERSION:{}\r\nPRODID:" + PRODID
# The contact row's text values that cards escape, read from one escaped row.
_ESCAPED = slice(c.DISPLAY_NAME, c.NOTES + 1)


def _escaped_parts(parts: tuple[str, ...]) -> str:
    """The parts of a structured value (N, ADR), escaped and joined with semicolons."""
    joined = ";".join(parts)
    if joined.count(";") == len(parts) - 1 and not (
        "\\" in joined or "," in joined or "\n" in joined or "\r" in joined
    ):
        return joined
    return ";".join([escape(part) for part in parts])


def cards(chunk: Chunk, version: str) -> bytes:
    """A chunk's contacts as vCards of ``version`` ("4.0" or "3.0"), folded, CRLF line ends.

    Related rows come from the source primary first. Most values need no escape, so a
    contact's text values are checked at once and escaped one by one only when needed.
    """
    v4 = version == "4.0"
    begin = _BEGIN.format(version)
    email_props = _Properties("EMAIL", v4)
    tel_props = _Properties("TEL;VALUE=uri" if v4 else "TEL", v4)
    adr_props = _Properties("ADR", v4)
    url_props = _Properties("URL", v4)
    emails, phones, addresses, urls = chunk.emails, chunk.phones, chunk.addresses, chunk.urls
    external_ids, tags, affiliations = chunk.external_ids, chunk.tags, chunk.affiliations
    out: list[bytes] = []
    for r in chunk.contacts:
        contact_id = r[0]
        created = r[c.CREATED_AT]
        texts = r[_ESCAPED]
        joined = "\x00".join(texts)
        e: Any = r
        if "\\" in joined or "," in joined or ";" in joined or "\n" in joined or "\r" in joined:
            e = (contact_id, *[escape(text) for text in texts])
        lines = [
            begin,
            "UID:" + contact_uid(contact_id, created[:10] + "T" + created[11:] + "+00:00"),
            "FN:" + e[c.DISPLAY_NAME],
            "N:"
            + e[c.FAMILY_NAME]
            + ";"
            + e[c.GIVEN_NAME]
            + ";"
            + e[c.MIDDLE_NAME]
            + ";"
            + e[c.PREFIX]
            + ";"
            + e[c.SUFFIX],
        ]
        append = lines.append
        groups = 0
        if r[c.NICKNAME]:
            append("NICKNAME:" + e[c.NICKNAME])
        items: Any = emails.get(contact_id)
        if items:
            for address, label, primary in items:
                params, ablabel = email_props[label, primary]
                if ablabel:
                    groups += 1
                    group = f"item{groups}."
                    append(group + params + escape(address))
                    append(group + ablabel)
                else:
                    append(params + escape(address))
        items = phones.get(contact_id)
        if items:
            for _number, label, e164, extension, primary in items:
                if v4:
                    value = "tel:" + e164 + (";ext=" + extension if extension else "")
                else:
                    value = escape(e164 + (" ext. " + extension if extension else ""))
                params, ablabel = tel_props[label, primary]
                if ablabel:
                    groups += 1
                    group = f"item{groups}."
                    append(group + params + value)
                    append(group + ablabel)
                else:
                    append(params + value)
        items = addresses.get(contact_id)
        if items:
            for item in items:
                value = ";;" + _escaped_parts(item[:5])
                params, ablabel = adr_props[item[5], item[6]]
                if ablabel:
                    groups += 1
                    group = f"item{groups}."
                    append(group + params + value)
                    append(group + ablabel)
                else:
                    append(params + value)
        items = urls.get(contact_id)
        if items:
            for url, label, kind, primary in items:
                params, ablabel = url_props[label, primary]
                if ablabel or kind != "website":
                    groups += 1
                    group = f"item{groups}."
                    append(group + params + escape(url))
                    if ablabel:
                        append(group + ablabel)
                    if kind != "website":
                        append(group + "X-RAPPORT-URL-KIND:" + kind)
                else:
                    append(params + escape(url))
        birthday = r[c.BIRTHDAY]
        if birthday:
            if not v4:
                append("BDAY:" + birthday)
            elif birthday[0] != "0":
                append("BDAY:" + birthday.replace("-", ""))
            else:  # strftime writes a year before 1000 with fewer digits
                append(f"BDAY:{dt.date.fromisoformat(birthday):%Y%m%d}")
        job_title = r[c.JOB_TITLE]
        if job_title:
            append("TITLE:" + e[c.JOB_TITLE])
        affiliation = affiliations.get(contact_id)
        if affiliation:
            org, title, department = affiliation
            append("ORG:" + escape(org) + (";" + escape(department) if department else ""))
            if title and title != job_title:
                append("X-RAPPORT-AFFILIATION-TITLE:" + escape(title))
        if r[c.NOTES]:
            append("NOTE:" + e[c.NOTES])
        items = tags.get(contact_id)
        if items:
            append("CATEGORIES:" + ",".join([escape(t) for t in items]))
        if r[c.TIME_ZONE]:
            append("TZ:" + e[c.TIME_ZONE] if v4 else "TZ;VALUE=text:" + r[c.TIME_ZONE])
        if r[c.LANGUAGE]:
            append(("LANG:" if v4 else "X-RAPPORT-LANGUAGE:") + e[c.LANGUAGE])
        append("X-RAPPORT-LIFECYCLE-STAGE:" + r[c.LIFECYCLE_STAGE])
        if r[c.OWNER]:
            append("X-RAPPORT-OWNER:" + e[c.OWNER])
        if r[c.SOURCE]:
            append("X-RAPPORT-SOURCE:" + e[c.SOURCE])
        items = external_ids.get(contact_id)
        if items:
            for source, value in items:
                append(f"X-RAPPORT-EXTERNAL-ID;SOURCE={param(source)}:{escape(value)}")
        if r[c.CUSTOM_FIELDS] != "{}":
            for key, value in c.custom_fields(r[c.CUSTOM_FIELDS]).items():
                text = custom_text(value)
                if text:
                    append(f"X-RAPPORT-CUSTOM;KEY={param(key)}:{escape(text)}")
        if r[c.PHOTO]:
            photo = _photo(r[c.PHOTO], version)
            if photo:
                append(photo)
        u = r[c.UPDATED_AT]
        append(f"REV:{u[:4]}{u[5:7]}{u[8:10]}T{u[11:13]}{u[14:16]}{u[17:19]}Z\r\nEND:VCARD\r\n")
        text = "\r\n".join(lines)
        card = text.encode()
        # An ASCII card has one octet a character, and no line longer than the longest
        # item of lines (a few hold more than one line): most need no look at their lines.
        if max(map(len, lines)) > 75 or len(card) != len(text):
            card = fold(card)
        out.append(card)
    return b"".join(out)


def vcard_stream(chunks: Iterable[Rows], *, version: str, serial_chunks: int) -> Iterator[bytes]:
    """A .vcf file of every contact, one card after another, one chunk per yield."""

    def write(read: Rows) -> bytes:
        return cards(chunk_of(read), version)

    return written(chunks, write, serial_chunks=serial_chunks)
