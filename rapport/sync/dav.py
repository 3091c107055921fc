"""The CardDAV server (RFC 6352 over RFC 4918), read side: discovery, PROPFIND,
``addressbook-multiget``, ``sync-collection`` (RFC 6578) and GET.

URL space (every collection href ends in a slash; cards do not)::

    /.well-known/carddav             any method: 301 to /dav/ (RFC 6764)
    /dav/                            the service root: current-user-principal
    /dav/principals/<user>/          the principal: addressbook-home-set
    /dav/addressbooks/<user>/        the home: the user's books
    /dav/addressbooks/<user>/<book>/ a book (card:addressbook)
    /dav/addressbooks/<user>/<book>/<card>.vcf

Clients sign in with HTTP Basic, the user name and an app password (scope ``carddav``);
nothing else (no session cookie) counts here, which is why the views are exempt from
CSRF. A user reaches only their own principal and books; anyone else's answer 404.
PUT and DELETE of cards and extended MKCOL of books go through ``services.writes`` and
``services.books`` (docs/carddav.md); PROPPATCH, MOVE, COPY and LOCK answer 403.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from xml.etree.ElementTree import Element

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from rapport.access.services import TokenThrottled, app_password_authenticate
from rapport.core import policy
from rapport.core.errors import NotPermitted
from rapport.sync import davxml as x
from rapport.sync import query
from rapport.sync.davxml import CARD, CS, DAV, tag
from rapport.sync.models import AddressBook, BookEntry, ClientCard
from rapport.sync.services import books, cards, writes

logger = logging.getLogger(__name__)

REALM = "Rapport"
CONTENT_TYPE = "text/vcard; charset=utf-8"
REFUSED_METHODS = ("PROPPATCH", "MOVE", "COPY", "POST", "LOCK", "UNLOCK")
STREAM_CHUNK = 500
MULTISTATUS = 'application/xml; charset="utf-8"'


def _xml(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type=MULTISTATUS)


def _unauthorized() -> HttpResponse:
    response = HttpResponse("Sign in with your user name and an app password.", status=401)
    response["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
    return response


def _user(request: HttpRequest) -> Any:
    """(user, app password) for the app password in the Authorization header, an
    HttpResponse (401, 429) otherwise."""
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return _unauthorized()
    try:
        username, sep, secret = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return _unauthorized()
    if not sep:
        return _unauthorized()
    try:
        found = app_password_authenticate(
            username=username,
            secret=secret,
            ip_address=get_client_ip_address(request) or "",
            user_agent=request.headers.get("User-Agent", ""),
        )
    except TokenThrottled as exc:
        response = HttpResponse(str(exc), status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    if found is None:
        return _unauthorized()
    return found


# -- where a path leads -------------------------------------------------------------------


def _seg(value: str) -> str:
    return quote(value, safe="@.+-_~")


def root_path() -> str:
    return "/dav/"


def principal_path(user: Any) -> str:
    return f"/dav/principals/{_seg(user.get_username())}/"


def home_path(user: Any) -> str:
    return f"/dav/addressbooks/{_seg(user.get_username())}/"


def book_path(book: AddressBook) -> str:
    return f"{home_path(book.owner)}{_seg(book.slug)}/"


class Target:
    """What a request path names: kind is root, principal, home, book, card or None."""

    def __init__(self, kind: str | None, book: AddressBook | None = None, name: str = "") -> None:
        self.kind, self.book, self.name = kind, book, name


def _target(user: Any, path: str) -> Target:
    parts = [p for p in path.strip("/").split("/") if p]  # already percent-decoded
    if any("\x00" in p or len(p) > 255 for p in parts):
        return Target(None)
    if not parts:
        return Target("root")
    if parts[0] == "principals" and len(parts) == 2 and parts[1] == user.get_username():
        return Target("principal")
    if parts[0] != "addressbooks" or len(parts) < 2 or parts[1] != user.get_username():
        return Target(None)
    if len(parts) == 2:
        return Target("home")
    if parts[2] == books.DEFAULT_SLUG:
        books.book_default(user)
    book = AddressBook.objects.filter(owner=user, slug=parts[2]).select_related("owner").first()
    if book is None and len(parts) == 3:
        return Target("absent", name=parts[2])  # where MKCOL may make a book
    if book is None or len(parts) > 4:
        return Target(None)
    if len(parts) == 3:
        return Target("book", book)
    return Target("card", book, parts[3])


# -- properties ---------------------------------------------------------------------------

RESOURCETYPE = tag(DAV, "resourcetype")
DISPLAYNAME = tag(DAV, "displayname")
CURRENT_PRINCIPAL = tag(DAV, "current-user-principal")
PRINCIPAL_URL = tag(DAV, "principal-URL")
HOME_SET = tag(CARD, "addressbook-home-set")
OWNER = tag(DAV, "owner")
PRIVILEGES = tag(DAV, "current-user-privilege-set")
REPORTS = tag(DAV, "supported-report-set")
GETCTAG = tag(CS, "getctag")
SYNC_TOKEN = tag(DAV, "sync-token")
GETETAG = tag(DAV, "getetag")
CONTENT_TYPE_PROP = tag(DAV, "getcontenttype")
CONTENT_LENGTH = tag(DAV, "getcontentlength")
LAST_MODIFIED = tag(DAV, "getlastmodified")
ADDRESS_DATA = tag(CARD, "address-data")
SUPPORTED_DATA = tag(CARD, "supported-address-data")
DESCRIPTION = tag(CARD, "addressbook-description")
MAX_SIZE = tag(CARD, "max-resource-size")
QUOTA_USED = tag(DAV, "quota-used-bytes")
COLLATIONS = tag(CARD, "supported-collation-set")
QUOTA_AVAILABLE = tag(DAV, "quota-available-bytes")

_READ_ONLY = "<d:privilege><d:read/></d:privilege><d:privilege><d:read-current-user-privilege-set/></d:privilege>"
_SUPPORTED_REPORTS = "".join(
    f"<d:supported-report><d:report><{name}/></d:report></d:supported-report>"
    for name in ("card:addressbook-multiget", "card:addressbook-query", "d:sync-collection")
)
_SUPPORTED_DATA = (
    '<card:address-data-type content-type="text/vcard" version="3.0"/>'
    '<card:address-data-type content-type="text/vcard" version="4.0"/>'
)


def _privileges(user: Any) -> str:
    """What the user may do in their books, as the policy says: read always; write
    (change cards), bind (add) and unbind (delete) by their contact permissions."""
    granted = [_READ_ONLY]
    if policy.can(user, "contacts.change"):
        granted.append("<d:privilege><d:write-content/></d:privilege>")
    if policy.can(user, "contacts.add"):
        granted.append("<d:privilege><d:bind/></d:privilege>")
    if policy.can(user, "contacts.delete"):
        granted.append("<d:privilege><d:unbind/></d:privilege>")
    return "".join(granted)


def _common(user: Any, book: AddressBook | None = None) -> dict[str, str]:
    granted = _READ_ONLY if book is not None and books.read_only(book) else _privileges(user)
    return {
        CURRENT_PRINCIPAL: x.element(CURRENT_PRINCIPAL, x.href(principal_path(user))),
        OWNER: x.element(OWNER, x.href(principal_path(user))),
        PRIVILEGES: x.element(PRIVILEGES, granted),
    }


def _collection_props(user: Any, target: Target) -> dict[str, str]:
    props = _common(user)
    if target.kind == "root":
        props[RESOURCETYPE] = "<d:resourcetype><d:collection/></d:resourcetype>"
        props[DISPLAYNAME] = x.element(DISPLAYNAME, "Rapport")
    elif target.kind == "principal":
        props[RESOURCETYPE] = "<d:resourcetype><d:principal/></d:resourcetype>"
        props[DISPLAYNAME] = x.element(
            DISPLAYNAME, x.text(user.get_full_name() or user.get_username())
        )
        props[PRINCIPAL_URL] = x.element(PRINCIPAL_URL, x.href(principal_path(user)))
        props[HOME_SET] = x.element(HOME_SET, x.href(home_path(user)))
    elif target.kind == "home":
        props[RESOURCETYPE] = "<d:resourcetype><d:collection/></d:resourcetype>"
        props[DISPLAYNAME] = x.element(DISPLAYNAME, "Address books")
        props[HOME_SET] = x.element(HOME_SET, x.href(home_path(user)))
    if target.kind in ("root", "principal"):
        props[HOME_SET] = x.element(HOME_SET, x.href(home_path(user)))
    return props


def _book_props(user: Any, book: AddressBook) -> dict[str, str]:
    props = _common(user, book)
    props.update(
        {
            RESOURCETYPE: "<d:resourcetype><d:collection/><card:addressbook/></d:resourcetype>",
            DISPLAYNAME: x.element(DISPLAYNAME, x.text(book.name)),
            DESCRIPTION: x.element(DESCRIPTION, x.text(book.description)),
            GETCTAG: x.element(GETCTAG, x.text(books.ctag(book))),
            GETETAG: x.element(GETETAG, x.text(f'"{books.ctag(book)}"')),
            SYNC_TOKEN: x.element(SYNC_TOKEN, x.text(books.sync_token(book))),
            REPORTS: x.element(REPORTS, _SUPPORTED_REPORTS),
            SUPPORTED_DATA: x.element(SUPPORTED_DATA, _SUPPORTED_DATA),
            MAX_SIZE: x.element(MAX_SIZE, str(cards.MAX_CARD_BYTES)),
            COLLATIONS: x.element(
                COLLATIONS,
                "".join(
                    f"<card:supported-collation>{c}</card:supported-collation>"
                    for c in query.COLLATIONS
                    if c != "default"
                ),
            ),
        }
    )
    used = books.quota_used(book)
    props[QUOTA_USED] = x.element(QUOTA_USED, str(used))
    props[QUOTA_AVAILABLE] = x.element(
        QUOTA_AVAILABLE, str(max(settings.RAPPORT_CARDDAV_QUOTA_BYTES - used, 0))
    )
    return props


def _card_props(entry: BookEntry, served: Served | None = None) -> dict[str, str]:
    """A card's properties: from its entry, or from the card being served (whose etag
    is that of the bytes sent, should the card have changed since the last refresh)."""
    etag, size = (served.etag, served.size) if served else (entry.etag, entry.size)
    props = {
        RESOURCETYPE: "<d:resourcetype/>",
        GETETAG: x.element(GETETAG, x.text(f'"{etag}"')),
        CONTENT_TYPE_PROP: x.element(CONTENT_TYPE_PROP, CONTENT_TYPE),
        CONTENT_LENGTH: x.element(CONTENT_LENGTH, str(size)),
        LAST_MODIFIED: x.element(LAST_MODIFIED, format_datetime(entry.changed_at, usegmt=True)),
    }
    if served is not None:
        props[ADDRESS_DATA] = x.element(ADDRESS_DATA, x.text(served.card.decode()))
    return props


def _requested(root: Element | None) -> list[str] | None:
    """The properties a PROPFIND or REPORT asks for; None for allprop (or no body)."""
    if root is None:
        return None
    prop = root.find(tag(DAV, "prop"))
    if prop is None:
        return None
    return [child.tag for child in prop]


def _names_only(root: Element | None) -> bool:
    """A ``propname`` PROPFIND: the names of the properties, without values."""
    return root is not None and root.find(tag(DAV, "propname")) is not None


_ALLPROP = (RESOURCETYPE, DISPLAYNAME, GETETAG, CONTENT_TYPE_PROP, CONTENT_LENGTH, LAST_MODIFIED)


def _pick(
    props: dict[str, str], wanted: list[str] | None, names_only: bool = False
) -> tuple[dict[str, str], list[str]]:
    if names_only:
        return {k: x.empty(k) for k in props}, []
    if wanted is None:
        return {k: v for k, v in props.items() if k in _ALLPROP}, []
    return {k: props[k] for k in wanted if k in props}, [k for k in wanted if k not in props]


# -- the methods --------------------------------------------------------------------------


def _depth(request: HttpRequest) -> str:
    """The Depth header; none counts as 0 (clients that leave it out mean the resource)."""
    return request.headers.get("Depth", "0").strip().lower() or "empty"


def _body(request: HttpRequest) -> Element | None | HttpResponse:
    try:
        raw = request.body
    except RequestDataTooBig:
        return HttpResponse("The request body is too large.", status=413)
    try:
        return x.parse(raw)
    except x.BadXml as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")


def _propfind(request: HttpRequest, user: Any, target: Target) -> HttpResponseBase:
    root = _body(request)
    if isinstance(root, HttpResponse):
        return root
    if root is not None and root.tag != tag(DAV, "propfind"):
        return HttpResponse("Expected a DAV:propfind body.", status=400)
    wanted = _requested(root)
    names_only = _names_only(root)
    depth = _depth(request)
    if depth == "infinity":
        return _xml(x.error(DAV, "propfind-finite-depth"), status=403)
    if depth not in ("0", "1"):
        return HttpResponse("Depth must be 0, 1 or infinity.", status=400)
    path = request.path
    if target.kind in ("root", "principal", "home"):
        own = {
            "root": root_path(),
            "principal": principal_path(user),
            "home": home_path(user),
        }[target.kind]
        found, missing = _pick(_collection_props(user, target), wanted, names_only)
        parts = [x.OPEN, x.response(own, found, missing)]
        if target.kind == "home" and depth == "1":
            for book in books.books_for(user):
                book = books.book_refresh(book).book
                found, missing = _pick(_book_props(user, book), wanted, names_only)
                parts.append(x.response(book_path(book), found, missing))
        parts.append(x.CLOSE)
        return _xml("".join(parts), status=207)
    assert target.book is not None
    if target.kind == "card":
        entry = _entry(target.book, target.name)
        if entry is None:
            return HttpResponse(status=404)
        found, missing = _pick(_card_props(entry), wanted, names_only)
        return _xml(x.OPEN + x.response(path, found, missing) + x.CLOSE, status=207)
    book = books.book_refresh(target.book).book
    found, missing = _pick(_book_props(user, book), wanted, names_only)
    head = x.OPEN + x.response(book_path(book), found, missing)
    if depth == "0":
        return _xml(head + x.CLOSE, status=207)
    writes.device_saw(
        getattr(request, "dav_device", None), book, book.seq, request.headers.get("User-Agent", "")
    )

    def stream() -> Iterator[bytes]:
        yield head.encode()
        last = 0
        while True:
            entries = list(
                BookEntry.objects.filter(book=book, deleted=False, pk__gt=last).order_by("pk")[
                    :STREAM_CHUNK
                ]
            )
            if not entries:
                break
            chunk = []
            for entry in entries:
                found, missing = _pick(_card_props(entry), wanted, names_only)
                chunk.append(x.response(book_path(book) + _seg(entry.name), found, missing))
            yield "".join(chunk).encode()
            last = entries[-1].pk
        yield x.CLOSE.encode()

    return StreamingHttpResponse(stream(), status=207, content_type=MULTISTATUS)


def _entry(book: AddressBook, name: str) -> BookEntry | None:
    return BookEntry.objects.filter(book=book, name=name, deleted=False).first()


def _version(element: Element | None) -> str | None:
    """The vCard version an ``address-data`` element asks for ("" when it names none:
    see ``books.rendered``); None for one Rapport does not write."""
    if element is None:
        return ""
    attributes = {k.lower(): v for k, v in element.attrib.items()}
    kind = attributes.get("content-type", "text/vcard").lower()
    version = attributes.get("version", "")
    if version == "":
        return "" if kind == "text/vcard" else None
    if kind != "text/vcard" or version not in books.VERSIONS:
        return None
    return version


@dataclass(frozen=True)
class Served:
    """A card as it is sent now, with the etag of its vCard 3.0 form (one etag for
    either version, so a client asking for 4.0 sees the etag the book lists)."""

    card: bytes
    etag: str
    size: int


def _cards(entries: list[BookEntry], version: str) -> dict[int, Served]:
    """The current cards of ``entries``' contacts. A card changed since the book's last
    refresh is sent as it is now, with its own etag; the change log catches up at the
    next refresh (the client then sees the same etag and fetches nothing again)."""
    out: dict[int, Served] = {}
    for contact_id, _name, card in books.rendered([e.contact_id for e in entries]):
        out[contact_id] = Served(card, books.etag_of(card), len(card))
    if version and out:
        for contact_id, _name, card in books.rendered(list(out), version):
            out[contact_id] = Served(card, out[contact_id].etag, len(card))
    return out


def _report(request: HttpRequest, user: Any, target: Target) -> HttpResponseBase:
    if target.kind != "book":
        return _xml(x.error(DAV, "supported-report"), status=403)
    root = _body(request)
    if isinstance(root, HttpResponse):
        return root
    assert target.book is not None
    if root is None:
        return HttpResponse("A REPORT needs a body.", status=400)
    wanted = _requested(root) or [GETETAG]
    data = root.find(f"{tag(DAV, 'prop')}/{ADDRESS_DATA}")
    version = _version(data)
    if version is None:
        return _xml(x.error(CARD, "supported-address-data-conversion"), status=403)
    if root.tag == tag(CARD, "addressbook-multiget"):
        return _multiget(target.book, root, wanted, version)
    if root.tag == tag(CARD, "addressbook-query"):
        return _query(target.book, root, wanted, version)
    if root.tag == tag(DAV, "sync-collection"):
        return _sync_collection(
            target.book, root, wanted, version, getattr(request, "dav_device", None),
            request.headers.get("User-Agent", ""),
        )  # fmt: skip
    return _xml(x.error(DAV, "supported-report"), status=403)


def _href_name(raw: str, prefix: str) -> str:
    """The card name an href in a multiget names in the book at ``prefix`` ("" for
    anything else: another book, another host's path, a malformed URL)."""
    try:
        path = unquote(urlsplit(raw).path)
    except ValueError:
        return ""
    name = path[len(prefix) :] if path.startswith(prefix) else ""
    if not name or "/" in name or "\x00" in name or len(name) > 255:
        return ""
    return name


def _multiget(
    book: AddressBook, root: Element, wanted: list[str], version: str
) -> HttpResponseBase:
    prefix = unquote(book_path(book))
    # every href read and checked before the first byte is sent
    hrefs = [(h.text or "").strip() for h in root.iter(tag(DAV, "href"))]
    names = [(raw, _href_name(raw, prefix)) for raw in hrefs]

    def stream() -> Iterator[bytes]:
        yield x.OPEN.encode()
        for start in range(0, len(names), STREAM_CHUNK):
            batch = names[start : start + STREAM_CHUNK]
            entries = {
                e.name: e
                for e in BookEntry.objects.filter(
                    book=book, deleted=False, name__in=[n for _raw, n in batch if n]
                )
            }
            cards = _cards(list(entries.values()), version) if entries else {}
            chunk = []
            for raw, name in batch:
                entry = entries.get(name) if name else None
                if entry is None or entry.contact_id not in cards:
                    chunk.append(x.status_response(raw, "404 Not Found"))
                    continue
                found, missing = _pick(_card_props(entry, cards[entry.contact_id]), wanted)
                chunk.append(x.response(raw, found, missing))
            yield "".join(chunk).encode()
        yield x.CLOSE.encode()

    return StreamingHttpResponse(stream(), status=207, content_type=MULTISTATUS)


def _query(book: AddressBook, root: Element, wanted: list[str], version: str) -> HttpResponseBase:
    """``addressbook-query`` (RFC 6352 §8.6): every card of the book tested against the
    filter (``query``), a chunk at a time; past ``nresults`` matches, the 507 marker."""
    try:
        card_filter = query.parse_filter(root)
        limit = query.limit_of(root)
    except query.UnsupportedFilter as exc:
        return _xml(x.error(CARD, exc.condition, exc.message), status=403)
    except query.BadLimit as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    book = books.book_refresh(book).book
    prefix = book_path(book)

    def stream() -> Iterator[bytes]:
        yield x.OPEN.encode()
        sent, last, truncated = 0, 0, False
        while not truncated:
            entries = list(
                BookEntry.objects.filter(book=book, deleted=False, pk__gt=last).order_by("pk")[
                    :STREAM_CHUNK
                ]
            )
            if not entries:
                break
            last = entries[-1].pk
            current = _cards(entries, "")
            hits = [e for e in entries if e.contact_id in current and query.matches(
                card_filter, current[e.contact_id].card
            )]  # fmt: skip
            if limit is not None and sent + len(hits) > limit:
                hits, truncated = hits[: limit - sent], True
            shown = _cards(hits, version) if (version and hits) else current
            chunk = []
            for entry in hits:
                found, missing = _pick(_card_props(entry, shown[entry.contact_id]), wanted)
                chunk.append(x.response(prefix + _seg(entry.name), found, missing))
            sent += len(hits)
            yield "".join(chunk).encode()
        if truncated:
            yield (
                f"<d:response>{x.href(prefix)}<d:status>HTTP/1.1 507 Insufficient Storage"
                "</d:status><d:error><d:number-of-matches-within-limits/></d:error></d:response>"
            ).encode()
        yield x.CLOSE.encode()

    return StreamingHttpResponse(stream(), status=207, content_type=MULTISTATUS)


_DIGITS = re.compile(r"[0-9]{1,9}")


def _sync_collection(
    book: AddressBook,
    root: Element,
    wanted: list[str],
    version: str,
    device: Any = None,
    user_agent: str = "",
) -> HttpResponseBase:
    token_element = root.find(tag(DAV, "sync-token"))
    token = (token_element.text or "").strip() if token_element is not None else ""
    limit_element = root.find(f"{tag(DAV, 'limit')}/{tag(DAV, 'nresults')}")
    limit = None
    if limit_element is not None:
        text = (limit_element.text or "").strip()
        if not _DIGITS.fullmatch(text) or int(text) < 1:
            return HttpResponse("nresults must be a whole number from 1.", status=400)
        limit = int(text)
    book = books.book_refresh(book).book
    since = 0
    if token:
        found_seq = books.token_seq(book, token)
        if found_seq is None:
            return _xml(x.error(DAV, "valid-sync-token"), status=403)
        since = found_seq
    # The answer covers the changes up to the book's seq as of now; whatever changes
    # while it streams has a later seq and comes with the next sync.
    upto = book.seq
    with_data = ADDRESS_DATA in wanted
    prefix = book_path(book)
    entries = BookEntry.objects.filter(book=book, seq__lte=upto)
    if not token:
        entries = entries.filter(deleted=False)  # a first sync has nothing to forget
    entries = entries.order_by("seq")

    def stream() -> Iterator[bytes]:
        yield x.OPEN.encode()
        sent = 0
        after = since
        truncated = False
        while True:
            size = STREAM_CHUNK if limit is None else min(STREAM_CHUNK, limit - sent)
            if size <= 0:
                truncated = entries.filter(seq__gt=after).exists()
                break
            batch = list(entries.filter(seq__gt=after)[:size])
            if not batch:
                break
            after = batch[-1].seq  # taken before anything else is read
            live = [e for e in batch if not e.deleted]
            cards = _cards(live, version) if (with_data and live) else {}
            chunk = []
            for entry in batch:
                href = prefix + _seg(entry.name)
                if entry.deleted:
                    chunk.append(x.status_response(href, "404 Not Found"))
                    continue
                found, missing = _pick(_card_props(entry, cards.get(entry.contact_id)), wanted)
                chunk.append(x.response(href, found, missing))
            sent += len(batch)
            yield "".join(chunk).encode()
        if truncated:
            yield (
                f"<d:response>{x.href(prefix)}<d:status>HTTP/1.1 507 Insufficient Storage"
                "</d:status><d:error><d:number-of-matches-within-limits/></d:error></d:response>"
            ).encode()
        last = after if truncated else upto
        writes.device_saw(device, book, last, user_agent)
        yield f"<d:sync-token>{x.text(books.sync_token(book, last))}</d:sync-token>{x.CLOSE}".encode()

    return StreamingHttpResponse(stream(), status=207, content_type=MULTISTATUS)


def _get(request: HttpRequest, target: Target) -> HttpResponse:
    if target.kind != "card":
        return HttpResponse(
            "This is Rapport's CardDAV server: point an address-book client at it.",
            content_type="text/plain; charset=utf-8",
        )
    assert target.book is not None
    entry = _entry(target.book, target.name)
    if entry is None:
        return HttpResponse(status=404)
    accept = request.headers.get("Accept", "")
    asked = accept.replace(" ", "").replace('"', "")
    version = "4.0" if "version=4.0" in asked else ("3.0" if "version=3.0" in asked else "")
    cards = _cards([entry], version)
    served = cards.get(entry.contact_id)
    if served is None:
        return HttpResponse(status=404)
    etag = f'"{served.etag}"'
    if etag in [v.strip() for v in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(
            b"" if request.method == "HEAD" else served.card, content_type=CONTENT_TYPE
        )
        response["Content-Length"] = str(served.size)
    response["ETag"] = etag
    return response


def _allowed(target: Target) -> tuple[str, ...]:
    """The methods served at ``target``, exactly."""
    if target.kind == "card":
        return ("OPTIONS", "GET", "HEAD", "PROPFIND", "PUT", "DELETE")
    if target.kind == "book":
        removable = target.book is not None and not target.book.is_default
        return ("OPTIONS", "GET", "HEAD", "PROPFIND", "REPORT") + (("DELETE",) if removable else ())
    if target.kind == "absent":
        return ("OPTIONS", "MKCOL")
    return ("OPTIONS", "GET", "HEAD", "PROPFIND")


def _options(target: Target) -> HttpResponse:
    response = HttpResponse(status=200)
    response["DAV"] = "1, 3, addressbook, extended-mkcol"
    response["Allow"] = ", ".join(_allowed(target))
    return response


def _tags(value: str | None) -> list[str] | None:
    """The entity tags of an If-Match / If-None-Match header, unquoted ("*" for any);
    None when the header is absent. A weak tag never matches (strong comparison)."""
    if value is None:
        return None
    out = []
    for part in value.split(","):
        part = part.strip()
        if part == "*":
            out.append("*")
        elif part.startswith('"') and part.endswith('"') and len(part) >= 2:
            out.append(part[1:-1])
    return out


def _refused(exc: cards.CardRefused, book: AddressBook) -> HttpResponse:
    inner = x.href(book_path(book) + _seg(exc.holder)) if exc.holder else ""
    return _xml(x.error(CARD, exc.condition, exc.message, inner), status=403)


_CARD_TYPES = ("text/vcard", "text/x-vcard", "text/directory", "application/octet-stream", "")


def _put(request: HttpRequest, user: Any, device: Any, target: Target) -> HttpResponse:
    if target.kind != "card":
        return _xml(x.error(DAV, "need-privileges", "Only cards can be written here."), 403)
    assert target.book is not None
    kind = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if kind not in _CARD_TYPES:
        return _xml(
            x.error(CARD, "supported-address-data", f"Send a vCard (text/vcard), not {kind}."),
            status=415,
        )
    try:
        body = request.body
    except RequestDataTooBig:
        return _xml(x.error(CARD, "max-resource-size", "The card is too large."), status=413)
    try:
        written = writes.card_put(
            actor=user,
            device=device,
            book=target.book,
            name=target.name,
            body=body,
            content_type=request.headers.get("Content-Type", ""),
            if_match=_tags(request.headers.get("If-Match")),
            if_none_match=_tags(request.headers.get("If-None-Match")),
        )
    except cards.CardRefused as exc:
        return _refused(exc, target.book)
    except writes.PreconditionFailed as exc:
        return HttpResponse(str(exc), status=412, content_type="text/plain; charset=utf-8")
    except writes.QuotaExceeded as exc:
        return _xml(x.error(DAV, "quota-not-exceeded", str(exc)), status=507)
    except NotPermitted as exc:
        return _xml(
            x.error(DAV, "need-privileges", str(exc) or "You may not change contacts."), 403
        )
    response = HttpResponse(status=201 if written.created else 204)
    stored = ClientCard.objects.filter(contact_id=written.contact_id).first()
    # The ETag only when the card is now served as it was sent (RFC 6352 §6.3.2.3):
    # a client that gets none fetches the card Rapport made of it.
    if stored is not None and books.etag_of(stored.body.encode()) == written.etag:
        response["ETag"] = f'"{written.etag}"'
    return response


def _mkcol(request: HttpRequest, user: Any, target: Target) -> HttpResponse:
    """Extended MKCOL (RFC 5689): a client makes an address book, which is the book of
    a tag (the tag is made when it does not exist)."""
    if target.kind in ("book", "home", "root", "principal"):
        response = HttpResponse("Something is already there.", status=405)
        response["Allow"] = ", ".join(_allowed(target))
        return response
    if target.kind != "absent":
        return _xml(x.error(DAV, "need-privileges", "Address books are made in your home."), 403)
    root = _body(request)
    if isinstance(root, HttpResponse):
        return root
    if root is None or root.tag != tag(DAV, "mkcol"):
        return _xml(
            x.error(DAV, "valid-resourcetype", "Send an extended MKCOL making a card:addressbook."),
            403,
        )
    props = root.find(f"{tag(DAV, 'set')}/{tag(DAV, 'prop')}")
    kinds = props.find(RESOURCETYPE) if props is not None else None
    if kinds is None or kinds.find(tag(CARD, "addressbook")) is None:
        return _xml(x.error(DAV, "valid-resourcetype", "Only address books can be made here."), 403)
    name = (props.findtext(DISPLAYNAME) or "").strip() if props is not None else ""
    try:
        book = books.book_for_tag(user=user, slug=target.name, name=name)
    except books.BookRefused as exc:
        status = 405 if exc.condition == "resource-must-be-null" else 403
        return _xml(x.error(DAV, exc.condition, exc.message), status)
    response = HttpResponse(status=201)
    response["Location"] = book_path(book)
    return response


def _delete(request: HttpRequest, user: Any, device: Any, target: Target) -> HttpResponse:
    if target.kind == "book" and target.book is not None:
        try:
            books.book_delete(user=user, book=target.book)
        except books.BookRefused as exc:
            return _xml(x.error(DAV, exc.condition, exc.message), 403)
        return HttpResponse(status=204)
    if target.kind != "card":
        return _xml(x.error(DAV, "need-privileges", "This cannot be deleted."), 403)
    assert target.book is not None
    try:
        found = writes.card_delete(
            actor=user,
            device=device,
            book=target.book,
            name=target.name,
            if_match=_tags(request.headers.get("If-Match")),
        )
    except writes.PreconditionFailed as exc:
        return HttpResponse(str(exc), status=412, content_type="text/plain; charset=utf-8")
    except NotPermitted as exc:
        return _xml(
            x.error(DAV, "need-privileges", str(exc) or "You may not delete contacts."), 403
        )
    return HttpResponse(status=204 if found else 404)


@csrf_exempt
def dav(request: HttpRequest, path: str = "") -> HttpResponseBase:
    """Every request under /dav/."""
    method = request.method or "GET"
    signed_in = _user(request)
    if isinstance(signed_in, HttpResponse):
        return signed_in
    user, device = signed_in
    request.dav_device = device  # type: ignore[attr-defined]
    target = _target(user, path or "/")
    if method == "MKCOL":
        return _mkcol(request, user, target)
    if method == "OPTIONS" and target.kind is not None:
        return _options(target)
    if target.kind in (None, "absent"):
        return HttpResponse(status=404)
    if method == "PROPFIND":
        return _propfind(request, user, target)
    if method == "REPORT":
        return _report(request, user, target)
    if method in ("GET", "HEAD"):
        return _get(request, target)
    if method == "PUT":
        return _put(request, user, device, target)
    if method == "DELETE":
        return _delete(request, user, device, target)
    if method in REFUSED_METHODS:
        return _xml(x.error(DAV, "need-privileges", "This is not supported here."), 403)
    response = HttpResponse(status=405)
    response["Allow"] = ", ".join(_allowed(target))
    return response


@csrf_exempt
def well_known(request: HttpRequest) -> HttpResponse:
    """RFC 6764: every method on /.well-known/carddav goes to the service root."""
    response = HttpResponse(status=301)
    response["Location"] = root_path()
    return response
