"""One message's bytes read into what Rapport keeps: who, when, what, which files.

The stdlib parser in its lenient ``compat32`` mode reads the structure (it never raises
on a header); every header is then decoded by ``decoding.decode_header``, which handles
what the strict ``email.policy.default`` would reject or mangle. A message that cannot
be read at all raises ``Unreadable`` with the reason.
"""

from __future__ import annotations

import datetime as dt
import email.message
import email.parser
import email.policy
import email.utils
import hashlib
import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from rapport.activity.mail.decoding import decode_bytes, decode_header, unescape_8bit
from rapport.activity.mail.tnef import TnefCorrupt, is_tnef, tnef_unpack

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTACHMENT = 25 * 1024 * 1024
MAX_PARTS = 500
MAX_DEPTH = 20


class Unreadable(Exception):
    """The bytes are not a mail message (empty, binary, no headers)."""


def max_attachment_bytes() -> int:
    return int(getattr(settings, "RAPPORT_MAIL_MAX_ATTACHMENT_BYTES", DEFAULT_MAX_ATTACHMENT))


@dataclass
class Address:
    name: str
    address: str


@dataclass
class ParsedAttachment:
    """A file in the message; ``content`` is None when it was left out (``omitted``)."""

    filename: str
    declared_type: str
    size: int
    content: bytes | None
    content_id: str = ""
    inline: bool = False
    omitted: str = ""


@dataclass
class ParsedMail:
    """What one message says, decoded: everything ``mail_capture`` needs."""

    message_id: str
    synthetic_id: bool
    subject: str
    sent_at: dt.datetime
    date_source: str  # "date", "received" or "arrival"
    senders: list[Address]
    to: list[Address]
    cc: list[Address]
    bcc: list[Address]
    in_reply_to: list[str]
    references: list[str]
    text: str
    html: str
    attachments: list[ParsedAttachment]
    forwarded: list[email.message.Message]
    headers: dict[str, str]
    notes: list[str] = field(default_factory=list)


class _RawHeaders(email.policy.Compat32):
    """compat32, but headers come back as the text they were (8-bit bytes as surrogate
    escapes) rather than as Header objects that turn those bytes into "?": the decoding
    is ours."""

    def header_fetch_parse(self, name: str, value: str) -> str:  # type: ignore[override]
        return value


_PARSER = email.parser.BytesParser(policy=_RawHeaders())
_MSGID = re.compile(r"<([^<>\s]+)>")
_BULK_HEADERS = (
    "list-id",
    "list-unsubscribe",
    "list-post",
    "precedence",
    "auto-submitted",
    "x-auto-response-suppress",
    "x-autoreply",
    "x-autorespond",
    "x-mailer",
    "x-campaign",
    "feedback-id",
    "return-path",
    "x-forwarded-for",
    "x-original-from",
)


def read_message(raw: bytes) -> email.message.Message:
    """The stdlib's lenient reading of the bytes; raises Unreadable for non-mail."""
    if not raw or not raw.strip():
        raise Unreadable("The message is empty.")
    head = raw[:4096].lstrip()
    if b"\x00" in head[:1024]:
        raise Unreadable("This is binary data, not a mail message.")
    if not re.match(rb"[!-9;-~]+[ \t]*:", head):
        raise Unreadable("The message does not start with headers.")
    try:
        return _PARSER.parsebytes(raw)
    except Exception as exc:  # compat32 rarely raises; whatever it is, say so
        raise Unreadable(f"The message could not be read: {exc}") from exc


def message_ids(value: str) -> list[str]:
    """Every <id> in a References / In-Reply-To header, in order, without brackets
    (bare ids without brackets, a common fault, are taken too)."""
    found = _MSGID.findall(value or "")
    if not found and value and "@" in value:
        found = [v.strip("<>") for v in value.split() if "@" in v]
    return [f.strip()[:490] for f in found if f.strip()]


def _addresses(message: email.message.Message, name: str) -> list[Address]:
    values = [unescape_8bit(str(v)) for v in message.get_all(name, []) or []]
    out = []
    for display, address in email.utils.getaddresses(values):
        address = decode_header(address).strip().strip("<>").strip()
        if "@" not in address:
            # "Undisclosed recipients:;" and the like
            continue
        out.append(Address(decode_header(display).strip().strip("\"'")[:300], address[:320]))
    return out


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)  # "-0000": the time is in UTC, its zone unknown
    if (
        not dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        <= value
        <= dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
    ):
        return None
    return value


def _date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return _aware(email.utils.parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    try:
        from dateutil import parser as dateparser

        return _aware(dateparser.parse(value, fuzzy=True))
    except (ValueError, OverflowError, TypeError):
        return None


def _sent_at(message: email.message.Message, notes: list[str]) -> tuple[dt.datetime, str]:
    header = decode_header(message.get("Date"))
    found = _date(header)
    if found is not None:
        return found, "date"
    for received in message.get_all("Received", []) or []:
        text = unescape_8bit(str(received))
        if ";" in text:
            found = _date(text.rsplit(";", 1)[1].strip())
            if found is not None:
                notes.append(
                    f"Date header {'missing' if not header else repr(header[:60]) + ' unreadable'}; "
                    "the time is the first Received header's."
                )
                return found, "received"
    notes.append(
        f"Date header {'missing' if not header else repr(header[:60]) + ' unreadable'} and no "
        "readable Received header; the time is when it arrived."
    )
    return timezone.now(), "arrival"


def _synthetic_id(message: email.message.Message, body: bytes) -> str:
    """A stable id for a message without one: the same message read twice gets the
    same id (a hash of who, when, what and the body)."""
    digest = hashlib.sha256()
    for name in ("From", "To", "Cc", "Date", "Subject"):
        digest.update(str(message.get(name, "")).strip().encode("utf-8", "surrogateescape"))
        digest.update(b"\x00")
    digest.update(body)
    return f"{digest.hexdigest()[:40]}@synthetic.rapport.invalid"


def _sniff(content: bytes, declared: str) -> str:
    import filetype

    try:
        kind = filetype.guess(content[:8192])
    except Exception:  # a sniffing failure is no reason to lose the file
        kind = None
    if kind is not None:
        return str(kind.mime)
    return declared or "application/octet-stream"


def sniff_type(content: bytes, declared: str) -> str:
    """The real content type of a file's bytes; the declared one when nothing matches."""
    return _sniff(content, declared)


def _filename(part: email.message.Message, index: int, content_type: str) -> str:
    raw = None
    try:
        raw = part.get_filename()
    except Exception:  # broken RFC 2231 continuations
        raw = None
    name = decode_header(raw) if raw else ""
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().strip("\x00")
    if name:
        return name[:255]
    if content_type == "message/rfc822":
        return f"message-{index}.eml"
    if content_type == "application/ms-tnef":
        return "winmail.dat"
    extension = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif"}.get(
        content_type, ".bin"
    )
    return f"part-{index}{extension}"


def _payload(part: email.message.Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # a transfer encoding that cannot be undone: keep the raw text
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


class _Walk:
    def __init__(self, metadata_only: bool, message_id: str = "") -> None:
        self.metadata_only = metadata_only
        self.message_id = message_id
        self.texts: list[str] = []
        self.htmls: list[str] = []
        # the body a winmail.dat carries: used only when the message has no other
        self.tnef_texts: list[str] = []
        self.tnef_htmls: list[str] = []
        self.attachments: list[ParsedAttachment] = []
        self.forwarded: list[email.message.Message] = []
        self.notes: list[str] = []
        self.parts = 0
        self.limit = max_attachment_bytes()

    def walk(self, part: email.message.Message, depth: int = 0, alternative: bool = False) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS or depth > MAX_DEPTH:
            if self.parts == MAX_PARTS + 1 or depth == MAX_DEPTH + 1:
                self.notes.append("Too many or too deeply nested parts; the rest was left out.")
            return
        content_type = part.get_content_type()
        if part.is_multipart():
            children = part.get_payload()
            if content_type == "message/rfc822" or (
                part.get_content_maintype() == "message"
                and content_type != "message/delivery-status"
            ):
                for child in children if isinstance(children, list) else []:
                    if isinstance(child, email.message.Message):
                        self.forwarded.append(child)
                        self._attach_message(child, part)
                return
            if not isinstance(children, list):
                return
            is_alternative = content_type == "multipart/alternative"
            for child in children:
                if isinstance(child, email.message.Message):
                    self.walk(child, depth + 1, is_alternative)
            return
        if content_type.startswith("multipart/"):
            # a multipart without a usable boundary: read its body as text
            self.notes.append("A multipart part had no usable boundary; it was read as text.")
            content_type = "text/plain"
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        has_name = bool(
            part.get_param("name") or part.get_param("filename", header="content-disposition")
        )
        is_body_text = content_type in ("text/plain", "text/html") and (
            disposition != "attachment" and not (has_name and disposition != "inline")
        )
        if is_body_text:
            text = decode_bytes(_payload(part), part.get_content_charset())
            (self.htmls if content_type == "text/html" else self.texts).append(text)
            return
        self._attach(part, content_type, disposition)

    def _attach(self, part: email.message.Message, content_type: str, disposition: str) -> None:
        content_id = decode_header(part.get("Content-ID")).strip().strip("<>")[:300]
        index = len(self.attachments) + 1
        name = _filename(part, index, content_type)
        data = _payload(part)
        if is_tnef(content_type, name) and self._unpack_tnef(name, content_type, data):
            return
        self._keep(
            name,
            content_type,
            data,
            content_id,
            inline=disposition != "attachment" and bool(content_id),
        )

    def _unpack_tnef(self, name: str, content_type: str, data: bytes) -> bool:
        """Keep the files inside a winmail.dat instead of it (and its body for later);
        False when it cannot be read or holds nothing, so it is kept as it came."""
        try:
            contents = tnef_unpack(data, with_body=not self.metadata_only)
        except TnefCorrupt as exc:
            logger.warning(
                "Mail <%s>: its %s (%s, %s bytes) could not be unpacked and is kept as it came: %s",
                self.message_id,
                name,
                content_type,
                f"{len(data):,}",
                exc,
            )
            self.notes.append(f"{name} could not be unpacked ({exc}); it is kept as it came.")
            return False
        self.notes.extend(contents.notes)
        if not contents.files and not (contents.text or contents.html):
            return False  # nothing to show for it (a form, a meeting's properties)
        for item in contents.files:
            self.parts += 1
            if self.parts > MAX_PARTS:
                self.notes.append(f"Too many files in {name}; the rest was left out.")
                break
            self._keep(
                item.filename,
                item.content_type,
                item.data,
                item.content_id,
                inline=bool(item.content_id),
            )
        if contents.html:
            self.tnef_htmls.append(contents.html)
        if contents.text:
            self.tnef_texts.append(contents.text)
        return True

    def _attach_message(self, child: email.message.Message, part: email.message.Message) -> None:
        subject = decode_header(child.get("Subject")) or "forwarded message"
        safe = re.sub(r"[^\w .,()-]+", "_", subject).strip()[:120] or "forwarded message"
        data = (
            child.as_bytes(policy=email.policy.compat32.clone(linesep="\r\n"))
            if not self.metadata_only
            else b""
        )
        self._keep(f"{safe}.eml", "message/rfc822", data, "", inline=False)

    def _keep(
        self, name: str, declared: str, data: bytes, content_id: str, *, inline: bool
    ) -> None:
        size = len(data)
        if self.metadata_only:
            self.attachments.append(
                ParsedAttachment(name, declared, size, None, content_id, inline, "metadata only")
            )
        elif size > self.limit:
            reason = f"larger than the limit of {self.limit:,} bytes"
            logger.warning("Mail attachment %r (%s bytes) left out: %s", name, f"{size:,}", reason)
            self.notes.append(f"Attachment {name} ({size:,} bytes) left out: {reason}.")
            self.attachments.append(
                ParsedAttachment(name, declared, size, None, content_id, inline, reason)
            )
        else:
            self.attachments.append(
                ParsedAttachment(name, declared, size, data, content_id, inline, "")
            )


def parse_message(
    raw: bytes, *, metadata_only: bool = False, message: email.message.Message | None = None
) -> ParsedMail:
    """Read one message. Raises Unreadable when the bytes are no mail message."""
    if message is None:
        message = read_message(raw)
    notes: list[str] = []
    ids = message_ids(unescape_8bit(str(message.get("Message-ID", "") or "")))
    if ids:
        message_id, synthetic = ids[0], False
    else:
        body_start = raw.find(b"\n\n")
        message_id = _synthetic_id(message, raw[body_start:] if body_start >= 0 else b"")
        synthetic = True
        notes.append("No Message-ID; one was made from the headers and body.")
    sent_at, date_source = _sent_at(message, notes)
    senders = _addresses(message, "From") or _addresses(message, "Sender")
    walk = _Walk(metadata_only, message_id)
    walk.walk(message)
    if not any(t.strip() for t in (*walk.texts, *walk.htmls)):
        # Outlook's rich text, sent only inside winmail.dat
        walk.texts, walk.htmls = walk.tnef_texts, walk.tnef_htmls
    if metadata_only:  # the structure (names, sizes) is kept, the contents are not
        walk.texts, walk.htmls = [], []
    headers = {}
    for name in _BULK_HEADERS:
        value = message.get(name)
        if value is not None:
            headers[name] = decode_header(value)[:500]
    references = message_ids(unescape_8bit(str(message.get("References", "") or "")))
    in_reply_to = message_ids(unescape_8bit(str(message.get("In-Reply-To", "") or "")))
    return ParsedMail(
        message_id=message_id,
        synthetic_id=synthetic,
        subject=decode_header(message.get("Subject"))[:500],
        sent_at=sent_at,
        date_source=date_source,
        senders=senders,
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        bcc=_addresses(message, "Bcc"),
        in_reply_to=in_reply_to,
        references=references[-50:],
        text="\n\n".join(t.strip("\n") for t in walk.texts if t.strip()),
        html="\n".join(walk.htmls),
        attachments=walk.attachments,
        forwarded=walk.forwarded,
        headers=headers,
        notes=notes + walk.notes,
    )


def subject_key(subject: str) -> str:
    """A subject without reply and forward prefixes in any language, list tags and
    case: what two messages of one conversation share."""
    text = subject or ""
    while True:
        stripped = _PREFIX.sub("", text, count=1).strip()
        if stripped == text:
            break
        text = stripped
    return " ".join(text.lower().split())[:500]


_PREFIX = re.compile(
    r"^\s*(?:\[[^\]]{1,40}\]\s*|"
    r"(?:re|fw|fwd|aw|wg|sv|vs|antw|doorst|tr|rv|enc|res|odp|pd|ynt|r|i|ref|rif|"
    r"回复|回覆|答复|转发|轉寄|返信|転送|fw\d*|re\[\d+\]|re\(\d+\))\s*[:：]\s*)",
    re.IGNORECASE,
)
