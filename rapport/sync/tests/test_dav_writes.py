"""Cards written by clients, through a real HTTP server: PUT and DELETE go through the
contact services (validation, E.164, history "via CardDAV", suppression, duplicates at
entry), keep the client's UID, href and every property Rapport does not model, honour
If-Match / If-None-Match, refuse bad cards with the RFC's preconditions, and merge a
change sent without If-Match field by field, recording a real clash for review."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.access.models import ChangeRecord
from rapport.access.services import app_password_create
from rapport.contacts.models import Contact
from rapport.contacts.services import contact_update
from rapport.contacts.tests.factories import make_contact
from rapport.duplicates.models import DuplicateCluster
from rapport.sync.models import SyncConflict
from rapport.sync.tests.test_dav_protocol import CARD, SYNC, D, Dav, _responses

BOOK = "/dav/addressbooks/alice/contacts/"

IPHONE = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "PRODID:-//Apple Inc.//iPhone OS 17.5//EN\r\n"
    "N:Lovelace;Ada;;;\r\n"
    "FN:Ada Lovelace\r\n"
    "ORG:Analytical Engines Ltd;\r\n"
    "item1.EMAIL;type=INTERNET;type=pref:ada@example.com\r\n"
    "item1.X-ABLabel:_$!<Other>!$_\r\n"
    "TEL;type=CELL;type=VOICE;type=pref:+44 20 7946 0958\r\n"
    "item2.X-ABDATE:1833-06-05\r\n"
    "item2.X-ABLabel:_$!<Anniversary>!$_\r\n"
    "X-ABShowAs:PERSON\r\n"
    "X-SOCIALPROFILE;type=twitter:x-apple:ada\r\n"
    "CATEGORIES:Mathematicians\r\n"
    "UID:6E4B3C0A-2F58-4B8C-9E21-1F2D3C4B5A69\r\n"
    "END:VCARD\r\n"
)


@pytest.fixture
def dav(live_server, transactional_db, alice):
    item, secret = app_password_create(user=alice, name="Alice's iPhone")
    client = Dav(live_server.url, "alice", secret)
    client.app_password = item
    return client


def _put(dav: Dav, name: str, card: str, **headers):
    headers.setdefault("Content-Type", "text/vcard; charset=utf-8")
    return dav.request("PUT", BOOK + name, card, **headers)


def test_a_card_from_a_phone_becomes_a_contact_and_comes_back_as_sent(dav, alice):
    status, headers, _ = _put(dav, "ada-iphone.vcf", IPHONE, **{"If-None-Match": "*"})
    assert status == 201
    etag = headers["ETag"]

    ada = Contact.objects.get(given_name="Ada", family_name="Lovelace")
    assert [p.e164 for p in ada.phones.all()] == ["+442079460958"]  # stored as E.164
    assert [e.address for e in ada.emails.all()] == ["ada@example.com"]
    assert ada.affiliations.get().organization.name == "Analytical Engines Ltd"
    record = ChangeRecord.objects.get(object_type="contact", object_id=ada.pk, action="create")
    assert record.actor == alice and record.via == f"carddav:{dav.app_password.pk}"
    browser = Client()
    browser.force_login(alice)
    page = browser.get(f"/contacts/{ada.pk}/").content.decode()
    assert "created this contact via CardDAV (Alice&#x27;s iPhone)" in page

    # the client gets back exactly what it sent, under the href and UID it chose
    status, headers, body = dav.request("GET", BOOK + "ada-iphone.vcf")
    assert status == 200 and body.decode() == IPHONE and headers["ETag"] == etag
    status, root = dav.xml("REPORT", BOOK, SYNC.format("", ""))
    assert _responses(root)[BOOK + "ada-iphone.vcf"].findtext(f".//{D}getetag") == etag

    # creating it again is refused: something is there
    assert _put(dav, "ada-iphone.vcf", IPHONE, **{"If-None-Match": "*"})[0] == 412

    # a change in Rapport shows, and nothing the phone wrote is lost
    contact_update(actor=alice, contact=ada, data={"job_title": "Analyst"}, via="api")
    status, headers, body = dav.request("GET", BOOK + "ada-iphone.vcf")
    card = body.decode()
    assert headers["ETag"] != etag and "TITLE:Analyst" in card
    assert "TEL" in card and ":+44 20 7946 0958\r\n" in card and "+442079460958" not in card
    for kept in (
        "UID:6E4B3C0A-2F58-4B8C-9E21-1F2D3C4B5A69",
        "X-ABDATE:1833-06-05",
        "X-ABLabel:_$!<Anniversary>!$_",
        "X-ABShowAs:PERSON",
        "X-SOCIALPROFILE;type=twitter:x-apple:ada",
        "CATEGORIES:Mathematicians",  # not a tag here: kept as the phone wrote it
        "ada@example.com",
    ):
        assert kept in card, kept


def test_if_match_guards_every_change_and_delete(dav, alice):
    status, headers, _ = _put(dav, "ada.vcf", IPHONE)
    # set in Rapport, and not on the phone's card: a change from the phone keeps them
    Contact.objects.update(lifecycle_stage="customer", version=1)
    etag = dav.request("GET", BOOK + "ada.vcf")[1]["ETag"]
    changed = IPHONE.replace("FN:Ada Lovelace", "FN:Ada King").replace(
        "N:Lovelace;Ada;;;", "N:King;Ada;;;"
    )
    # a stale etag: 412, nothing changed
    assert _put(dav, "ada.vcf", changed, **{"If-Match": '"stale"'})[0] == 412
    assert Contact.objects.get().family_name == "Lovelace"
    status, headers, _ = _put(dav, "ada.vcf", changed, **{"If-Match": etag})
    assert status == 204 and headers["ETag"] != etag
    assert Contact.objects.get().family_name == "King"
    assert Contact.objects.get().lifecycle_stage == "customer"
    assert ChangeRecord.objects.filter(action="update", via__startswith="carddav").exists()

    assert dav.request("DELETE", BOOK + "ada.vcf", **{"If-Match": etag})[0] == 412
    assert Contact.objects.count() == 1
    assert dav.request("DELETE", BOOK + "ada.vcf", **{"If-Match": headers["ETag"]})[0] == 204
    assert not Contact.objects.exists()
    assert dav.request("GET", BOOK + "ada.vcf")[0] == 404
    assert dav.request("DELETE", BOOK + "ada.vcf")[0] == 404


def test_bad_cards_are_refused_with_the_precondition_and_nothing_is_saved(dav):
    cases = [
        (IPHONE.replace("UID:6E4B3C0A-2F58-4B8C-9E21-1F2D3C4B5A69\r\n", ""), "valid-address-data", b"no UID"),
        (IPHONE + IPHONE, "valid-address-data", b"several"),
        ("hello", "valid-address-data", b"not a vCard"),
        (IPHONE.replace("item1.EMAIL;type=INTERNET;type=pref:ada@example.com", "EMAIL:ada@"),
         "valid-address-data", b"Email"),
        ("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:A\r\n;;broken\r\nEND:VCARD\r\n",
         "valid-address-data", b"cannot be read"),
    ]  # fmt: skip
    for card, condition, words in cases:
        status, _, body = _put(dav, "bad.vcf", card)
        assert status == 403, body
        assert condition.encode() in body and words in body, body
    assert not Contact.objects.exists()

    assert _put(dav, "ada.vcf", IPHONE)[0] == 201
    status, _, body = _put(dav, "copy.vcf", IPHONE)  # the same UID under another name
    assert status == 403 and b"no-uid-conflict" in body and b"/ada.vcf</d:href>" in body
    assert Contact.objects.count() == 1
    status, _, body = dav.request("PUT", BOOK + "x.vcf", "<x/>", **{"Content-Type": "text/xml"})
    assert status == 415 and b"supported-address-data" in body


def test_a_number_the_services_refuse_is_left_out_and_kept_on_the_card(dav):
    card = IPHONE.replace("+44 20 7946 0958", "call me maybe")
    assert _put(dav, "ada.vcf", card)[0] == 201
    ada = Contact.objects.get()
    assert not ada.phones.exists()
    assert dav.request("GET", BOOK + "ada.vcf")[2].decode() == card  # the phone keeps it


def test_a_likely_duplicate_from_a_phone_is_created_and_queued_for_review(dav):
    make_contact(given_name="Ada", family_name="Lovelace", emails=[{"address": "ada@example.com"}])
    assert _put(dav, "ada.vcf", IPHONE)[0] == 201
    assert Contact.objects.count() == 2  # never merged silently
    cluster = DuplicateCluster.objects.get()
    assert cluster.origin.startswith("CardDAV") and cluster.pairs.count() == 1


def test_a_change_without_if_match_is_merged_and_a_clash_is_kept_for_review(dav, alice):
    status, headers, _ = _put(dav, "ada.vcf", IPHONE)
    status, root = dav.xml("REPORT", BOOK, SYNC.format("", ""))  # the phone syncs
    ada = Contact.objects.get()
    contact_update(
        actor=alice, contact=ada, data={"job_title": "Countess", "notes": "met in 1843"}, via="ui"
    )
    # the phone, which did not see that, changes the title too and adds a number
    from_phone = IPHONE.replace(
        "X-ABShowAs:PERSON\r\n",
        "TITLE:Mathematician\r\nTEL;type=WORK:+44 20 7946 0000\r\nX-ABShowAs:PERSON\r\n",
    )
    assert _put(dav, "ada.vcf", from_phone)[0] == 204
    ada.refresh_from_db()
    assert ada.job_title == "Countess" and ada.notes == "met in 1843"  # Rapport's stay
    assert sorted(p.e164 for p in ada.phones.all()) == ["+442079460000", "+442079460958"]
    conflict = SyncConflict.objects.get()
    assert (conflict.field, conflict.server_value, conflict.client_value) == (
        "job_title",
        "Countess",
        "Mathematician",
    )
    assert conflict.device == "Alice's iPhone"
    card = dav.request("GET", BOOK + "ada.vcf")[2].decode()
    assert "TITLE:Countess" in card and "X-ABDATE:1833-06-05" in card


def test_deleting_in_rapport_and_on_the_phone_both_show_on_the_other_side(dav, alice):
    assert _put(dav, "ada.vcf", IPHONE)[0] == 201
    status, root = dav.xml("REPORT", BOOK, SYNC.format("", ""))
    token = root.findtext(f"{D}sync-token")
    Contact.objects.get().delete()
    status, root = dav.xml("REPORT", BOOK, SYNC.format(token, "<card:address-data/>"))
    assert _responses(root)[BOOK + "ada.vcf"].findtext(f"{D}status") == "HTTP/1.1 404 Not Found"
    assert CARD


MKCOL = (
    '<d:mkcol xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:set><d:prop>'
    "<d:resourcetype><d:collection/><card:addressbook/></d:resourcetype>"
    "<d:displayname>{}</d:displayname></d:prop></d:set></d:mkcol>"
)
HOME = "/dav/addressbooks/alice/"


def test_a_client_makes_a_book_which_is_the_book_of_a_tag(dav, alice):
    from rapport.contacts.models import Tag

    assert dav.request("MKCOL", HOME + "friends/", MKCOL.format("Friends"))[0] == 201
    assert Tag.objects.filter(name="Friends").exists()
    assert dav.request("MKCOL", HOME + "friends/", MKCOL.format("Friends"))[0] == 405
    status, _, body = dav.request("MKCOL", HOME + "plain/")
    assert status == 403 and b"valid-resourcetype" in body
    status, root = dav.xml(
        "PROPFIND", HOME, '<d:propfind xmlns:d="DAV:"><d:prop><d:displayname/></d:prop></d:propfind>',
        Depth="1",
    )  # fmt: skip
    assert "Friends" in [r.findtext(f".//{D}displayname") for r in root.iter(f"{D}response")]

    make_contact(given_name="Bob", family_name="Miller")  # not tagged: not in the book
    book = HOME + "friends/"
    assert dav.request("PUT", book + "ada.vcf", IPHONE, **{"Content-Type": "text/vcard"})[0] == 201
    ada = Contact.objects.get(family_name="Lovelace")
    assert [t.name for t in ada.tags.all()] == ["Friends"]
    status, root = dav.xml("REPORT", book, SYNC.format("", ""))
    assert list(_responses(root)) == [book + "ada.vcf"]

    # out of the tag's book: the contact loses the tag and stays
    assert dav.request("DELETE", book + "ada.vcf")[0] == 204
    assert Contact.objects.filter(pk=ada.pk).exists() and not ada.tags.exists()
    assert dav.request("DELETE", book)[0] == 204  # the book goes, the tag stays
    assert Tag.objects.filter(name="Friends").exists()
    assert dav.request("DELETE", BOOK)[0] == 403  # "All contacts" stays


def test_books_report_their_quota_and_refuse_cards_past_the_limit(dav, settings):
    settings.RAPPORT_CARDDAV_MAX_CARDS = 1
    assert _put(dav, "ada.vcf", IPHONE)[0] == 201
    status, root = dav.xml(
        "PROPFIND", BOOK,
        '<d:propfind xmlns:d="DAV:"><d:prop><d:quota-used-bytes/><d:quota-available-bytes/>'
        "</d:prop></d:propfind>",
        Depth="0",
    )  # fmt: skip
    used = int(root.findtext(f".//{D}quota-used-bytes"))
    assert used == len(IPHONE.encode())
    assert int(root.findtext(f".//{D}quota-available-bytes")) == 1_073_741_824 - used
    other = IPHONE.replace("6E4B3C0A", "7E4B3C0A").replace("Ada", "Augusta")
    status, _, body = _put(dav, "augusta.vcf", other)
    assert status == 507 and b"quota-not-exceeded" in body
    assert Contact.objects.count() == 1


def test_a_new_card_where_a_deleted_one_was_takes_its_href(dav):
    assert _put(dav, "ada.vcf", IPHONE)[0] == 201
    status, root = dav.xml("REPORT", BOOK, SYNC.format("", ""))
    token = root.findtext(f"{D}sync-token")
    assert dav.request("DELETE", BOOK + "ada.vcf")[0] == 204
    other = IPHONE.replace("6E4B3C0A", "7E4B3C0A").replace("Ada", "Augusta")
    assert _put(dav, "ada.vcf", other)[0] == 201
    status, headers, body = dav.request("GET", BOOK + "ada.vcf")
    assert status == 200 and body.decode() == other
    status, root = dav.xml("REPORT", BOOK, SYNC.format(token, ""))
    entry = _responses(root)[BOOK + "ada.vcf"]
    assert entry.findtext(f".//{D}getetag") == headers["ETag"]  # changed, not gone


def test_a_renamed_tag_reaches_devices_though_no_contact_was_saved(dav, alice):
    from rapport.contacts.models import Tag
    from rapport.contacts.services import tag_update

    make_contact(given_name="Ada", family_name="Lovelace", tags=["Golf"])
    status, root = dav.xml("REPORT", BOOK, SYNC.format("", ""))
    token = root.findtext(f"{D}sync-token")
    status, root = dav.xml("REPORT", BOOK, SYNC.format(token, ""))
    assert not _responses(root)  # nothing changed, nothing sent
    tag_update(actor=alice, tag=Tag.objects.get(name="Golf"), data={"name": "Golfers"})
    status, root = dav.xml("REPORT", BOOK, SYNC.format(token, "<card:address-data/>"))
    [card] = [r.findtext(f".//{CARD}address-data") for r in _responses(root).values()]
    assert "CATEGORIES:Golfers" in card


def test_a_read_only_user_s_device_reads_and_cannot_write(live_server, transactional_db, charlie):
    _item, secret = app_password_create(user=charlie, name="Charlie's phone")
    as_charlie = Dav(live_server.url, "charlie", secret)
    book = "/dav/addressbooks/charlie/contacts/"
    make_contact(given_name="Ada", family_name="Lovelace")
    status, root = as_charlie.xml(
        "PROPFIND", book,
        '<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-privilege-set/></d:prop></d:propfind>',
        Depth="0",
    )  # fmt: skip
    privileges = {p.tag for p in root.iter() if p.tag.startswith(D) and p.tag != f"{D}privilege"}
    assert f"{D}read" in privileges and f"{D}write-content" not in privileges
    assert f"{D}bind" not in privileges and f"{D}unbind" not in privileges
    status, _, body = as_charlie.request(
        "PUT", book + "new.vcf", IPHONE, **{"Content-Type": "text/vcard"}
    )
    assert status == 403 and b"need-privileges" in body
    [href] = [
        h for h in _responses(as_charlie.xml("REPORT", book, SYNC.format("", ""))[1]) if h != book
    ]
    assert as_charlie.request("DELETE", href)[0] == 403
    assert Contact.objects.count() == 1


def test_books_of_a_list_and_of_a_segment(dav, alice, alice_client):
    from rapport.segments import services as segments
    from rapport.segments.models import ListMember

    calls = segments.list_create(actor=alice, data={"name": "Call back"})
    lovelaces = segments.segment_create(
        actor=alice, data={"name": "Lovelaces", "query": "family_name:Lovelace"}
    )
    make_contact(given_name="Ada", family_name="Lovelace")
    for source in (f"list:{calls.pk}", f"segment:{lovelaces.pk}"):
        alice_client.post("/address-books/new/", {"source": source})
    # a card made in the list's book joins the list; taken out, it leaves it
    assert dav.request("PUT", HOME + "call-back/bob.vcf", IPHONE.replace("Ada", "Bob"),
                       **{"Content-Type": "text/vcard"})[0] == 201  # fmt: skip
    bob = Contact.objects.get(given_name="Bob")
    assert list(ListMember.objects.values_list("contact_id", flat=True)) == [bob.pk]
    assert dav.request("DELETE", HOME + "call-back/bob.vcf")[0] == 204
    assert not ListMember.objects.exists() and Contact.objects.filter(pk=bob.pk).exists()
    # the segment's book follows its query and is read-only
    status, root = dav.xml("REPORT", HOME + "lovelaces/", SYNC.format("", ""))
    assert len(_responses(root)) == 2  # Ada, and Bob (a Lovelace too, from the phone)
    status, _, body = dav.request(
        "PUT", HOME + "lovelaces/x.vcf", IPHONE.replace("6E4B", "9E4B"),
        **{"Content-Type": "text/vcard"},
    )  # fmt: skip
    assert status == 403 and b"read-only" in body
