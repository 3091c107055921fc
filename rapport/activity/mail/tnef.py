"""What an Outlook ``winmail.dat`` (TNEF, ``application/ms-tnef``) holds, unpacked.

Outlook and Exchange wrap a message's files (and often its rich-text body) in one TNEF
attachment that only Microsoft's clients read. ``tnef_unpack`` reads it with tnefparse
and gives back the files inside with their real names and types, and the body it
carries: HTML or plain text when present, else the compressed RTF body decompressed
(compressed-rtf) and turned into text (striprtf).

A TNEF stream whose structure is broken (wrong signature, an attribute that is not a
message or attachment attribute, one longer than the bytes left, one tnefparse cannot
read) raises ``TnefCorrupt``: the caller keeps the original attachment. A checksum
that does not match is common in real files (Outlook writes some wrong) and is only
noted.
"""

from __future__ import annotations

import mimetypes
import re
import struct
from dataclasses import dataclass, field
from typing import Any

from rapport.activity.mail.decoding import codec_for, decode_bytes

SIGNATURE = b"\x78\x9f\x3e\x22"
TNEF_TYPES = ("application/ms-tnef", "application/vnd.ms-tnef")
# attribute levels of the TNEF stream: the message's and an attachment's
_LEVELS = (0x01, 0x02)
# a compressed RTF body larger than this is not converted: pure-Python decompression
# and conversion take about a second per megabyte
MAX_RTF_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 3
_MAPI_MIME_TAG = 0x370E
_MAPI_CONTENT_ID = 0x3712
_MIME_TYPE = re.compile(r"^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$")


class TnefCorrupt(Exception):
    """The bytes are no readable TNEF stream; the message says what is wrong."""


@dataclass
class TnefFile:
    """One file found inside the TNEF stream."""

    filename: str
    content_type: str
    data: bytes
    content_id: str = ""


@dataclass
class TnefContents:
    """What ``tnef_unpack`` found: the files, the body (``text`` and/or ``html``, empty
    when the stream carries none) and notes on what was odd."""

    files: list[TnefFile] = field(default_factory=list)
    text: str = ""
    html: str = ""
    notes: list[str] = field(default_factory=list)


def is_tnef(content_type: str, filename: str) -> bool:
    """Whether a MIME part is a TNEF attachment, by its declared type or its name."""
    return content_type in TNEF_TYPES or filename.lower() == "winmail.dat"


def _check_structure(data: bytes) -> None:
    """Walk the attribute headers as tnefparse will, refusing what would make it read
    garbage or past the end instead of failing."""
    if len(data) < 6 or data[:4] != SIGNATURE:
        raise TnefCorrupt("it does not start with the TNEF signature")
    offset = 6
    while offset + 12 < len(data):  # tnefparse's own loop condition
        level = data[offset]
        (length,) = struct.unpack_from("<I", data, offset + 5)
        if level not in _LEVELS:
            raise TnefCorrupt(f"byte {offset}: {level:#04x} is no attribute level")
        if offset + 11 + length > len(data):
            raise TnefCorrupt(
                f"byte {offset}: an attribute of {length:,} bytes runs past the end "
                f"({len(data) - offset - 11:,} left): the file is cut short"
            )
        offset += 11 + length


def _text(value: Any, codec: str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = decode_bytes(value, codec)
    return str(value).replace("\x00", "")


def _mapi(attachment: Any, name: int) -> Any:
    for attribute in attachment.mapi_attrs:
        if attribute.name == name:
            return attribute.data
    return None


def _filename(attachment: Any, index: int, content_type: str) -> str:
    try:
        raw = attachment.long_filename()
    except (UnicodeDecodeError, AttributeError):
        raw = ""
    name = _text(raw, None).replace("\\", "/").rsplit("/", 1)[-1].strip()
    if name and name != "unknown.dat":
        return name[:255]
    extension = mimetypes.guess_extension(content_type) or ".bin"
    return f"attachment-{index}{extension}"


def _content_type(attachment: Any, filename_hint: str) -> str:
    tag = _text(_mapi(attachment, _MAPI_MIME_TAG), None).strip().lower()
    if _MIME_TYPE.match(tag):
        return tag
    guessed, _ = mimetypes.guess_type(filename_hint)
    return guessed or "application/octet-stream"


def _files(tnef: Any, contents: TnefContents, depth: int) -> None:
    for attachment in tnef.attachments:
        embedded = getattr(attachment, "embed", None)
        if embedded is not None:
            # an attached Outlook message: what it carries is unpacked with the rest
            if depth < MAX_DEPTH:
                _files(embedded, contents, depth + 1)
            else:
                contents.notes.append("Messages nested too deeply in winmail.dat were left out.")
            continue
        data = bytes(attachment.data or b"")
        try:
            hint = attachment.long_filename()
        except (UnicodeDecodeError, AttributeError):
            hint = ""
        if not data and not hint.strip("\x00 "):
            continue  # an empty attachment slot (Outlook writes some)
        content_type = _content_type(attachment, _text(hint, None))
        content_id = _text(_mapi(attachment, _MAPI_CONTENT_ID), None).strip().strip("<>")
        index = len(contents.files) + 1
        contents.files.append(
            TnefFile(
                filename=_filename(attachment, index, content_type),
                content_type=content_type,
                data=data,
                content_id=content_id[:300],
            )
        )


def rtf_text(compressed: bytes) -> str:
    """The text of a compressed RTF body (PR_RTF_COMPRESSED); raises ValueError when it
    cannot be read."""
    if len(compressed) < 16:
        raise ValueError("the RTF body is too short")
    size, raw_size = struct.unpack_from("<II", compressed)
    # tnefparse strips trailing NUL bytes off binary properties: put back those the
    # header counts (the checksum covers them)
    compressed += b"\x00" * min(max(0, size + 4 - len(compressed)), 4096)
    if len(compressed) > MAX_RTF_BYTES or raw_size > 2 * MAX_RTF_BYTES:
        raise ValueError(f"the RTF body ({raw_size:,} bytes) is too large to convert")
    from compressed_rtf import decompress
    from striprtf.striprtf import rtf_to_text

    try:
        rtf = decompress(compressed)
    except Exception as exc:  # the library raises bare Exceptions for bad data
        raise ValueError(f"the RTF body could not be decompressed ({exc})") from None
    declared = re.search(rb"\\ansicpg(\d+)", rtf[:2000])
    codec = codec_for(f"cp{int(declared.group(1))}") if declared else None
    try:
        text = rtf_to_text(rtf.decode("latin-1"), encoding=codec or "cp1252", errors="replace")
    except Exception as exc:  # a converter fault on odd RTF is no reason to lose the mail
        raise ValueError(f"the RTF body could not be converted ({exc})") from None
    return text.replace("\x00", "").strip()


def _body(tnef: Any, contents: TnefContents) -> None:
    codec = codec_for(tnef.codepage) if tnef.codepage else None
    # HTML in bytes came without its internet code page: UTF-8 first, then a guess
    contents.html = _text(tnef.htmlbody, None).strip()
    contents.text = _text(tnef.body, codec).strip()
    rtf = getattr(tnef, "_rtfbody", None)  # tnefparse keeps it compressed here
    if contents.html or contents.text or not rtf:
        return
    try:
        contents.text = rtf_text(bytes(rtf))
    except ValueError as exc:
        contents.notes.append(f"winmail.dat: {exc}.")


def tnef_unpack(data: bytes, *, with_body: bool = True) -> TnefContents:
    """The files and body inside a TNEF stream. Raises TnefCorrupt when its structure
    is broken; the caller then keeps the stream as it came. ``with_body`` False skips
    reading the body (the message has one already)."""
    _check_structure(data)
    from tnefparse import TNEF

    try:
        tnef = TNEF(data, do_checksum=True)
        contents = TnefContents()
        _files(tnef, contents, 0)
        if with_body:
            _body(tnef, contents)
    except TnefCorrupt:
        raise
    except Exception as exc:  # tnefparse raises whatever the bad bytes lead it to
        raise TnefCorrupt(f"{type(exc).__name__}: {exc}") from None
    bad = sum(1 for item in tnef.objects if not item.good_checksum)
    if bad:
        contents.notes.append(
            f"winmail.dat: {bad} part{'s' if bad != 1 else ''} failed the TNEF checksum; "
            "unpacked anyway."
        )
    return contents
