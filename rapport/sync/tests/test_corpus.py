"""Cards as real address books write them (``corpus/``, one file per client), through a
real HTTP server: each one becomes a contact with its names, emails and E.164 phones and
comes back byte for byte while the contact is unchanged; after a change in Rapport the
card Rapport serves still holds every property the client wrote (the modelled ones as
Rapport renders them, the others verbatim, in a group of their own); and putting that
card back, twice, neither loses nor repeats anything.

The corpus:

- ``ios_iphone.vcf``: iPhone (vCard 3.0) with itemN groups and X-ABLabel, Apple labels
  and custom ones, X-ABDATE, X-ABRELATEDNAMES, X-SOCIALPROFILE, X-ABShowAs, a birthday
  without a year (X-APPLE-OMIT-YEAR), a folded NOTE and an inline JPEG photo;
- ``ios_service_codes.vcf``: iPhone, an operator's service codes (``*556#``), numbers
  the services refuse, each with a custom label;
- ``macos_company.vcf``: macOS Contacts, a company card (X-ABShowAs:COMPANY, empty N);
- ``android_google.vcf``: Android / Google Contacts (3.0) with X-ANDROID-CUSTOM,
  X-PHONETIC-*, IMPP, X-GOOGLE-TALK, ``CATEGORIES:myContacts,Starred,…``, national numbers;
- ``outlook_2_1.vcf``: Outlook (2.1) in windows-1252, quoted-printable values with soft
  line breaks, LABEL, X-MS-* properties, a base64 PHOTO and X-MS-CARDPICTURE;
- ``thunderbird_4_0.vcf``: Thunderbird (4.0) with KIND, ANNIVERSARY, IMPP,
  ``TEL;VALUE=uri``, an ADR with a LABEL parameter, X-MOZILLA-HTML, groups without labels;
- ``davx5_nextcloud.vcf``: DAVx5 against Nextcloud (3.0) with X-ADDRESSBOOKSERVER-KIND,
  two CATEGORIES lines and a custom label whose group number Rapport's own card uses.
"""

from __future__ import annotations

import http.client
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from rapport.contacts.models import Contact
from rapport.contacts.services import contact_update, tag_create
from rapport.sync.models import ClientCard
from rapport.sync.services.cards import MODELLED, content_line
from rapport.sync.tests import test_dav_writes
from rapport.sync.tests.test_dav_protocol import SYNC, D, _responses
from rapport.sync.tests.test_dav_writes import BOOK, _put

CORPUS = Path(__file__).parent / "corpus"
dav = test_dav_writes.dav  # the fixture: a live server and a client with an app password
# Categories that name a tag in Rapport (the others stay with the card).
TAGS = ("Engineers", "Sailing Club", "Climbing")


@dataclass(frozen=True)
class Case:
    file: str
    names: dict[str, str]  # contact field -> value
    emails: list[str]
    phones: list[str]  # E.164
    tags: list[str] = field(default_factory=list)
    charset: str = "utf-8"  # what the client's Content-Type says
    accept: str = ""  # what the client asks for when it reads the card back

    @property
    def version(self) -> str:
        return next(p.value for p in _props(self.text) if p.name == "VERSION")

    @property
    def body(self) -> bytes:
        return (CORPUS / self.file).read_bytes()

    @property
    def text(self) -> str:
        return self.body.decode(self.charset)

    @property
    def served(self) -> bytes:
        """What the server keeps and gives back: the text as sent, lines ending with CRLF."""
        return self.text.replace("\r\n", "\n").replace("\n", "\r\n").encode()

    @property
    def name(self) -> str:
        return self.file  # the href the client chose

    def __str__(self) -> str:
        return self.file.removesuffix(".vcf")


CASES = [
    Case(
        "ios_iphone.vcf",
        {"prefix": "Dr.", "given_name": "Chiamaka", "middle_name": "Adaeze",
         "family_name": "Okonkwo", "nickname": "Chi"},
        ["chi.okonkwo@mail.example", "chiamaka@lagosharbour.example"],
        ["+14155550199", "+2348035550142", "+442079460321"],
        tags=["Engineers"],
    ),
    Case(
        "ios_service_codes.vcf",
        {"display_name": "MTN Services"},
        ["customercare@mtn-ng.example"],
        ["+2348035550100"],  # *556# and *131*4# are no numbers: kept on the card only
    ),
    Case(
        "macos_company.vcf",
        {"display_name": "Kestrel & Finch Bookbinders"},
        ["orders@kestrelfinch.example"],
        ["+442079460875"],
    ),
    Case(
        "android_google.vcf",
        {"given_name": "Lars", "middle_name": "Erik", "family_name": "Bergström",
         "nickname": "Lasse"},
        ["lars.bergstrom@post.example", "lars@nordicfreight.example"],
        ["+46701234567", "+46812345678"],  # national numbers, read in the address's country
        tags=["Sailing Club"],
    ),
    Case(
        "outlook_2_1.vcf",
        {"prefix": "Dr.", "given_name": "Jürgen", "family_name": "Müller-Lüdenscheidt"},
        ["j.mueller@baeckerei-mueller.example", "juergen.mueller@mail.example"],
        ["+491715550192", "+492214711230", "+492214711239"],
        charset="windows-1252",
    ),
    Case(
        "thunderbird_4_0.vcf",
        {"given_name": "Sofía", "family_name": "Ramírez Castillo"},
        ["s.ramirez@cooperativa-olivar.example", "sofia.ramirez@correo.example"],
        ["+34612345678", "+34912345678", "+34918765432"],
        accept="text/vcard; version=4.0",
    ),
    Case(
        "davx5_nextcloud.vcf",
        {"given_name": "Ingrid", "family_name": "Solberg"},
        ["ingrid.solberg@fjordline.example", "ingrid@solberg.example"],
        ["+4722123456", "+4741234567"],
        tags=["Climbing"],
    ),
]  # fmt: skip
BY_FILE = {case.file: case for case in CASES}


def _cases(xfail: dict[str, str] | None = None) -> list[Any]:
    """The cases as parameters; ``xfail`` marks those of known bugs (file -> reason)."""
    xfail = xfail or {}
    return [
        pytest.param(
            case,
            id=str(case),
            marks=[pytest.mark.xfail(strict=True, reason=xfail[case.file])]
            if case.file in xfail
            else [],
        )
        for case in CASES
    ]


# -- reading cards the way the tests compare them --------------------------------------------

_CONTENT_LINE = re.compile(
    r"""^(?:(?P<group>[A-Za-z0-9-]+)\.)?(?P<name>[A-Za-z0-9-]+)
    (?P<params>(?:;[A-Za-z0-9-]+(?:=(?:"[^"]*"|[^";:]*)(?:,(?:"[^"]*"|[^";:]*))*)?)*)
    :(?P<value>.*)$""",
    re.X | re.S,
)
_APPLE_LABEL = re.compile(r"^_\$!<.*>!\$_$")


@dataclass(frozen=True)
class Prop:
    group: str  # lower case, "" for none
    name: str  # upper case
    params: str
    value: str
    text: str  # the line without its group

    def line(self) -> str:
        return f"{self.group}.{self.text}" if self.group else self.text


def _unfold(card: str, *, quoted_printable: bool = True) -> list[str]:
    """A card's logical lines: a line that starts with a space or tab continues the one
    before (RFC 6350 §3.2). With ``quoted_printable``, a quoted-printable value that ends
    with "=" also continues on the next line (vCard 2.1's soft line break), joined with
    a newline as the server's reader joins it."""
    lines: list[str] = []
    for raw in card.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not raw.strip():
            continue
        if lines and raw[0] in " \t":
            lines[-1] += raw[1:]
        elif (
            quoted_printable
            and lines
            and lines[-1].endswith("=")
            and "quoted-printable" in lines[-1].lower()
        ):
            lines[-1] += "\n" + raw
        else:
            lines.append(raw)
    return lines


def _props(card: str) -> list[Prop]:
    """Every property of a card, (group, NAME) with its parameters and value."""
    out = []
    for line in _unfold(card):
        found = _CONTENT_LINE.match(line)
        assert found, f"not a content line: {line!r}"
        group = (found.group("group") or "").lower()
        text = line[len(group) + 1 :] if group else line
        out.append(Prop(group, found.group("name").upper(), found["params"], found["value"], text))
    return out


def _malformed(card: str) -> list[str]:
    """The lines of a vCard 3.0/4.0 card that are not content lines (name, parameters,
    colon, value) once unfolded as RFC 6350 unfolds: nothing else may be in a card."""
    return [line for line in _unfold(card, quoted_printable=False) if not _CONTENT_LINE.match(line)]


def _categories(props: list[Prop]) -> set[str]:
    found = set()
    for p in props:
        if p.name == "CATEGORIES":
            for item in re.split(r"(?<!\\),", p.value):
                if item.strip():
                    found.add(item.replace("\\,", ",").strip().casefold())
    return found


# Written anew by Rapport (BEGIN … END, its own PRODID and VERSION) or left out of every
# card it serves (REV: a served card's revision is its ETag).
_ENVELOPE = {"BEGIN", "END", "VERSION", "PRODID", "REV"}


def _missing(sent: str, served: str) -> list[str]:
    """What of the card a client ``sent`` the card Rapport ``served`` after a change
    lacks, as (group, NAME) pairs (a group may come back under another name, but the
    properties of one group stay together):

    - a property Rapport models (MODELLED: FN, N, EMAIL, TEL, ADR, URL, ORG, TITLE, NOTE,
      BDAY, PHOTO, NICKNAME, TZ …) is there at least once, as Rapport renders it;
    - the UID is there verbatim, every category is on a CATEGORIES line, and the
      client's own label of a value Rapport holds (an X-ABLabel that is not one of
      Apple's ``_$!<…>!$_``, which Rapport writes as a TYPE) is there as an X-ABLabel;
    - every other line is there as the client wrote it (a quoted-printable value
      decoded into a 3.0 text value).
    """
    # a vCard 2.1 quoted-printable line comes back decoded, as 3.0 writes it
    mine = _props("\r\n".join(content_line(line) for line in _unfold(sent)) + "\r\n")
    theirs = _props(served)
    names = {p.name for p in theirs}
    labels = {p.value for p in theirs if p.name == "X-ABLABEL"}
    by_group: dict[str, set[str]] = defaultdict(set)
    for p in theirs:
        by_group[p.group].add(p.text)
    held = {p.group for p in mine if p.group and p.name in MODELLED}
    verbatim: dict[str, list[Prop]] = defaultdict(list)
    missing = []
    for p in mine:
        if p.name in _ENVELOPE:
            continue
        if p.name == "UID":
            if f"UID:{p.value}" not in by_group[""]:
                missing.append(p.line())
        elif p.name == "CATEGORIES":
            if not _categories([p]) <= _categories(theirs):
                missing.append(p.line())
        elif p.name in MODELLED:
            if p.name not in names:
                missing.append(p.line())
        elif p.name == "X-ABLABEL" and p.group in held:
            if not _APPLE_LABEL.match(p.value) and p.value not in labels:
                missing.append(p.line())
        else:
            verbatim[p.group].append(p)
    for group, props in verbatim.items():
        texts = {p.text for p in props}
        if not group:
            missing += [p.line() for p in props if p.text not in by_group[""]]
        elif not any(texts <= held_texts for g, held_texts in by_group.items() if g):
            missing += [p.line() for p in props]
    return missing


# -- talking to the server -----------------------------------------------------------------


@pytest.fixture
def tags(alice):
    return [tag_create(actor=alice, data={"name": name}) for name in TAGS]


def _href(name: str) -> str:
    return BOOK + quote(name)


def _send(dav, case: Case, name: str = "", **headers) -> tuple[int, dict[str, str], bytes]:
    """PUT the card as the client does: its own bytes, its own charset."""
    name = name or case.name
    if case.charset == "utf-8":
        return _put(dav, quote(name), case.text, **headers)
    conn = http.client.HTTPConnection(dav.host, dav.port, timeout=30)
    conn.request(
        "PUT",
        _href(name),
        body=case.body,
        headers={
            "Authorization": dav.auth,
            "Content-Type": f"text/vcard; charset={case.charset}",
            **headers,
        },
    )
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), data


def _get(dav, case: Case, name: str = "", *, own_version: bool = True):
    headers = {"Accept": case.accept} if (own_version and case.accept) else {}
    status, response_headers, body = dav.request("GET", _href(name or case.name), **headers)
    assert status == 200, body
    return response_headers["ETag"], body


def _contact(case: Case, name: str = "") -> Contact:
    return Contact.objects.get(pk=ClientCard.objects.get(name=name or case.name).contact_id)


def _created(dav, case: Case) -> Contact:
    status, _headers, body = _send(dav, case, **{"If-None-Match": "*"})
    assert status == 201, body
    return _contact(case)


# -- 1. a card becomes a contact and comes back as it was sent -------------------------------


@pytest.mark.parametrize("case", _cases())
def test_a_card_becomes_a_contact_and_comes_back_byte_for_byte(dav, alice, tags, case):
    status, headers, body = _send(dav, case, **{"If-None-Match": "*"})
    assert status == 201, body

    contact = _contact(case)
    for field_name, value in case.names.items():
        assert getattr(contact, field_name) == value, field_name
    assert sorted(e.address for e in contact.emails.all()) == case.emails
    assert sorted(p.e164 for p in contact.phones.all()) == case.phones
    assert sorted(t.name for t in contact.tags.all()) == case.tags

    etag, served = _get(dav, case)
    assert served == case.served  # the client's own text (in UTF-8, lines ending CRLF)
    assert _get(dav, case, own_version=False) == (etag, served)  # without asking, too
    status, root = dav.xml("REPORT", BOOK, SYNC.format("", ""))
    assert _responses(root)[_href(case.name)].findtext(f".//{D}getetag") == etag
    # a 4.0 card too: served in the version it was written in unless another is asked for
    assert headers["ETag"] == etag


# -- 2. after a change in Rapport nothing the client wrote is missing ------------------------


@pytest.mark.parametrize(
    "case",
    _cases(),
)
def test_after_a_change_in_rapport_nothing_the_client_wrote_is_missing(dav, alice, tags, case):
    contact = _created(dav, case)
    old_etag, _ = _get(dav, case)
    contact_update(actor=alice, contact=contact, data={"job_title": "Changed"}, via="api")

    etag, served = _get(dav, case, own_version=False)
    card = served.decode()
    assert etag != old_etag and "\r\nTITLE:Changed\r\n" in card
    # Rapport's own rendering, in the version the client wrote
    assert card.startswith(
        f"BEGIN:VCARD\r\nVERSION:{'4.0' if case.version == '4.0' else '3.0'}\r\n"
    )
    assert _missing(case.text, card) == []


@pytest.mark.parametrize("case", _cases())
def test_the_card_served_after_a_change_holds_only_content_lines(dav, alice, tags, case):
    contact = _created(dav, case)
    contact_update(actor=alice, contact=contact, data={"job_title": "Changed"}, via="api")
    _etag, served = _get(dav, case, own_version=False)
    assert _malformed(served.decode()) == []


# -- 3. the served card put back round-trips without growing ---------------------------------


def _lines(card: bytes) -> Counter[str]:
    return Counter(p.line() for p in _props(card.decode()) if p.name != "TITLE")


@pytest.mark.parametrize("case", _cases())
def test_the_served_card_put_back_twice_neither_grows_nor_repeats(dav, alice, tags, case):
    contact = _created(dav, case)

    def changed_in_rapport(title: str) -> tuple[str, bytes]:
        contact.refresh_from_db()
        contact_update(actor=alice, contact=contact, data={"job_title": title}, via="api")
        etag, card = _get(dav, case, own_version=False)
        assert f"\r\nTITLE:{title}\r\n" in card.decode()
        return etag, card

    etag, card = changed_in_rapport("Changed 0")
    served = [card]
    for title in ("Changed 1", "Changed 2"):
        status, headers, body = _put(dav, quote(case.name), card.decode(), **{"If-Match": etag})
        assert status == 204, body
        # the card as put is the card served, under the ETag the PUT answered
        assert _get(dav, case, own_version=False) == (headers["ETag"], card)
        etag, card = changed_in_rapport(title)
        served.append(card)

    first = _lines(served[0])
    for card in served[1:]:
        assert abs(len(card) - len(served[0])) <= 4
        assert _lines(card) == first  # nothing lost, nothing repeated
    categories = [p for p in _props(served[-1].decode()) if p.name == "CATEGORIES"]
    assert len(categories) <= 2  # the tags, and the client's other categories
    assert _categories(categories) == _categories(_props(case.text))
    assert Contact.objects.count() == 1


# -- an href with a space ------------------------------------------------------------------


def test_a_card_name_with_spaces_is_kept_and_listed_percent_encoded(dav, alice, tags):
    case = BY_FILE["davx5_nextcloud.vcf"]
    name = "Ingrid Solberg.vcf"
    status, headers, body = _send(dav, case, name, **{"If-None-Match": "*"})
    assert status == 201, body
    assert ClientCard.objects.get().name == name
    etag, served = _get(dav, case, name)
    assert served == case.served and etag == headers["ETag"]
    status, root = dav.xml("REPORT", BOOK, SYNC.format("", "<card:address-data/>"))
    entry = _responses(root)[BOOK + "Ingrid%20Solberg.vcf"]
    assert entry.findtext(f".//{D}getetag") == etag
    assert _send(dav, case, name, **{"If-None-Match": "*"})[0] == 412
    assert dav.request("DELETE", _href(name), **{"If-Match": etag})[0] == 204
    assert not Contact.objects.exists()
