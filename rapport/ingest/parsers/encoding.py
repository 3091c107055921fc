"""Text encodings of imported files: detected from the first bytes, named, and read strictly.

Detection looks only at the head of the file (``HEAD_BYTES``): a byte order mark wins;
then UTF-16 without one (every other byte NUL); then UTF-8 if the head is valid UTF-8;
otherwise charset-normalizer's guess, where Windows-1252 is preferred among guesses
that read the head equally well (charset-normalizer cannot tell windows-1250 from
windows-1252 on a line of French, and Western files are the common case). A guess is
never silent: the note says it was guessed and names the runners-up. Reading is strict,
so a byte further on that the encoding cannot decode stops the import with the line
number instead of turning into the wrong letters.
"""

from __future__ import annotations

import codecs
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

from rapport.ingest.parsers import HEAD_BYTES, UnreadableFile

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_PREFERRED_GUESSES = ("cp1252", "latin_1", "iso8859_15")
_CONTROL_ALLOWED = set("\t\n\r\f\v\x1a")


@dataclass(frozen=True)
class Encoding:
    """How to read a file's text: the codec, and what to tell the person about it."""

    name: str
    note: str = ""


def display_name(codec_name: str) -> str:
    """The usual name of an encoding ("windows-1252", "iso-8859-1", "utf-16-le")."""
    name = codecs.lookup(codec_name).name
    if re.fullmatch(r"cp125\d", name):
        return "windows-" + name[2:]
    if name.startswith("iso8859-"):
        return "iso-" + name[3:]
    return name


def resolve(encoding: str) -> Encoding:
    """The encoding a person chose, checked; an unknown name is an ``UnreadableFile``."""
    try:
        name = display_name(encoding.strip())
    except (LookupError, ValueError):
        raise UnreadableFile(
            f"“{encoding}” is not a text encoding this server knows; "
            "try utf-8, windows-1252, iso-8859-1 or utf-16."
        ) from None
    return Encoding(name, f"Read as {name}, as chosen.")


def detect_encoding(head: bytes, *, whole_file: bool) -> Encoding:
    """Guess the encoding from ``head`` (all of the file when ``whole_file``).

    Raises ``UnreadableFile`` for a binary file.
    """
    for bom, name in _BOMS:
        if head.startswith(bom):
            return Encoding(name, f"Read as {name} (the file starts with a byte order mark).")
    if b"\x00" in head:
        wide = _utf16_without_bom(head)
        if not wide:
            raise UnreadableFile(_BINARY)
        return Encoding(wide, f"Read as {wide} (no byte order mark; detected from the NUL bytes).")
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=whole_file)
    except UnicodeDecodeError:
        pass
    else:
        refuse_binary(text)
        return Encoding("utf-8", "Read as utf-8.")
    return _guess(head)


_BINARY = "This is not a text file (it looks like a binary file); import CSV, XLSX or vCard files."


def refuse_binary(text: str) -> None:
    """Raise ``UnreadableFile`` when decoded text is mostly control characters."""
    sample = text[:HEAD_BYTES]
    controls = sum(
        1 for ch in sample if ch not in _CONTROL_ALLOWED and unicodedata.category(ch) == "Cc"
    )
    if sample and controls > max(2, len(sample) // 100):
        raise UnreadableFile(_BINARY)


def _utf16_without_bom(head: bytes) -> str:
    even, odd = head[0::2], head[1::2]
    if not even or not odd:
        return ""
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return ""


def _guess(head: bytes) -> Encoding:
    matches = list(charset_normalizer.from_bytes(head))
    if not matches:
        raise UnreadableFile(_BINARY)
    best = matches[0]
    chosen = best.encoding
    for match in matches:
        if match.chaos > best.chaos + 0.02:
            break
        family = [match.encoding, *match.could_be_from_charset]
        preferred = next((name for name in _PREFERRED_GUESSES if name in family), "")
        if preferred:
            chosen = preferred
            break
    name = display_name(chosen)
    refuse_binary(head.decode(name, errors="replace"))
    others: list[str] = []
    for match in matches[:6]:
        other = display_name(match.encoding)
        if other != name and other not in others:
            others.append(other)
    note = f"Read as {name}, guessed from the first {HEAD_BYTES // 1024} KB"
    if others:
        note += f" (other candidates: {', '.join(others[:3])})"
    note += "; if letters look wrong, choose another encoding."
    return Encoding(name, note)


def choose(path: Path, encoding: str | None) -> Encoding:
    """The caller's encoding when given, otherwise the one detected from the file's head."""
    if encoding:
        return resolve(encoding)
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES + 1)
    whole = len(head) <= HEAD_BYTES
    return detect_encoding(head[:HEAD_BYTES], whole_file=whole)


def open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    """The file as text, decoded strictly, newlines kept as they are (the csv module wants that)."""
    return io.TextIOWrapper(path.open("rb"), encoding=encoding, errors="strict", newline="")


def bounded_lines(text: io.TextIOBase, *, limit: int, path: Path, encoding: str) -> Iterator[str]:
    """Physical lines of at most ``limit`` characters; the byte order mark is dropped.

    A longer line raises ``UnreadableFile`` rather than being read whole into memory; a
    byte that does not decode raises ``UnreadableFile`` naming its line.
    """
    number = 0
    try:
        line = text.readline(limit + 1)
        if line.startswith("\ufeff"):
            line = line[1:]
        while line:
            number += 1
            if len(line) > limit and not line.endswith(("\n", "\r")):
                raise LineTooLong(number, line)
            yield line
            line = text.readline(limit + 1)
    except UnicodeDecodeError:
        raise UnreadableFile(undecodable(path, encoding)) from None


class LineTooLong(UnreadableFile):
    """A physical line longer than the reader's limit; carries its start for diagnosis."""

    def __init__(self, number: int, start: str) -> None:
        super().__init__(f"line {number:,}: the line is too long to import.")
        self.number = number
        self.start = start


def undecodable(path: Path, encoding: str) -> str:
    """The message for a file that does not decode as ``encoding``, naming the first bad line."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line = 1
    with path.open("rb") as handle:
        while block := handle.read(HEAD_BYTES):
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                line += exc.object[: exc.start].decode(encoding, errors="ignore").count("\n")
                break
            line += text.count("\n")
    return (
        f"line {line:,}: the file does not read as {display_name(encoding)} from here on; "
        "choose another encoding."
    )
