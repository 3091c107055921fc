"""The XML of WebDAV (RFC 4918) and CardDAV (RFC 6352): reading request bodies safely
and writing multistatus responses a piece at a time."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from xml.sax.saxutils import escape

DAV = "DAV:"
CARD = "urn:ietf:params:xml:ns:carddav"
CS = "http://calendarserver.org/ns/"
_PREFIX = {DAV: "d", CARD: "card", CS: "cs"}
MAX_BODY = 10 * 1024 * 1024


class BadXml(ValueError):
    """A request body that is not the XML it should be; the message says why."""


_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_DECLARED = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def parse(body: bytes) -> ET.Element | None:
    """The body's root element (None for an empty body). Only UTF-8 is read (so the
    checks below see the text as the parser will), and document type declarations are
    refused outright: no entity expansion, no external references."""
    if not body.strip():
        return None
    if len(body) > MAX_BODY:
        raise BadXml("The body is too large.")
    if b"\x00" in body or body.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadXml("Send the body as UTF-8.")
    declared = _DECLARED.match(body)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii"):
        raise BadXml("Send the body as UTF-8.")
    if _DOCTYPE.search(body):
        raise BadXml("Document type declarations are not accepted.")
    try:
        return ET.fromstring(body)
    except (ET.ParseError, LookupError, ValueError) as exc:
        raise BadXml(f"The body is not well-formed XML: {exc}.") from None


def tag(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def qname(clark: str) -> str:
    """``{DAV:}getetag`` as ``d:getetag`` (unknown namespaces get their own xmlns)."""
    if not clark.startswith("{"):
        return f'{clark} xmlns=""'
    namespace, _, name = clark[1:].partition("}")
    prefix = _PREFIX.get(namespace)
    if prefix is None:
        return f'x:{name} xmlns:x="{escape(namespace, {chr(34): "&quot;"})}"'
    return f"{prefix}:{name}"


def empty(clark: str) -> str:
    return f"<{qname(clark)}/>"


def element(clark: str, inner: str) -> str:
    name = qname(clark)
    return f"<{name}>{inner}</{name.split(' ', 1)[0]}>"


# What XML 1.0 cannot hold at all, not even as a reference (a contact's note may).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def text(value: str) -> str:
    """Character data; CR kept as a reference, so a card's CRLF line ends survive XML's
    end-of-line normalisation; characters XML cannot carry are left out."""
    return escape(_NOT_XML.sub("", value), {"\r": "&#13;"})


def href(path: str) -> str:
    return f"<d:href>{escape(path)}</d:href>"


OPEN = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    f'<d:multistatus xmlns:d="{DAV}" xmlns:card="{CARD}" xmlns:cs="{CS}">'
)
CLOSE = "</d:multistatus>"


def response(path: str, found: dict[str, str], missing: Iterable[str] = ()) -> str:
    """One ``<d:response>``: ``found`` maps a property to its serialised element; the
    ``missing`` ones are listed under 404."""
    parts = [f"<d:response>{href(path)}"]
    if found:
        parts.append(f"<d:propstat><d:prop>{''.join(found.values())}</d:prop>")
        parts.append("<d:status>HTTP/1.1 200 OK</d:status></d:propstat>")
    missing = list(missing)
    if missing:
        parts.append(f"<d:propstat><d:prop>{''.join(empty(m) for m in missing)}</d:prop>")
        parts.append("<d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>")
    parts.append("</d:response>")
    return "".join(parts)


def status_response(path: str, status: str) -> str:
    return f"<d:response>{href(path)}<d:status>HTTP/1.1 {status}</d:status></d:response>"


def error(namespace: str, condition: str, message: str = "", inner: str = "") -> str:
    """An RFC 4918 §16 error body naming the precondition that failed (``inner``: what
    the condition element holds, such as the href of a card with the same UID)."""
    prefix = _PREFIX[namespace]
    note = f"<d:responsedescription>{escape(message)}</d:responsedescription>" if message else ""
    named = (
        f"<{prefix}:{condition}>{inner}</{prefix}:{condition}>"
        if inner
        else f"<{prefix}:{condition}/>"
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<d:error xmlns:d="{DAV}" xmlns:card="{CARD}">{named}{note}</d:error>'
    )
