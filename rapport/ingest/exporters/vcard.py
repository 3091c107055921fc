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
import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC

from django.core.files.storage import default_storage

from rapport.ingest.exporters._source import ContactRecord
from rapport.ingest.exporters.tabular import custom_text

# Names the writer, so an import knows the UID is Rapport's own and not another system's.
PRODID = "-//Rapport//Rapport contacts//EN"
_UID_NAMESPACE = uuid.UUID("5d0b6f1c-4f0e-4b3a-9a57-2f6e0c9d7a11")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


def contact_uid(contact_id: int, created_at_iso: str) -> str:
    """A stable UID for one contact: the same in every export, unlike any other contact's."""
    return "urn:uuid:" + str(uuid.uuid5(_UID_NAMESPACE, f"contact:{contact_id}:{created_at_iso}"))


def escape(value: str) -> str:
    """A text value (or one component of N/ADR/ORG) with RFC 6350 escapes."""
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
    out: list[bytes] = []
    for line in lines:
        limit = 75
        while len(line) > limit:
            cut = limit
            while 0x80 <= line[cut] < 0xC0:  # never split a UTF-8 sequence
                cut -= 1
            out.append(line[:cut])
            line = b" " + line[cut:]
            limit = 75
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


class _Lines(list):  # type: ignore[type-arg]
    """A card's lines, numbering the groups that carry a label vCard has no TYPE for."""

    groups = 0

    def labelled(
        self, name: str, value: str, label: str, primary: bool, v4: bool, extra: str = ""
    ) -> None:
        params = name
        known = _TYPE_OF_LABEL.get(label)
        if known:
            params += f";TYPE={known}"
        if primary:
            params += ";PREF=1" if v4 else ";TYPE=pref"
        group = ""
        if (label and not known) or extra:
            self.groups += 1
            group = f"item{self.groups}."
        self.append(f"{group}{params}:{value}")
        if label and not known:
            self.append(f"{group}X-ABLabel:{escape(label)}")
        if extra:
            self.append(f"{group}{extra}")


def _primary_first(items: list) -> list:  # type: ignore[type-arg]
    if not items or items[0][-1]:
        return items
    return sorted(items, key=lambda item: not item[-1])


def _photo(name: str, version: str) -> str | None:
    try:
        with default_storage.open(name, "rb") as handle:
            data = base64.b64encode(handle.read()).decode("ascii")
    except OSError:
        return None
    if version == "4.0":
        return f"PHOTO:data:image/jpeg;base64,{data}"
    return f"PHOTO;ENCODING=b;TYPE=JPEG:{data}"


def card(r: ContactRecord, version: str) -> bytes:
    """One contact as a vCard of ``version`` ("4.0" or "3.0"), folded, CRLF line ends."""
    v4 = version == "4.0"
    created = r.created_at.isoformat()
    lines = _Lines(
        [
            "BEGIN:VCARD",
            f"VERSION:{version}",
            f"PRODID:{PRODID}",
            f"UID:{contact_uid(r.id, created)}",
            f"FN:{escape(r.display_name)}",
            "N:"
            + ";".join(
                escape(part)
                for part in (r.family_name, r.given_name, r.middle_name, r.prefix, r.suffix)
            ),
        ]
    )
    if r.nickname:
        lines.append(f"NICKNAME:{escape(r.nickname)}")
    for address, label, primary in _primary_first(r.emails):
        lines.labelled("EMAIL", escape(address), label, primary, v4)
    for _number, e164, extension, label, primary in _primary_first(r.phones):
        if v4:
            uri = f"tel:{e164}" + (f";ext={extension}" if extension else "")
            lines.labelled("TEL;VALUE=uri", uri, label, primary, v4)
        else:
            text = e164 + (f" ext. {extension}" if extension else "")
            lines.labelled("TEL", escape(text), label, primary, v4)
    for street, locality, region, postcode, country, label, primary in _primary_first(r.addresses):
        value = ";".join(escape(p) for p in ("", "", street, locality, region, postcode, country))
        lines.labelled("ADR", value, label, primary, v4)
    for url, kind, label, primary in _primary_first(r.urls):
        extra = f"X-RAPPORT-URL-KIND:{kind}" if kind != "website" else ""
        lines.labelled("URL", escape(url), label, primary, v4, extra)
    if r.birthday:
        lines.append(f"BDAY:{r.birthday:%Y%m%d}" if v4 else f"BDAY:{r.birthday.isoformat()}")
    if r.job_title:
        lines.append(f"TITLE:{escape(r.job_title)}")
    if r.affiliation:
        org, title, department = r.affiliation
        lines.append(f"ORG:{escape(org)}" + (f";{escape(department)}" if department else ""))
        if title and title != r.job_title:
            lines.append(f"X-RAPPORT-AFFILIATION-TITLE:{escape(title)}")
    if r.notes:
        lines.append(f"NOTE:{escape(r.notes)}")
    if r.tags:
        lines.append("CATEGORIES:" + ",".join(escape(t) for t in r.tags))
    if r.time_zone:
        lines.append(f"TZ:{escape(r.time_zone)}" if v4 else f"TZ;VALUE=text:{r.time_zone}")
    if r.language:
        lines.append(
            f"LANG:{escape(r.language)}" if v4 else f"X-RAPPORT-LANGUAGE:{escape(r.language)}"
        )
    lines.append(f"X-RAPPORT-LIFECYCLE-STAGE:{r.lifecycle_stage}")
    if r.owner:
        lines.append(f"X-RAPPORT-OWNER:{escape(r.owner)}")
    if r.source:
        lines.append(f"X-RAPPORT-SOURCE:{escape(r.source)}")
    for source, value in r.external_ids:
        lines.append(f"X-RAPPORT-EXTERNAL-ID;SOURCE={param(source)}:{escape(value)}")
    if r.custom_fields:
        for key, value in r.custom_fields.items():
            text = custom_text(value)
            if text:
                lines.append(f"X-RAPPORT-CUSTOM;KEY={param(key)}:{escape(text)}")
    if r.photo:
        photo = _photo(r.photo, version)
        if photo:
            lines.append(photo)
    lines.append(f"REV:{r.updated_at.astimezone(UTC):%Y%m%dT%H%M%SZ}")
    lines.append("END:VCARD\r\n")
    return fold("\r\n".join(lines).encode())


def vcard_stream(chunks: Iterable[list[ContactRecord]], *, version: str) -> Iterator[bytes]:
    """A .vcf file of every contact, one card after another, one chunk per yield."""
    for records in chunks:
        yield b"".join([card(r, version) for r in records])
