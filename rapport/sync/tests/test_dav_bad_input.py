"""What a client can send, or a contact can hold, never breaks a book: malformed
credentials, bodies, tokens, limits and hrefs get a clear error or a 404 entry, never a
500 or a cut-off response; a card changed while a sync streams is not lost."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from rapport.access.services import app_password_create
from rapport.contacts.services import contact_update
from rapport.contacts.tests.factories import make_contact
from rapport.sync import dav

pytestmark = pytest.mark.django_db
BOOK = "/dav/addressbooks/alice/contacts/"
D, CARD = "{DAV:}", "{urn:ietf:params:xml:ns:carddav}"


def _sync(token: str = "", limit: str = "", data: str = "") -> str:
    return (
        '<d:sync-collection xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">'
        f"<d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level>{limit}"
        f"<d:prop><d:getetag/>{data}</d:prop></d:sync-collection>"
    )


@pytest.fixture
def client(alice):
    _item, secret = app_password_create(user=alice)
    found = Client(raise_request_exception=False)
    found.defaults["HTTP_AUTHORIZATION"] = (
        "Basic " + base64.b64encode(f"alice:{secret}".encode()).decode()
    )
    return found


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _report(client, body, path=BOOK, **headers):
    return client.generic(
        "REPORT", path, body, content_type="application/xml", HTTP_DEPTH="1", **headers
    )


def _propfind(client, body, path=BOOK, depth="0"):
    return client.generic("PROPFIND", path, body, content_type="application/xml", HTTP_DEPTH=depth)


def test_what_contacts_hold_never_breaks_the_book(client):
    make_contact(given_name="Eve", family_name="Export", notes="copied from an old file: END:VCARD")
    make_contact(
        given_name="Con", family_name="Trol", notes="page 1\x0cpage 2", job_title="CTO\x1b"
    )
    response = _report(client, _sync(data="<card:address-data/>"))
    assert response.status_code == 207
    root = ET.fromstring(_body(response))  # well-formed, whatever the notes hold
    cards = [c.text for c in root.iter(f"{CARD}address-data")]
    assert len(cards) == 2
    assert any("old file: END:VCARD" in c for c in cards)
    assert any("page 1page 2" in c for c in cards)


def test_a_card_changed_while_a_sync_streams_is_not_lost(client, alice, monkeypatch):
    monkeypatch.setattr(dav, "STREAM_CHUNK", 2)
    people = [make_contact(given_name=f"P{i}", family_name="Stream") for i in range(6)]
    response = _report(client, _sync(data="<card:address-data/>"))
    parts = iter(response.streaming_content)
    received = [next(parts)]
    contact_update(actor=alice, contact=people[1], data={"given_name": "Changed"}, via="api")
    received += list(parts)
    root = ET.fromstring(b"".join(received))
    assert len([r for r in root.iter(f"{D}response")]) == 6
    # the change made while it streamed comes with the next sync
    again = ET.fromstring(_body(_report(client, _sync(root.findtext(f"{D}sync-token")))))
    assert len(list(again.iter(f"{D}response"))) == 1


def test_a_limit_gives_a_token_to_go_on_from(client, monkeypatch):
    monkeypatch.setattr(dav, "STREAM_CHUNK", 2)
    for i in range(5):
        make_contact(given_name=f"L{i}", family_name="Limit")
    seen: list[str] = []
    token = ""
    for _ in range(4):
        root = ET.fromstring(
            _body(_report(client, _sync(token, "<d:limit><d:nresults>2</d:nresults></d:limit>")))
        )
        for response in root.iter(f"{D}response"):
            status = response.findtext(f"{D}status") or ""
            if "507" in status:
                assert response.find(f".//{D}number-of-matches-within-limits") is not None
            else:
                seen.append(response.findtext(f"{D}href"))
        token = root.findtext(f"{D}sync-token")
    assert len(seen) == 5 and len(set(seen)) == 5


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (_sync(limit="<d:limit><d:nresults>\u00b2</d:nresults></d:limit>"), 400),
        (_sync(limit="<d:limit><d:nresults>0</d:nresults></d:limit>"), 400),
        (_sync(token="http://rapport.invalid/ns/sync/1/x/\u00b2"), 403),
        (_sync(token="http://rapport.invalid/ns/sync/1/x/99999999999999999999999"), 403),
        ('<?xml version="1.0" encoding="x-nope"?><d:propfind xmlns:d="DAV:"/>', 400),
        ("<d:sync-collection", 400),
    ],
)
def test_bad_reports_are_named_not_500(client, body, status):
    make_contact()
    assert _report(client, body).status_code == status


def test_bad_requests_get_4xx_and_odd_hrefs_404_entries(client, alice):
    make_contact()
    bad_auth = client.generic(
        "PROPFIND", "/dav/", "", HTTP_AUTHORIZATION="Basic \u00e9\u00e9", HTTP_DEPTH="0"
    )
    assert bad_auth.status_code == 401
    evil = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY t "x">]><d:propfind xmlns:d="DAV:"/>'
    utf16 = client.generic(
        "PROPFIND", BOOK, evil.encode("utf-16"), content_type="application/xml", HTTP_DEPTH="0"
    )
    assert utf16.status_code == 400
    assert client.generic("PROPFIND", BOOK + "x%00.vcf", "", HTTP_DEPTH="0").status_code == 404
    assert client.generic("PROPFIND", BOOK, "", HTTP_DEPTH="").status_code == 400
    multiget = (
        '<card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">'
        "<d:prop><d:getetag/></d:prop><d:href>http://[oops/x.vcf</d:href>"
        f"<d:href>{BOOK}a%00b.vcf</d:href><d:href>/dav/addressbooks/bob/contacts/x.vcf</d:href>"
        "</card:addressbook-multiget>"
    )
    root = ET.fromstring(_body(_report(client, multiget)))
    statuses = [r.findtext(f"{D}status") for r in root.iter(f"{D}response")]
    assert statuses == ["HTTP/1.1 404 Not Found"] * 3


def test_propfind_answers_propname_and_properties_without_a_namespace(client):
    root = ET.fromstring(
        _body(_propfind(client, '<d:propfind xmlns:d="DAV:"><d:propname/></d:propfind>'))
    )
    names = root.find(f".//{D}prop")
    assert names.find(f"{D}displayname") is not None
    assert not (names.find(f"{D}displayname").text or "")  # names only
    body = '<d:propfind xmlns:d="DAV:"><d:prop><foo/><d:displayname/></d:prop></d:propfind>'
    root = ET.fromstring(_body(_propfind(client, body)))  # well-formed
    assert root.find(f".//{D}displayname").text == "All contacts"
    assert root.find(".//foo") is not None  # listed under 404
