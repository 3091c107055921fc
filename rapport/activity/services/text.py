"""HTML that may be shown (sanitised) and the plain text read out of it."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

# What an email or a note may keep: structure and emphasis, links, tables, inline
# images by content id; never scripts, styles, forms or event handlers.
_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "div", "dl", "dt", "em", "h1",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "q", "s",
    "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}


def sanitize_html(text: str) -> str:
    """HTML safe to put in a page: only harmless tags and attributes, links that open
    safely, images only from the message itself (``cid:``) so no tracker loads."""
    import nh3

    return nh3.clean(
        text,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel", "cid"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        attribute_filter=_only_own_images,
    )


def _only_own_images(tag: str, attribute: str, value: str) -> str | None:
    """An image may only come from the message itself: a remote one would tell its
    sender that, when and where the message was read."""
    if tag == "img" and attribute == "src" and not value.lower().startswith("cid:"):
        return None
    return value


_BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "hr"}  # fmt: skip


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def text_from_html(text: str) -> str:
    """The readable text of an HTML body: blocks on their own lines, no markup."""
    parser = _Text()
    try:
        parser.feed(text)
        parser.close()
    except Exception:  # HTMLParser is lenient; anything else is no reason to lose the text
        return html.unescape(re.sub(r"<[^>]*>", " ", text))
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
