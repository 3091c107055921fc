"""The original messages inside a forward, so the drop-box logs what was forwarded
rather than the forward itself.

A forward carries its original either attached (``message/rfc822``: every mail program
can do this, and it keeps the original intact, Message-ID included) or inline, under a
marker such as Gmail's "---------- Forwarded message ---------", Apple Mail's "Begin
forwarded message:" or Thunderbird's "-------- Forwarded Message --------", followed by
From/Date/Subject/To lines. An inline original has no Message-ID of its own: it gets a
stable one from its headers and text, so forwarding it twice logs it once.
"""

from __future__ import annotations

import email.message
import email.policy
import email.utils
import hashlib
import re

from rapport.activity.mail.parsing import _date, parse_message, read_message
from rapport.activity.services.text import text_from_html

_MARKER = re.compile(
    r"^\s*(?:-{4,}\s*(?:forwarded message|weitergeleitete nachricht|message transféré|"
    r"mensaje reenviado|doorgestuurd bericht|original message)\s*-{4,}|"
    r"begin forwarded message:|anfang der weitergeleiteten nachricht:|"
    r"début du message réexpédié\s*:)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER = re.compile(
    r"^\s*\*?(from|von|de|van|date|datum|sent|gesendet|envoyé|fecha|subject|betreff|objet|"
    r"asunto|onderwerp|to|an|à|para|aan|cc)\s*\*?\s*:\s*(.*)$",
    re.IGNORECASE,
)
_NAMES = {
    "from": "From", "von": "From", "de": "From", "van": "From",
    "date": "Date", "datum": "Date", "sent": "Date", "gesendet": "Date", "envoyé": "Date",
    "fecha": "Date",
    "subject": "Subject", "betreff": "Subject", "objet": "Subject", "asunto": "Subject",
    "onderwerp": "Subject",
    "to": "To", "an": "To", "à": "To", "para": "To", "aan": "To", "cc": "Cc",
}  # fmt: skip


def _inline(text: str) -> bytes | None:
    match = _MARKER.search(text)
    if match is None:
        return None
    lines = text[match.end() :].lstrip("\r\n").splitlines()
    headers: dict[str, str] = {}
    i = 0
    for i, line in enumerate(lines):  # noqa: B007 (the body starts where headers stop)
        found = _HEADER.match(line)
        if found is None:
            if line.strip() or headers:
                break
            continue
        name = _NAMES[found.group(1).lower()]
        headers.setdefault(name, found.group(2).strip())
    else:
        i = len(lines)
    if "From" not in headers:
        return None
    body = "\n".join(lines[i:]).strip() + "\n"
    message = email.message.EmailMessage(policy=email.policy.SMTP)
    for name in ("From", "To", "Cc", "Subject"):
        if headers.get(name):
            try:
                message[name] = headers[name]
            except (ValueError, TypeError):
                message[name] = headers[name].replace("<", "").replace(">", "")
    moment = _date(headers.get("Date"))
    if moment is not None:
        message["Date"] = email.utils.format_datetime(moment)
    digest = hashlib.sha256(
        "\x00".join(
            [headers.get("From", ""), headers.get("Date", ""), headers.get("Subject", ""), body]
        ).encode()
    ).hexdigest()[:40]
    message["Message-ID"] = f"<{digest}@forwarded.rapport.invalid>"
    message.set_content(body)
    return message.as_bytes()


def forwarded_originals(raw: bytes) -> list[bytes]:
    """The originals a forward carries (attached first, else one inline); an empty list
    when the message forwards nothing (it was sent with the drop-box in Bcc)."""
    message = read_message(raw)
    attached = []
    for part in message.walk():
        if part.get_content_type() == "message/rfc822" and part.is_multipart():
            for inner in part.get_payload():
                if isinstance(inner, email.message.Message):
                    attached.append(
                        inner.as_bytes(policy=email.policy.compat32.clone(linesep="\r\n"))
                    )
    if attached:
        return attached
    mail = parse_message(raw, message=message)
    text = mail.text or text_from_html(mail.html)
    original = _inline(text)
    return [original] if original is not None else []
