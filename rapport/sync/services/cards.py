"""Cards as clients write them: reading one, keeping what Rapport does not model, and
giving a client back what it wrote.

A card a client PUTs is read with the vCard importer's reader (``read_one_card``): the
properties Rapport models (names, emails, phones, addresses, links, birthday, title,
organization, note, known categories, photo, Rapport's own ``X-RAPPORT-*``) become
contact fields through the contact services. Every other line — X- properties, a
client's groups and their labels, categories that are not tags, a value the services
refused (a birthday without a year, a number that is not one) — is kept verbatim as
the card's *residual*.

What a client gets back (``served``):

- while the contact is as that write left it (Rapport's own rendering of the contact
  has the same fingerprint it had right after the write), the card exactly as the
  client sent it, byte for byte: a phone's own formatting of a number, its groups and
  labels survive a round trip untouched;
- once the contact changed in Rapport (an edit, a merge, a tag renamed), Rapport's card
  with the client's UID and the residual lines appended, so the change shows and
  nothing the client wrote is dropped.
"""

from __future__ import annotations

import hashlib
import io
import quopri
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from vobject.base import ParseError, VObjectError, getLogicalLines

from rapport.ingest.exporters.vcard import fold
from rapport.ingest.parsers.vcard_parser import BrokenCard, OneCard, read_one_card
from rapport.ingest.records import RowRecord, build_record, contact_data

MAX_CARD_BYTES = 1_048_576  # also advertised as the books' max-resource-size

# Properties the contact services hold (with everything the reader maps to a field).
MODELLED = {
    "BEGIN", "END", "VERSION", "PRODID", "REV", "UID", "FN", "N", "NICKNAME", "EMAIL",
    "TEL", "URL", "ADR", "BDAY", "TITLE", "ORG", "NOTE", "PHOTO",
    "LANG", "TZ", "X-RAPPORT-LIFECYCLE-STAGE", "X-RAPPORT-OWNER", "X-RAPPORT-SOURCE",
    "X-RAPPORT-AFFILIATION-TITLE", "X-RAPPORT-LANGUAGE", "X-RAPPORT-CUSTOM",
    "X-RAPPORT-EXTERNAL-ID", "X-RAPPORT-URL-KIND",
}  # fmt: skip
_HEAD = re.compile(r"^(?:([A-Za-z0-9-]+)\.)?([A-Za-z0-9-]+)(?=[;:])")


class CardRefused(Exception):
    """A card the server cannot take: ``condition`` is the CardDAV precondition
    (``valid-address-data``, ``no-uid-conflict``, ``max-resource-size``), the message
    says why in words."""

    def __init__(self, condition: str, message: str, holder: str = "") -> None:
        super().__init__(message)
        self.condition = condition
        self.message = message
        self.holder = holder  # the card name that already has the UID


@dataclass
class Incoming:
    """A card a client sent, read."""

    uid: str
    version: str
    text: str  # the card as sent, decoded
    record: RowRecord
    lines: list[str]  # logical (unfolded) lines
    residual: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    photo: str = ""  # a data: URI
    notes: list[str] = field(default_factory=list)

    def data(self) -> dict[str, Any]:
        return contact_data(self.record, "carddav")


def decode(body: bytes, content_type: str) -> str:
    """The card's text: in the charset Content-Type names, else UTF-8, else
    windows-1252 (what old clients write without saying so)."""
    found = re.search(r"charset=\"?([A-Za-z0-9_.:-]+)", content_type or "", re.IGNORECASE)
    tried = [found.group(1)] if found else []
    for charset in [*tried, "utf-8"]:
        try:
            return body.decode(charset).removeprefix("\ufeff")
        except (LookupError, UnicodeError, ValueError):
            continue
    return body.decode("cp1252", errors="replace")


def _logical(text: str) -> list[str]:
    try:
        return [line for line, _n in getLogicalLines(io.StringIO(text), True) if line.strip()]
    except (ParseError, VObjectError) as exc:
        raise CardRefused("valid-address-data", f"The card cannot be read: {exc}") from None


def _head(line: str) -> tuple[str, str]:
    found = _HEAD.match(line)
    if not found:
        return "", ""
    return (found.group(1) or "").lower(), found.group(2).upper()


def read(body: bytes, content_type: str = "") -> Incoming:
    """Read one card a client PUT. Raises CardRefused (``valid-address-data``) for
    anything that is not exactly one readable vCard with a UID."""
    if len(body) > MAX_CARD_BYTES:
        raise CardRefused("max-resource-size", f"A card may be at most {MAX_CARD_BYTES:,} bytes.")
    text = decode(body, content_type).replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise CardRefused("valid-address-data", "The card holds a NUL character.")
    raw_lines = text.split("\n")
    markers = [line.strip().upper() for line in raw_lines]
    begins, ends = markers.count("BEGIN:VCARD"), markers.count("END:VCARD")
    if begins == 0:
        raise CardRefused("valid-address-data", "This is not a vCard: it has no BEGIN:VCARD.")
    if begins > 1 or ends > 1:
        raise CardRefused(
            "valid-address-data", "A resource holds one card; this one holds several."
        )
    if ends == 0 or markers.index("END:VCARD") < markers.index("BEGIN:VCARD"):
        raise CardRefused("valid-address-data", "The card has no END:VCARD.")
    start, stop = markers.index("BEGIN:VCARD"), markers.index("END:VCARD")
    if any(m for m in markers[:start] + markers[stop + 1 :]):
        raise CardRefused("valid-address-data", "There is text outside the card.")
    card_lines = raw_lines[start : stop + 1]
    lines = _logical("\n".join(card_lines) + "\n")
    try:
        one: OneCard = read_one_card(card_lines)
    except BrokenCard as exc:
        raise CardRefused("valid-address-data", f"The card cannot be read: {exc}") from None
    uids = [p.value.strip() for p in one.properties if p.name == "UID" and p.value.strip()]
    if not uids:
        raise CardRefused("valid-address-data", "The card has no UID.")
    if len(uids) > 1:
        raise CardRefused("valid-address-data", "The card has more than one UID.")
    if len(uids[0]) > 255:
        raise CardRefused("valid-address-data", "The card's UID is longer than 255 characters.")
    versions = [p.value.strip() for p in one.properties if p.name == "VERSION"]
    version = versions[0] if versions else "3.0"
    if version not in ("2.1", "3.0", "4.0"):
        raise CardRefused("valid-address-data", f"vCard version “{version}” is not supported.")
    mapping = {h: h for h in one.headers if h not in ("photo", "external_id", "tags")}
    record = build_record(mapping, one.headers, one.cells)
    cells = dict(zip(one.headers, one.cells, strict=True))
    incoming = Incoming(
        uid=uids[0],
        version=version,
        text=text,
        record=record,
        lines=lines,
        categories=[t for t in cells.get("tags", "").split(",") if t.strip()],
        photo=cells.get("photo", ""),
        notes=list(one.notes),
    )
    modelled_groups = {
        _head(line)[0] for line in lines if _head(line)[1] in MODELLED and _head(line)[0]
    }
    lines = [content_line(line) for line in lines]
    incoming.lines = lines
    for line in lines:
        group, name = _head(line)
        if name == "BDAY" and not record.data.get("birthday"):
            incoming.residual.append(line)  # a date the services do not hold (no year)
        elif (
            name in MODELLED
            or name == "CATEGORIES"
            or (name == "X-ABLABEL" and group in modelled_groups)
        ):
            continue
        else:
            incoming.residual.append(line)
    return incoming


_VALUE = re.compile(r'^((?:[^:"]|"[^"]*")*):(.*)$', re.DOTALL)
_QP_PARAM = re.compile(r";(?:ENCODING=)?QUOTED-PRINTABLE(?=[;:])", re.IGNORECASE)
_CHARSET_PARAM = re.compile(r";CHARSET=([^;:]+)(?=[;:])", re.IGNORECASE)


def content_line(line: str) -> str:
    """A content line as vCard 3.0 writes it: a quoted-printable value (vCard 2.1,
    possibly over several physical lines) decoded in its charset and escaped, its
    ENCODING and CHARSET parameters dropped; no line break left inside."""
    found = _VALUE.match(line)
    if found is None:
        return line.replace("\n", "")
    head, value = found.group(1), found.group(2)
    if _QP_PARAM.search(head):
        charset = _CHARSET_PARAM.search(head)
        data = quopri.decodestring(value.replace("=\n", "").replace("\n", "").encode())
        try:
            text = data.decode(charset.group(1) if charset else "utf-8")
        except (LookupError, UnicodeDecodeError):
            text = data.decode("cp1252", errors="replace")
        text = text.replace("\\", "\\\\").replace("\r\n", "\\n").replace("\n", "\\n")
        head = _CHARSET_PARAM.sub("", _QP_PARAM.sub("", head))
        return f"{head}:{text}"
    return line.replace("\n", "")


def keep_refused(incoming: Incoming, refused: Iterable[tuple[tuple[str, ...], str]]) -> None:
    """Keep verbatim the lines of values the services refused: (properties, value), with
    the other lines of their group (an ``X-ABLabel``)."""
    for names, value in refused:
        for line in incoming.lines:
            if _head(line)[1] in names and value in line and line not in incoming.residual:
                incoming.residual.append(line)
                group = _head(line)[0]
                if group:
                    incoming.residual += [
                        other for other in incoming.lines
                        if _head(other)[0] == group and other not in incoming.residual
                    ]  # fmt: skip
                break


def keep_categories(incoming: Incoming, unknown: list[str]) -> None:
    if unknown:
        incoming.residual.append("CATEGORIES:" + ",".join(_escape(t) for t in unknown))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")


# -- what a client gets back ---------------------------------------------------------------


def fingerprint(card: bytes) -> str:
    return hashlib.sha256(card).hexdigest()[:40]


_TEL = re.compile(r"(?im)^((?:[A-Za-z0-9-]+\.)?TEL(?:;[^:\r\n]*)?:)([^\r\n]*)")


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)[-9:]


def _client_numbers(body: str) -> dict[str, str]:
    """The numbers a client wrote, as it wrote them, by their last nine digits."""
    unfolded = re.sub(r"\r?\n[ \t]", "", body)
    return {
        _digits(found.group(2)): found.group(2).strip()
        for found in _TEL.finditer(unfolded)
        if len(_digits(found.group(2))) >= 6 and not found.group(2).lower().startswith("tel:")
    }


_URL_LINE = re.compile(r"(?im)^(?:([A-Za-z0-9-]+)\.)?URL(?:;[^:\r\n]*)?:([^\r\n]*)\r\n")


def _without_links(text: str, residual: str) -> str:
    """Rapport's card without the links a client keeps as its own social profiles
    (iOS's X-SOCIALPROFILE, kept verbatim): the same address once, as the client wrote it."""
    profiles = set()
    for line in residual.split("\n"):
        if _head(line)[1] == "X-SOCIALPROFILE" and (found := _VALUE.match(line)):
            profiles.add(found.group(2).replace("\\", "").strip().rstrip("/").lower())
    if not profiles:
        return text
    dropped: set[str] = set()

    def drop(match: re.Match[str]) -> str:
        if match.group(2).replace("\\", "").strip().rstrip("/").lower() in profiles:
            if match.group(1):
                dropped.add(match.group(1).lower())
            return ""
        return match.group(0)

    text = _URL_LINE.sub(drop, text)
    if dropped:
        lines = text.split("\r\n")
        text = "\r\n".join(line for line in lines if _head(line)[0] not in dropped)
    return text


def with_residual(card: bytes, uid: str, residual: str, body: str = "") -> bytes:
    """Rapport's ``card`` with the client's UID and the residual lines before END:VCARD.
    Residual groups that Rapport's card also uses (item1 …) are renamed. A number the
    client wrote (in ``body``) keeps the client's way of writing it."""
    text = card.decode()
    numbers = _client_numbers(body) if body else {}
    if numbers:
        text = _TEL.sub(
            lambda m: (
                m.group(1) + numbers.get(_digits(m.group(2)), m.group(2))
                if not m.group(2).lower().startswith("tel:")
                else m.group(0)
            ),
            text,
        )
    text = re.sub(r"(?m)^UID:[^\r\n]*", lambda _m: "UID:" + uid, text, count=1)
    text = _without_links(text, residual)
    used = {g.lower() for g in re.findall(r"(?m)^([A-Za-z0-9-]+)\.", text)}
    renamed: dict[str, str] = {}
    extra: list[str] = []
    n = 0
    for line in residual.split("\n"):
        if not line:
            continue
        group, _name = _head(line)
        if group and group in used:
            if group not in renamed:
                while f"sync{n}" in used:
                    n += 1
                renamed[group] = f"sync{n}"
                used.add(f"sync{n}")
            line = renamed[group] + line[len(group) :]
        extra.append(line + "\r\n")
    end = text.rfind("END:VCARD")
    # folded at 75 octets as Rapport's own lines are (the exporter's folding)
    return text[:end].encode() + fold("".join(extra).encode()) + text[end:].encode()
