"""The filter of the CardDAV addressbook-query REPORT (RFC 6352 sections 8.6 and 10.5):
the <card:filter> of a request read into a tree, and vCards tested against it one by one.

* The whole grammar: prop-filter, param-filter, is-not-defined and text-match, with
  test="anyof" (the default) or "allof" on the filter and on each prop-filter. An empty
  filter, or none, matches every card; an empty prop-filter, a card with the property.
* Names ignore case. "EMAIL" matches EMAIL in any group or none (item1.EMAIL);
  "item1.EMAIL" matches that group only.
* A prop-filter holds when one property of that name passes its tests (all of them under
  "allof"): TYPE=cell and a number containing 555 must be the same TEL. So a negated
  text-match asks for a property whose value does not match.
* Values are compared unescaped (\\\\ \\; \\, \\n). For structured and list values (N, ADR,
  ORG, GENDER, CATEGORIES, NICKNAME) the whole value (components joined by ";"), each
  component and each comma-separated item are tried, one match being enough: "Doe"
  equals N:Doe;John;;;. Parameter values are tried whole and split at commas:
  TYPE=work,voice, TYPE="work,voice" and TYPE=work;TYPE=voice all hold "voice".
* Collations: i;unicode-casemap (the default of RFC 6352, also named "default"),
  i;ascii-casemap and i;octet; another is refused as supported-collation. An element,
  test, match-type or negate-condition outside the grammar, or a name that is not a vCard
  name, is refused as supported-filter.
* Cards are read by a small parser of this module: folded lines joined, quoted-printable
  values (vCard 2.1, with soft line breaks and CHARSET) decoded, bare 2.1 parameters
  (TEL;CELL) read as TYPE, RFC 6868 ^-escapes decoded, lines without a colon skipped, a
  vCard nested in the card (a 2.1 AGENT) left out. Card data never makes this raise: a
  card that cannot be read is a card without properties.
"""

from __future__ import annotations

import quopri
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

CARD = "urn:ietf:params:xml:ns:carddav"
_C = f"{{{CARD}}}"
_FILTER, _PROP_FILTER, _PARAM_FILTER = f"{_C}filter", f"{_C}prop-filter", f"{_C}param-filter"
_IS_NOT_DEFINED, _TEXT_MATCH = f"{_C}is-not-defined", f"{_C}text-match"
# match-type: whether a text matches a needle, both already folded by the collation
MATCH_TYPES: dict[str, Callable[[str, str], bool]] = {
    "equals": lambda needle, text: text == needle,
    "contains": lambda needle, text: needle in text,
    "starts-with": lambda needle, text: text.startswith(needle),
    "ends-with": lambda needle, text: text.endswith(needle),
}
_UPPER_ASCII = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _unicode_casemap(text: str) -> str:
    # RFC 5051 maps each character to its titlecase, then decomposes it (NFKD). Python's
    # full case folding between two NFKC normalisations stands in for it, an acceptable
    # approximation: it equates what RFC 5051 does in practice (ÉLODIE and élodie, ﬁ and
    # fi) and a little more (ß and ss), and as an accented letter stays one character,
    # "e" is not found inside "é" as it would be in decomposed text.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


COLLATIONS: dict[str, Callable[[str], str]] = {
    "i;unicode-casemap": _unicode_casemap,
    "i;ascii-casemap": lambda text: text.translate(_UPPER_ASCII),  # a-z as A-Z, nothing else
    "i;octet": lambda text: text,  # equal strings are equal UTF-8 octets, and substrings too
}
DEFAULT_COLLATION = "i;unicode-casemap"  # RFC 6352 sections 8.3 and 10.5.4
_STRUCTURED = frozenset({"N", "ADR", "ORG", "GENDER"})
_LISTS = frozenset({"CATEGORIES", "NICKNAME"})
_ENCODINGS = frozenset({"QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"})
_PROP_NAME = re.compile(r"(?:[A-Za-z0-9-]+\.)?[A-Za-z0-9-]+")
_PARAM_NAME = re.compile(r"[A-Za-z0-9-]+")
_QUOTED, _ESCAPED = r'"[^"]*"', r"\\."
_unescape = partial(re.compile(r"\\([\\;,nN])").sub, lambda m: "\n" if m[1] in "nN" else m[1])
_CARET = re.compile(r"\^([n'^])")
_QP_LINE = re.compile(rb"[^:]*QUOTED-PRINTABLE", re.IGNORECASE)
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_DIGITS = re.compile(r"[0-9]{1,9}")
_TESTS = ("anyof", "allof")


class UnsupportedFilter(Exception):
    """A filter this server does not evaluate; ``condition`` names the CardDAV
    precondition to answer with: supported-filter or supported-collation."""

    def __init__(self, condition: str, message: str) -> None:
        super().__init__(message)
        self.condition = condition
        self.message = message


_unsupported = partial(UnsupportedFilter, "supported-filter")


class BadLimit(ValueError):
    """A <card:limit> without a whole number from 1 in it: a 400 Bad Request."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Prop(NamedTuple):
    group: str  # upper case, "" without one
    name: str  # upper case
    params: dict[str, list[str]]  # upper-case name: the value of each occurrence, unquoted
    value: str  # quoted-printable decoded, still escaped

    def texts(self) -> list[str]:
        """The strings a text-match tries: the whole value, then its parts."""
        if self.name not in _STRUCTURED | _LISTS:
            return [_unescape(self.value)]
        parts = _split(self.value, ";", _ESCAPED) if self.name in _STRUCTURED else []
        items = [item for part in parts or [self.value] for item in _split(part, ",", _ESCAPED)]
        return [_unescape(text) for text in (self.value, *parts, *items)]


@dataclass(frozen=True)
class TextMatch:
    text: str
    collation: str = DEFAULT_COLLATION  # a key of COLLATIONS
    match_type: str = "contains"  # a key of MATCH_TYPES
    negate: bool = False

    def test(self, candidates: Iterable[str]) -> bool:
        fold, match = COLLATIONS[self.collation], MATCH_TYPES[self.match_type]
        needle = fold(self.text)
        return any(match(needle, fold(text)) for text in candidates) != self.negate


@dataclass(frozen=True)
class ParamFilter:
    name: str  # upper case
    is_not_defined: bool = False
    text_match: TextMatch | None = None

    def test(self, prop: _Prop) -> bool:
        values = prop.params.get(self.name)
        if self.is_not_defined or values is None:
            return self.is_not_defined and values is None
        if self.text_match is None:
            return True
        return self.text_match.test([t for v in values for t in (v, *v.split(","))])


@dataclass(frozen=True)
class PropFilter:
    name: str  # upper case, without the group
    group: str | None = None  # upper case; None for any group or none
    allof: bool = False
    is_not_defined: bool = False
    text_matches: tuple[TextMatch, ...] = ()
    param_filters: tuple[ParamFilter, ...] = ()

    def test(self, props: list[_Prop]) -> bool:
        named = [p for p in props if p.name == self.name and self.group in (None, p.group)]
        if self.is_not_defined:
            return not named
        if not (self.text_matches or self.param_filters):
            return bool(named)
        combine = all if self.allof else any
        return any(combine(self._checks(prop)) for prop in named)

    def _checks(self, prop: _Prop) -> Iterator[bool]:
        texts = prop.texts()
        yield from (match.test(texts) for match in self.text_matches)
        yield from (param.test(prop) for param in self.param_filters)


@dataclass(frozen=True)
class CardFilter:
    allof: bool = False
    prop_filters: tuple[PropFilter, ...] = ()


def matches(card_filter: CardFilter, card: bytes) -> bool:
    """Whether one vCard (4.0, 3.0 or even 2.1) passes the filter."""
    if not card_filter.prop_filters:
        return True
    props = _parse_card(card)
    combine = all if card_filter.allof else any
    return combine(prop_filter.test(props) for prop_filter in card_filter.prop_filters)


def parse_filter(root: ET.Element) -> CardFilter:
    """The filter of an addressbook-query element (or of a <card:filter> itself)."""
    node = root if root.tag == _FILTER else root.find(_FILTER)
    if node is None:  # required, but some clients leave it out to ask for every card
        return CardFilter()
    children = _children(node, _PROP_FILTER)
    allof = _choice(node, "test", _TESTS, "anyof") == "allof"
    return CardFilter(allof, tuple(_prop_filter(child) for child in children))


def limit_of(root: ET.Element) -> int | None:
    """The number of results an addressbook-query asks for at most, None for no limit."""
    limit = root.find(f"{_C}limit")
    if limit is None:
        return None
    nresults = limit.find(f"{_C}nresults")
    text = (nresults.text or "").strip() if nresults is not None else ""
    if not _DIGITS.fullmatch(text) or int(text) < 1:
        raise BadLimit("nresults must be a whole number from 1.")
    return int(text)


def _children(element: ET.Element, *allowed: str) -> list[ET.Element]:
    for child in element:
        if child.tag not in allowed:
            inner, outer = (tag.rpartition("}")[2] for tag in (child.tag, element.tag))
            raise _unsupported(f"{inner} is not supported inside {outer}.")
    return list(element)


def _choice(element: ET.Element, attribute: str, allowed: Collection[str], default: str) -> str:
    value = element.get(attribute, default).strip()
    if value not in allowed:
        raise _unsupported(f'{attribute}="{value}" is not one of {", ".join(allowed)}.')
    return value


def _name(element: ET.Element, pattern: re.Pattern[str]) -> str:
    name = element.get("name", "").strip()
    if not pattern.fullmatch(name):
        raise _unsupported(f'name="{name}" is not a vCard name.')
    return name.upper()


def _prop_filter(element: ET.Element) -> PropFilter:
    group, _, name = _name(element, _PROP_NAME).rpartition(".")
    children = _children(element, _IS_NOT_DEFINED, _TEXT_MATCH, _PARAM_FILTER)
    is_not_defined = any(child.tag == _IS_NOT_DEFINED for child in children)
    if is_not_defined and len(children) > 1:
        raise _unsupported(f"is-not-defined stands alone in the prop-filter on {name}.")
    return PropFilter(
        name, group or None, _choice(element, "test", _TESTS, "anyof") == "allof", is_not_defined,
        tuple(_text_match(child) for child in children if child.tag == _TEXT_MATCH),
        tuple(_param_filter(child) for child in children if child.tag == _PARAM_FILTER),
    )  # fmt: skip


def _param_filter(element: ET.Element) -> ParamFilter:
    name = _name(element, _PARAM_NAME)
    children = _children(element, _IS_NOT_DEFINED, _TEXT_MATCH)
    if len(children) > 1:
        raise _unsupported(f"The param-filter on {name} holds one condition at most.")
    undefined = bool(children) and children[0].tag == _IS_NOT_DEFINED
    return ParamFilter(
        name, undefined, _text_match(children[0]) if children and not undefined else None
    )


def _text_match(element: ET.Element) -> TextMatch:
    _children(element)  # text only
    collation = element.get("collation", "default").strip()
    collation = DEFAULT_COLLATION if collation == "default" else collation
    if collation not in COLLATIONS:
        message = f'The collation "{collation}" is not supported.'
        raise UnsupportedFilter("supported-collation", message)
    match_type = _choice(element, "match-type", MATCH_TYPES, "contains")
    negate = _choice(element, "negate-condition", ("yes", "no"), "no") == "yes"
    return TextMatch(element.text or "", collation, match_type, negate)


def _split(text: str, separator: str, skip: str) -> list[str]:
    """``text`` cut at each ``separator`` outside what ``skip`` matches (escapes, quotes)."""
    parts: list[str] = []
    start = 0
    for found in re.finditer(f"{skip}|{re.escape(separator)}", text, re.DOTALL):
        if found.group() == separator:
            parts.append(text[start : found.start()])
            start = found.end()
    parts.append(text[start:])
    return parts


def _lines(card: bytes) -> list[str]:
    """Logical lines: a quoted-printable line ending in a soft break ("=") joined to the
    whole next line (vCard 2.1), a folded line to the one before less the break and one
    space or tab. Bytes are joined first, as a fold may cut a UTF-8 sequence in two."""
    joined: list[bytearray] = []
    for line in _LINE_BREAK.split(card.removeprefix(b"\xef\xbb\xbf")):
        if joined and joined[-1].endswith(b"=") and _QP_LINE.match(joined[-1]):
            del joined[-1][-1]
            joined[-1] += line
        elif joined and line[:1] in (b" ", b"\t"):
            joined[-1] += line[1:]
        else:
            joined.append(bytearray(line))
    return [_decode(bytes(line)) for line in joined]


def _decode(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:  # 8-bit vCard 2.1 and older exports
        return line.decode("latin-1")


def _parse_line(line: str) -> _Prop | None:
    """``group.NAME;PARAM=a,"b;c":value``, or None for a line without a colon."""
    head, *rest = _split(line, ":", _QUOTED)
    if not rest:
        return None
    value = ":".join(rest)
    name, *segments = _split(head, ";", _QUOTED)
    group, _, name = name.strip().rpartition(".")
    params: dict[str, list[str]] = {}
    for segment in filter(None, (s.strip() for s in segments)):
        key, equals, raw = segment.partition("=")
        if not equals:  # vCard 2.1: TEL;CELL;VOICE, NOTE;QUOTED-PRINTABLE
            key, raw = ("ENCODING" if segment.upper() in _ENCODINGS else "TYPE"), segment
        raw = raw.replace('"', "")
        raw = _CARET.sub(lambda m: {"n": "\n", "'": '"'}.get(m.group(1), "^"), raw)
        params.setdefault(key.strip().upper(), []).append(raw)
    if any(v.upper() == "QUOTED-PRINTABLE" for v in params.get("ENCODING", ())):
        decoded = quopri.decodestring(value.encode("utf-8"))
        try:
            value = decoded.decode(params.get("CHARSET", ["utf-8"])[0] or "utf-8", "replace")
        except (LookupError, ValueError):  # an unknown charset, or not a text encoding
            value = decoded.decode("utf-8", "replace")
    return _Prop(group.upper(), name.upper(), params, value)


def _parse_card(card: bytes) -> list[_Prop]:
    props: list[_Prop] = []
    depth = 0
    for line in _lines(card):
        prop = _parse_line(line)
        if prop is None:
            continue
        if prop.name in ("BEGIN", "END") and prop.value.strip().upper() == "VCARD":
            depth += 1 if prop.name == "BEGIN" else -1
        elif depth <= 1:
            props.append(prop)
    return props
