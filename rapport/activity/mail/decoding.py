"""Text out of whatever bytes and headers real mail carries.

Mail says which charset it uses, and is often wrong: ISO-8859-1 labels on Windows-1252
text, GB2312 labels on GBK text, no label at all on 8-bit headers, charsets nobody has
heard of. ``decode_bytes`` always returns text: the declared charset (or the superset
everyone actually sends under that label), then UTF-8, then a guess by
charset-normalizer, then the declared or Latin-1 reading with replacement characters.
``decode_header`` does the same for headers, with every form of RFC 2047 encoded word
seen in practice (adjacent words split in the middle of a character, lower-case
encodings, missing padding, words glued to text, language tags).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re
from functools import lru_cache

# Labels whose text is, in practice, in a larger charset: decoding with the superset
# reads everything the label covers and everything senders put under it.
_SUPERSETS = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cn-gb": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "windows-874": "cp874",
}


@lru_cache(maxsize=256)
def codec_for(charset: str | None) -> str | None:
    """The Python codec to read a declared charset with, or None when unknown."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    label = label.split("*", 1)[0]  # RFC 2231 language tag: utf-8*en
    label = _SUPERSETS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        if label.startswith("x-"):
            return codec_for(label[2:])
        return None


def _guess(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    try:
        best = from_bytes(data[:65536]).best()
    except Exception:  # the detector is a best effort; a crash in it is no reason to fail
        return None
    return best.encoding if best is not None else None


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Text from ``data`` said to be in ``charset``; never raises. A guess needs some
    text to go on: a few bytes of unknown charset are read as Windows-1252, the most
    common unlabelled 8-bit text in mail."""
    if not data:
        return ""
    codec = codec_for(charset)
    if codec is not None:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    guessed = _guess(data) if len(data) >= 48 else None
    if guessed:
        try:
            return data.decode(guessed)
        except (UnicodeDecodeError, LookupError):
            pass
    return data.decode(codec or "cp1252", errors="replace")


def unescape_8bit(value: str) -> str:
    """A header the parser read with surrogate escapes (raw 8-bit bytes, no encoded
    words): read its bytes as UTF-8, else guess."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    raw = value.encode("utf-8", "surrogateescape")
    return decode_bytes(raw)


_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_BETWEEN_WORDS = re.compile(r"^[ \t\r\n]*$")


def _word_bytes(encoding: str, text: str) -> bytes:
    if encoding in "bB":
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
        cleaned += "=" * (-len(cleaned) % 4)
        try:
            return base64.b64decode(cleaned)
        except (binascii.Error, ValueError):
            return text.encode("ascii", "replace")
    return quopri.decodestring(text.replace("_", " ").encode("ascii", "replace"), header=True)


def decode_header(value: object) -> str:
    """A header's text: encoded words decoded (the bytes of adjacent words in one
    charset joined first, since senders split characters across words), 8-bit bytes
    read, folding undone. Never raises."""
    if value is None:
        return ""
    text = unescape_8bit(str(value))
    if "=?" not in text:
        return _unfold(text)
    pieces: list[tuple[str, bytes | str]] = []  # (charset or "", bytes) / ("", text)
    position = 0
    for match in _WORD.finditer(text):
        between = text[position : match.start()]
        after_word = bool(pieces) and isinstance(pieces[-1][1], bytes)
        if between and not (after_word and _BETWEEN_WORDS.match(between)):
            pieces.append(("", between))
        charset, encoding, payload = match.groups()
        data = _word_bytes(encoding, payload)
        if pieces and isinstance(pieces[-1][1], bytes) and pieces[-1][0] == charset.lower():
            pieces[-1] = (pieces[-1][0], pieces[-1][1] + data)
        else:
            pieces.append((charset.lower(), data))
        position = match.end()
    pieces.append(("", text[position:]))
    out = []
    for charset, piece in pieces:
        out.append(decode_bytes(piece, charset) if isinstance(piece, bytes) else piece)
    return _unfold("".join(out))


def _unfold(text: str) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", text).replace("\r", "").replace("\n", " ").strip()
