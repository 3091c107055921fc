"""The CardDAV server through a real HTTP server, as a client sees it: discovery from the
server's root, principal and home, PROPFIND, sync-collection with changes and deletions,
multiget, GET with ETags; app passwords only; read-only; the traps of Django (CSRF on
DAV methods, trailing slashes, methods it does not route)."""

from __future__ import annotations

import base64
import http.client
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest

from rapport.access.services import app_password_create
from rapport.contacts.services import contact_delete, contact_update
from rapport.contacts.tests.factories import make_contact

D, CARD = "{DAV:}", "{urn:ietf:params:xml:ns:carddav}"


class Dav:
    def __init__(self, base: str, username: str, password: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    def request(self, method: str, path: str, body: str = "", auth: bool = True, **headers):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        if auth:
            headers.setdefault("Authorization", self.auth)
        if body:
            headers.setdefault("Content-Type", 'application/xml; charset="utf-8"')
        conn.request(method, path, body=body.encode(), headers=headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response.status, dict(response.getheaders()), data

    def xml(self, method: str, path: str, body: str, **headers) -> tuple[int, ET.Element]:
        status, _headers, data = self.request(method, path, body, **headers)
        return status, ET.fromstring(data)


def _responses(root: ET.Element) -> dict[str, ET.Element]:
    return {r.findtext(f"{D}href"): r for r in root.iter(f"{D}response")}


PROPFIND = '<d:propfind xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav" xmlns:cs="http://calendarserver.org/ns/"><d:prop>{}</d:prop></d:propfind>'
SYNC = '<d:sync-collection xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:sync-token>{}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/>{}</d:prop></d:sync-collection>'


@pytest.fixture
def dav(live_server, transactional_db, alice):
    _item, secret = app_password_create(user=alice, name="test client")
    return Dav(live_server.url, "alice", secret)


def test_a_client_given_only_the_server_finds_the_address_book(dav):
    # the root of the server, and the well-known address, lead to the DAV root
    for path in ("/", "/.well-known/carddav"):
        status, headers, _ = dav.request("PROPFIND", path, auth=False, Depth="0")
        assert (status, headers["Location"]) == (301, "/dav/")
    status, headers, _ = dav.request("PROPFIND", "/dav/", auth=False, Depth="0")
    assert status == 401 and headers["WWW-Authenticate"].startswith('Basic realm="Rapport"')

    status, root = dav.xml(
        "PROPFIND", "/dav/", PROPFIND.format("<d:current-user-principal/>"), Depth="0"
    )
    assert status == 207
    principal = root.find(f".//{D}current-user-principal/{D}href").text
    assert principal == "/dav/principals/alice/"
    status, root = dav.xml(
        "PROPFIND", principal, PROPFIND.format("<card:addressbook-home-set/>"), Depth="0"
    )
    home = root.find(f".//{CARD}addressbook-home-set/{D}href").text
    status, root = dav.xml(
        "PROPFIND",
        home,
        PROPFIND.format(
            "<d:resourcetype/><d:displayname/><cs:getctag/><d:sync-token/><d:supported-report-set/>"
        ),
        Depth="1",
    )
    assert status == 207
    books = {
        href: r
        for href, r in _responses(root).items()
        if r.find(f".//{D}resourcetype/{CARD}addressbook") is not None
    }
    assert list(books) == ["/dav/addressbooks/alice/contacts/"]
    book = books["/dav/addressbooks/alice/contacts/"]
    assert book.findtext(f".//{D}displayname") == "All contacts"
    reports = {
        r.tag
        for r in book.iter()
        if r.tag in (f"{CARD}addressbook-multiget", f"{D}sync-collection")
    }
    assert reports == {f"{CARD}addressbook-multiget", f"{D}sync-collection"}


def test_sync_collection_reports_new_changed_and_deleted_cards(dav, alice):
    ada = make_contact(
        given_name="Ada", family_name="Lovelace", emails=[{"address": "ada@example.com"}]
    )
    bob = make_contact(given_name="Bob", family_name="Miller")
    book = "/dav/addressbooks/alice/contacts/"
    status, root = dav.xml("REPORT", book, SYNC.format("", "<card:address-data/>"), Depth="1")
    assert status == 207
    first = _responses(root)
    cards = {href: r.findtext(f".//{CARD}address-data") for href, r in first.items()}
    assert len(cards) == 2
    [ada_href] = [h for h, card in cards.items() if "FN:Ada Lovelace" in card]
    assert "EMAIL" in cards[ada_href] and cards[ada_href].startswith(
        "BEGIN:VCARD\r\nVERSION:3.0\r\n"
    )
    token = root.findtext(f"{D}sync-token")

    # nothing changed: nothing listed, the same token
    status, root = dav.xml("REPORT", book, SYNC.format(token, ""), Depth="1")
    assert _responses(root) == {} and root.findtext(f"{D}sync-token") == token

    contact_update(actor=alice, contact=ada, data={"job_title": "Analyst"}, via="api")
    contact_delete(actor=alice, contact=bob, via="api")
    status, root = dav.xml("REPORT", book, SYNC.format(token, ""), Depth="1")
    changes = _responses(root)
    assert len(changes) == 2
    assert changes[ada_href].findtext(f".//{D}getetag") != first[ada_href].findtext(
        f".//{D}getetag"
    )
    [gone] = [r for h, r in changes.items() if h != ada_href]
    assert gone.findtext(f"{D}status") == "HTTP/1.1 404 Not Found"

    # GET gives the card with the ETag the sync reported; If-None-Match spares the body
    status, headers, body = dav.request("GET", ada_href)
    assert status == 200 and b"TITLE:Analyst" in body
    assert headers["ETag"] == changes[ada_href].findtext(f".//{D}getetag")
    assert headers["Content-Type"].startswith("text/vcard")
    status, _, body = dav.request("GET", ada_href, **{"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")

    # a token that is not this book's
    status, root = dav.xml("REPORT", book, SYNC.format("http://rapport.invalid/ns/sync/1/x/1", ""))
    assert status == 403 and root.find(f"{D}valid-sync-token") is not None


def test_multiget_returns_each_card_asked_for_and_404_for_unknown_ones(dav):
    make_contact(given_name="Grace", family_name="Hopper")
    book = "/dav/addressbooks/alice/contacts/"
    status, root = dav.xml("PROPFIND", book, PROPFIND.format("<d:getetag/>"), Depth="1")
    [card] = [h for h in _responses(root) if h.endswith(".vcf")]
    body = (
        '<card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">'
        f'<d:prop><d:getetag/><card:address-data version="4.0"/></d:prop><d:href>{card}</d:href>'
        f"<d:href>{book}missing.vcf</d:href></card:addressbook-multiget>"
    )
    status, root = dav.xml("REPORT", book, body, Depth="1")
    found = _responses(root)
    assert "VERSION:4.0" in found[card].findtext(f".//{CARD}address-data")
    assert "\r\n" in found[card].findtext(f".//{CARD}address-data")  # CRLF kept
    assert found[f"{book}missing.vcf"].findtext(f"{D}status") == "HTTP/1.1 404 Not Found"


def test_only_app_passwords_of_the_user_reach_only_their_own_books(dav, live_server, bob):
    wrong = Dav(live_server.url, "alice", "not-the-password")
    assert wrong.request("PROPFIND", "/dav/", Depth="0")[0] == 401
    _item, secret = app_password_create(user=bob, name="bob")
    as_bob = Dav(live_server.url, "bob", secret)
    assert as_bob.request("PROPFIND", "/dav/addressbooks/alice/contacts/", Depth="0")[0] == 404
    assert as_bob.request("PROPFIND", "/dav/principals/alice/", Depth="0")[0] == 404
    # the API token or a session cookie are not CardDAV credentials
    assert dav.request("PROPFIND", "/dav/", Depth="0", Authorization="Bearer rpt_x")[0] == 401


def test_writes_pass_django_s_traps_and_bad_requests_are_named(dav):
    book = "/dav/addressbooks/alice/contacts/"
    status, _, body = dav.request(
        "PUT", book + "new.vcf", "BEGIN:VCARD\r\nEND:VCARD\r\n", **{"Content-Type": "text/vcard"}
    )
    assert status == 403 and b"valid-address-data" in body  # not Django's CSRF page
    assert dav.request("DELETE", book + "x.vcf")[0] == 404
    assert dav.request("DELETE", book)[0] == 403  # a book is not deleted by a client
    assert dav.request("PROPPATCH", book)[0] == 403
    status, headers, _ = dav.request("OPTIONS", book)
    assert status == 200 and "addressbook" in headers["DAV"]
    assert headers["Allow"] == "OPTIONS, GET, HEAD, PROPFIND, REPORT"  # not PUT: cards are
    assert "extended-mkcol" in headers["DAV"]
    assert "PUT" in dav.request("OPTIONS", book + "any.vcf")[1]["Allow"]
    # without the trailing slash: the same answer, no redirect
    assert (
        dav.request("PROPFIND", book.rstrip("/"), PROPFIND.format("<d:getetag/>"), Depth="0")[0]
        == 207
    )
    assert dav.request("PROPFIND", book, "<d:propfind", Depth="0")[0] == 400
    evil = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><d:propfind xmlns:d="DAV:"/>'
    assert dav.request("PROPFIND", book, evil, Depth="0")[0] == 400
    assert (
        dav.request("PROPFIND", book, PROPFIND.format("<d:getetag/>"), Depth="infinity")[0] == 403
    )
    status, root = dav.xml("REPORT", book, '<x:unknown-report xmlns:x="urn:example"/>')
    assert status == 403 and root.find(f"{D}supported-report") is not None


def test_a_merge_takes_the_merged_card_away_and_an_unmerge_brings_it_back(dav, alice):
    from rapport.merges import services as merges

    keep = make_contact(
        given_name="Robert", family_name="Miller", emails=[{"address": "rob@example.com"}]
    )
    other = make_contact(
        given_name="Bob", family_name="Miller", emails=[{"address": "bob@example.com"}]
    )
    book = "/dav/addressbooks/alice/contacts/"
    status, root = dav.xml("REPORT", book, SYNC.format("", "<card:address-data/>"))
    before = {h: r.findtext(f".//{CARD}address-data") for h, r in _responses(root).items()}
    [other_href] = [h for h, c in before.items() if "FN:Bob Miller" in c]
    token = root.findtext(f"{D}sync-token")

    merge = merges.contacts_merge(actor=alice, survivor_id=keep.pk, merged_ids=[other.pk])
    status, root = dav.xml("REPORT", book, SYNC.format(token, "<card:address-data/>"))
    changes = _responses(root)
    assert changes[other_href].findtext(f"{D}status") == "HTTP/1.1 404 Not Found"
    [survivor] = [r for h, r in changes.items() if h != other_href]
    assert "bob@example.com" in survivor.findtext(f".//{CARD}address-data")  # it gained her email

    merges.merge_undo(actor=alice, merge_id=merge.pk)
    status, root = dav.xml(
        "REPORT", book, SYNC.format(root.findtext(f"{D}sync-token"), "<card:address-data/>")
    )
    back = _responses(root)
    assert "FN:Bob Miller" in back[other_href].findtext(f".//{CARD}address-data")  # same href


QUERY = (
    '<card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">'
    "<d:prop><d:getetag/><card:address-data/></d:prop>{}</card:addressbook-query>"
)


def test_addressbook_query_finds_cards_by_text_with_collations_and_limits(dav):
    make_contact(given_name="Élodie", family_name="Martin", emails=[{"address": "e@example.fr"}])
    make_contact(given_name="Bob", family_name="Miller", emails=[{"address": "bob@example.com"}])
    make_contact(given_name="Grace", family_name="Hopper", emails=[])
    book = "/dav/addressbooks/alice/contacts/"

    def names(body: str) -> set[str]:
        status, root = dav.xml("REPORT", book, QUERY.format(body), Depth="1")
        assert status == 207
        return {
            r.findtext(f".//{CARD}address-data").split("FN:")[1].split("\r\n")[0]
            for r in root.iter(f"{D}response")
            if r.findtext(f".//{CARD}address-data")
        }

    email = (
        '<card:filter><card:prop-filter name="EMAIL"><card:text-match match-type="ends-with">'
        "example.com</card:text-match></card:prop-filter></card:filter>"
    )
    assert names(email) == {"Bob Miller"}
    fn = '<card:filter><card:prop-filter name="FN"><card:text-match collation="{}">élodie</card:text-match></card:prop-filter></card:filter>'
    assert names(fn.format("i;unicode-casemap")) == {"Élodie Martin"}
    assert names(fn.format("i;ascii-casemap")) == set()
    none = '<card:filter><card:prop-filter name="EMAIL"><card:is-not-defined/></card:prop-filter></card:filter>'
    assert names(none) == {"Grace Hopper"}
    assert len(names("<card:filter/>")) == 3
    status, root = dav.xml(
        "REPORT",
        book,
        QUERY.format("<card:filter/><card:limit><card:nresults>1</card:nresults></card:limit>"),
    )
    statuses = [r.findtext(f"{D}status") for r in root.iter(f"{D}response")]
    assert "HTTP/1.1 507 Insufficient Storage" in statuses and len(statuses) == 2
    bad = fn.format("i;klingon")
    status, _, body = dav.request("REPORT", book, QUERY.format(bad))
    assert status == 403 and b"supported-collation" in body
