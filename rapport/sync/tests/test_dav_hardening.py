"""CardDAV writes under the policy and odd input: a read-only device changes nothing,
odd charsets and MKCOLs are answered, an edit without If-Match keeps what the device
changed in an item."""

import base64

import pytest
from django.test import Client

from rapport.access.services import app_password_create
from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact
from rapport.sync.models import BookEntry

pytestmark = pytest.mark.django_db

SYNC = '<d:sync-collection xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:sync-token></d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>'


class D:
    def __init__(self, user):
        _item, secret = app_password_create(user=user, name="phone")
        self.user = user
        self.auth = "Basic " + base64.b64encode(f"{user.username}:{secret}".encode()).decode()
        self.c = Client(raise_request_exception=False)

    def req(self, method, path, body=b"", content_type="application/xml", **headers):
        extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
        return self.c.generic(
            method, path, body, content_type=content_type, HTTP_AUTHORIZATION=self.auth, **extra
        )

    def names(self, book):
        r = self.req("REPORT", book, SYNC)
        body = b"".join(r.streaming_content) if r.streaming else r.content
        return body.decode()


def test_a_read_only_device_cannot_change_the_card_others_are_served(alice, charlie):
    ada = make_contact(given_name="Ada", family_name="Lovelace")
    ro = D(charlie)
    book = "/dav/addressbooks/charlie/contacts/"
    ro.names(book)
    entry = BookEntry.objects.get(book__owner=charlie, contact_id=ada.pk)
    got = ro.req("GET", book + entry.name)
    card = b"".join(got.streaming_content) if got.streaming else got.content
    assert got.status_code == 200
    evil = card.decode().replace("END:VCARD", "X-INJECTED:charlie was here\r\nEND:VCARD")
    r = ro.req("PUT", book + entry.name, evil.encode(), content_type="text/vcard")
    # what alice's device is served now
    al = D(alice)
    abook = "/dav/addressbooks/alice/contacts/"
    al.names(abook)
    aentry = BookEntry.objects.get(book__owner=alice, contact_id=ada.pk)
    served = al.req("GET", abook + aentry.name)
    text = (b"".join(served.streaming_content) if served.streaming else served.content).decode()
    assert r.status_code == 403
    assert "X-INJECTED" not in text


@pytest.mark.parametrize(
    "ct",
    ["text/vcard; charset=idna", "text/vcard; charset=punycode", "text/vcard; charset=utf-8-sig"],
)
def test_put_odd_charset(alice, ct):
    d = D(alice)
    body = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A B\r\nN:B;A;;;\r\nEMAIL:a@x..example.com\r\nUID:u-1\r\nEND:VCARD\r\n"
    r = d.req("PUT", "/dav/addressbooks/alice/contacts/u1.vcf", body, content_type=ct)
    assert r.status_code < 500, (ct, r.status_code)


def test_mkcol_long_displayname_and_odd(alice):
    d = D(alice)
    body = (
        '<d:mkcol xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:set><d:prop>'
        "<d:resourcetype><d:collection/><card:addressbook/></d:resourcetype>"
        "<d:displayname>" + "x" * 5000 + "</d:displayname></d:prop></d:set></d:mkcol>"
    )
    r = d.req("MKCOL", "/dav/addressbooks/alice/newbook/", body)
    assert r.status_code < 500


def test_book_add_non_numeric_tag(alice_client, alice):
    c = Client(raise_request_exception=False)
    c.force_login(alice)
    r = c.post("/address-books/new/", {"source": "tag:abc"})
    assert r.status_code < 500
    r = c.post("/address-books/new/", {"source": "list:²"})
    assert r.status_code < 500, r.status_code


def _body(r):
    return (b"".join(r.streaming_content) if r.streaming else r.content).decode()


def test_an_edit_in_place_sent_without_if_match_is_applied(alice):
    ada = make_contact(
        given_name="Ada",
        family_name="Lovelace",
        phones=[{"number": "+442079460958", "kind": "home"}],
        addresses=[
            {"street": "1 Market St", "locality": "Paris", "postcode": "75001", "country": "FR"}
        ],
    )
    d = D(alice)
    book = "/dav/addressbooks/alice/contacts/"
    d.names(book)
    entry = BookEntry.objects.get(book__owner=alice, contact_id=ada.pk)
    card = _body(d.req("GET", book + entry.name))
    lines = card.split("\r\n")
    new = []
    for line in lines:
        if line.startswith("ADR"):
            line = line.replace(";FR", ";DE").replace(";France", ";Germany")
        new.append(line)
    edited = "\r\n".join(new)
    assert edited != card
    d.req("PUT", book + entry.name, edited.encode(), content_type="text/vcard")
    addr = Contact.objects.get(pk=ada.pk).addresses.get()
    assert addr.country == "DE"
