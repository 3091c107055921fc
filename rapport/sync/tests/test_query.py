"""The addressbook-query filter (RFC 6352 section 10.5) read from XML and tested against
vCards: match types, collations, negation, anyof/allof, is-not-defined, parameters,
groups, folded and quoted-printable lines, refused filters and limits."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET

import pytest

from rapport.sync.query import (
    BadLimit,
    CardFilter,
    PropFilter,
    UnsupportedFilter,
    limit_of,
    matches,
    parse_filter,
)

NS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"'


def query(body: str, limit: str = "") -> ET.Element:
    return ET.fromstring(
        f"<C:addressbook-query {NS}><D:prop><D:getetag/></D:prop>{body}{limit}"
        "</C:addressbook-query>"
    )


def card_filter(props: str, test: str = "") -> CardFilter:
    attribute = f' test="{test}"' if test else ""
    return parse_filter(query(f"<C:filter{attribute}>{props}</C:filter>"))


def prop(name: str, inner: str = "", test: str = "") -> str:
    attribute = f' test="{test}"' if test else ""
    return f'<C:prop-filter name="{name}"{attribute}>{inner}</C:prop-filter>'


def param(name: str, inner: str = "") -> str:
    return f'<C:param-filter name="{name}">{inner}</C:param-filter>'


def text(value: str, match_type: str = "", collation: str = "", negate: str = "") -> str:
    attributes = "".join(
        f' {key}="{given}"'
        for key, given in (
            ("match-type", match_type), ("collation", collation), ("negate-condition", negate)
        )
        if given
    )  # fmt: skip
    return f"<C:text-match{attributes}>{value}</C:text-match>"


def vcard(*lines: str, version: str = "3.0") -> bytes:
    body = ["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD"]
    return ("\r\n".join(body) + "\r\n").encode()


ALICE = vcard(
    "UID:alice-1",
    "FN:Alice Liddell",
    "N:Liddell;Alice;;;",
    "EMAIL;TYPE=work:alice@example.com",
    "TEL;TYPE=cell:+44 20 7946 0001",
    "TEL;TYPE=home:+44 20 7946 0555",
    "item1.EMAIL;TYPE=INTERNET:alice.l@wonder.land",
    "item1.X-ABLabel:Other",
    "ORG:Wonderland Ltd;Looking Glass Dept",
    "NICKNAME:Al,Ally",
    "ADR;TYPE=home:;;12 Main St\\, Apt 3;Oxford;;OX1 1AA;UK",
    "NOTE:Met at the tea party\\, twice\\nBring cake\\; and tea",
)


def fn_matches(
    card: bytes, value: str, match_type: str = "", collation: str = "", negate: str = ""
) -> bool:
    return matches(card_filter(prop("FN", text(value, match_type, collation, negate))), card)


# --- the empty filter and existence --------------------------------------------------


@pytest.mark.parametrize("card", [ALICE, b"", b"\x00\xff not a card", vcard()])
def test_an_empty_filter_matches_every_card(card: bytes) -> None:
    assert matches(card_filter(""), card)
    assert matches(card_filter("", test="allof"), card)
    assert matches(parse_filter(query("")), card)  # no filter at all: every card
    assert matches(CardFilter(), card)


def test_a_prop_filter_without_children_asks_for_the_property() -> None:
    assert matches(card_filter(prop("NICKNAME")), ALICE)
    assert not matches(card_filter(prop("BDAY")), ALICE)
    assert matches(card_filter(prop("nickname")), ALICE)  # names ignore case


def test_property_names_in_the_card_ignore_case() -> None:
    card = vcard("fn:alice liddell", "Email;type=Work:a@example.com")
    assert fn_matches(card, "Alice")
    assert matches(card_filter(prop("EMAIL", param("TYPE", text("work", "equals")))), card)


# --- match types ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("match_type", "value", "expected"),
    [
        ("equals", "alice liddell", True),
        ("equals", "Alice", False),
        ("contains", "ce lid", True),
        ("contains", "bob", False),
        ("starts-with", "ALICE", True),
        ("starts-with", "Liddell", False),
        ("ends-with", "liddell", True),
        ("ends-with", "Alice", False),
        ("", "ice Lid", True),  # contains is the default
    ],
)
def test_match_types(match_type: str, value: str, expected: bool) -> None:
    assert fn_matches(ALICE, value, match_type=match_type) is expected


def test_an_empty_text_is_contained_in_any_value_but_equals_only_an_empty_one() -> None:
    card = vcard("FN:Alice", "NOTE:")
    assert fn_matches(card, "")
    assert not fn_matches(card, "", match_type="equals")
    assert matches(card_filter(prop("NOTE", text("", "equals"))), card)


def test_an_unknown_match_type_is_refused_as_supported_filter() -> None:
    with pytest.raises(UnsupportedFilter) as error:
        card_filter(prop("FN", text("a", "regex")))
    assert error.value.condition == "supported-filter"
    assert "match-type" in error.value.message


# --- collations ----------------------------------------------------------------------

ELODIE = vcard("FN:ÉLODIE Durand")


def test_ascii_casemap_folds_ascii_letters_only() -> None:
    assert fn_matches(ALICE, "ALICE LIDDELL", "equals", collation="i;ascii-casemap")
    assert fn_matches(ELODIE, "ÉLODIE durand", "equals", collation="i;ascii-casemap")
    assert not fn_matches(ELODIE, "élodie", collation="i;ascii-casemap")


def test_unicode_casemap_folds_every_letter() -> None:
    assert fn_matches(ELODIE, "élodie", collation="i;unicode-casemap")
    assert fn_matches(ELODIE, "élodie durand", "equals", collation="i;unicode-casemap")
    assert fn_matches(vcard("FN:Gerhard Straße"), "STRASSE", collation="i;unicode-casemap")
    # compatibility forms and decomposed accents are normalised (NFKC)
    assert fn_matches(vcard("FN:ﬁnn"), "FINN", "equals", collation="i;unicode-casemap")
    assert fn_matches(vcard("FN:E\u0301lodie"), "élodie", "equals")
    # an accented letter stays one letter
    assert not fn_matches(ELODIE, "elodie", collation="i;unicode-casemap")


def test_unicode_casemap_is_the_default_collation() -> None:
    # RFC 6352 sections 8.3 and 10.5.4: no collation, or "default", is i;unicode-casemap
    assert fn_matches(ELODIE, "élodie")
    assert fn_matches(ELODIE, "élodie", collation="default")
    assert card_filter(prop("FN", text("x"))).prop_filters[0].text_matches[0].collation == (
        "i;unicode-casemap"
    )


def test_octet_is_case_sensitive() -> None:
    assert fn_matches(ALICE, "Alice Liddell", "equals", collation="i;octet")
    assert not fn_matches(ALICE, "alice", collation="i;octet")
    assert fn_matches(ELODIE, "ÉLODIE", "starts-with", collation="i;octet")
    assert not fn_matches(ELODIE, "élodie", "starts-with", collation="i;octet")


@pytest.mark.parametrize("collation", ["i;ascii-numeric", "en;unicode-casemap", "i;*", "x"])
def test_an_unknown_collation_is_refused_as_supported_collation(collation: str) -> None:
    with pytest.raises(UnsupportedFilter) as error:
        card_filter(prop("FN", text("a", collation=collation)))
    assert error.value.condition == "supported-collation"
    assert collation in error.value.message


def test_an_unknown_collation_in_a_param_filter_is_refused_too() -> None:
    with pytest.raises(UnsupportedFilter) as error:
        card_filter(prop("TEL", param("TYPE", text("cell", collation="i;basic"))))
    assert error.value.condition == "supported-collation"


# --- negate-condition ----------------------------------------------------------------


def test_negate_condition() -> None:
    assert fn_matches(ALICE, "bob", negate="yes")
    assert not fn_matches(ALICE, "alice", negate="yes")
    assert fn_matches(ALICE, "alice", negate="no")
    assert fn_matches(ALICE, "alice", "starts-with", "i;octet", negate="yes")


def test_a_negated_match_needs_the_property_and_looks_at_one_property_at_a_time() -> None:
    two = vcard("EMAIL:a@gmail.com", "EMAIL:a@example.com")
    only_gmail = vcard("EMAIL:a@gmail.com")
    no_email = vcard("FN:Nobody")
    negated = card_filter(prop("EMAIL", text("gmail", negate="yes")))
    assert matches(negated, two)  # example.com does not contain gmail
    assert not matches(negated, only_gmail)
    assert not matches(negated, no_email)


def test_a_negate_condition_other_than_yes_or_no_is_refused() -> None:
    with pytest.raises(UnsupportedFilter) as error:
        card_filter(prop("FN", text("a", negate="true")))
    assert error.value.condition == "supported-filter"


# --- anyof and allof -----------------------------------------------------------------


def test_anyof_and_allof_across_prop_filters() -> None:
    found, missing = prop("FN", text("alice")), prop("EMAIL", text("nobody@"))
    assert matches(card_filter(found + missing), ALICE)  # anyof is the default
    assert matches(card_filter(found + missing, test="anyof"), ALICE)
    assert not matches(card_filter(found + missing, test="allof"), ALICE)
    assert matches(card_filter(found + prop("NICKNAME"), test="allof"), ALICE)
    assert not matches(card_filter(missing + prop("BDAY"), test="anyof"), ALICE)


def test_anyof_and_allof_inside_a_prop_filter() -> None:
    cell = param("TYPE", text("cell", "equals"))
    assert matches(card_filter(prop("TEL", cell + text("0001"), test="allof")), ALICE)
    assert not matches(card_filter(prop("TEL", cell + text("0555"), test="allof")), ALICE)
    assert matches(card_filter(prop("TEL", cell + text("0555"))), ALICE)  # anyof
    assert matches(card_filter(prop("TEL", cell + text("0555"), test="anyof")), ALICE)
    both = text("+44", "starts-with") + text("0001", "ends-with")
    assert matches(card_filter(prop("TEL", both, test="allof")), ALICE)


def test_allof_in_a_prop_filter_holds_for_one_and_the_same_property() -> None:
    card = vcard("TEL;TYPE=home:555 1234", "TEL;TYPE=cell:999 0000")
    cell_555 = param("TYPE", text("cell", "equals")) + text("555", "starts-with")
    assert not matches(card_filter(prop("TEL", cell_555, test="allof")), card)
    assert matches(card_filter(prop("TEL", cell_555, test="anyof")), card)


@pytest.mark.parametrize("where", ["filter", "prop"])
def test_a_test_other_than_anyof_or_allof_is_refused(where: str) -> None:
    with pytest.raises(UnsupportedFilter) as error:
        if where == "filter":
            card_filter(prop("FN"), test="oneof")
        else:
            card_filter(prop("FN", text("a"), test="ALL"))
    assert error.value.condition == "supported-filter"


# --- is-not-defined ------------------------------------------------------------------


def test_is_not_defined_on_a_property() -> None:
    undefined = "<C:is-not-defined/>"
    assert matches(card_filter(prop("BDAY", undefined)), ALICE)
    assert not matches(card_filter(prop("FN", undefined)), ALICE)
    assert not matches(card_filter(prop("X-ABLABEL", undefined)), ALICE)  # grouped too
    assert matches(card_filter(prop("item2.EMAIL", undefined)), ALICE)
    # a card without an email, or one with a birthday: allof and anyof
    no_email_no_bday = prop("EMAIL", undefined) + prop("BDAY", undefined)
    assert not matches(card_filter(no_email_no_bday, test="allof"), ALICE)
    assert matches(card_filter(no_email_no_bday, test="anyof"), ALICE)


def test_is_not_defined_on_a_parameter() -> None:
    card = vcard("EMAIL:plain@example.com", "TEL;TYPE=cell:1")
    assert matches(card_filter(prop("EMAIL", param("TYPE", "<C:is-not-defined/>"))), card)
    assert not matches(card_filter(prop("TEL", param("TYPE", "<C:is-not-defined/>"))), card)
    assert not matches(card_filter(prop("NOTE", param("TYPE", "<C:is-not-defined/>"))), card)


def test_is_not_defined_stands_alone() -> None:
    with pytest.raises(UnsupportedFilter) as error:
        card_filter(prop("FN", "<C:is-not-defined/>" + text("a")))
    assert error.value.condition == "supported-filter"
    with pytest.raises(UnsupportedFilter):
        card_filter(prop("TEL", param("TYPE", "<C:is-not-defined/>" + text("a"))))


# --- param-filter --------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "TEL;TYPE=work,voice:1",
        'TEL;TYPE="work,voice":1',
        "TEL;TYPE=work;TYPE=voice:1",
        "TEL;type=WORK;type=VOICE:1",
        "TEL;WORK;VOICE:1",  # vCard 2.1
    ],
)
def test_param_filter_on_type_values(line: str) -> None:
    card = vcard(line)
    for value in ("voice", "work"):
        assert matches(card_filter(prop("TEL", param("TYPE", text(value, "equals")))), card)
    assert not matches(card_filter(prop("TEL", param("TYPE", text("cell", "equals")))), card)
    assert matches(card_filter(prop("TEL", param("type", text("VOI", "starts-with")))), card)


def test_param_filter_on_a_single_type() -> None:
    cell = card_filter(prop("TEL", param("TYPE", text("cell", "equals"))))
    assert matches(cell, vcard("TEL;TYPE=cell:+1 555"))
    assert matches(cell, vcard("TEL;TYPE=CELL:+1 555"))
    assert not matches(cell, vcard("TEL;TYPE=home:+1 555"))
    assert not matches(cell, vcard("TEL:+1 555"))
    assert not matches(cell, vcard("EMAIL;TYPE=cell:x@example.com"))


def test_an_empty_param_filter_asks_for_the_parameter() -> None:
    with_pref = card_filter(prop("EMAIL", param("PREF")))
    assert matches(with_pref, vcard("EMAIL;PREF=1:a@example.com"))
    assert not matches(with_pref, vcard("EMAIL;TYPE=work:a@example.com"))


def test_a_negated_param_match_needs_the_parameter() -> None:
    not_cell = card_filter(prop("TEL", param("TYPE", text("cell", negate="yes"))))
    assert matches(not_cell, vcard("TEL;TYPE=home:1"))
    assert not matches(not_cell, vcard("TEL;TYPE=cell:1"))
    assert not matches(not_cell, vcard("TEL:1"))


def test_quoted_parameter_values_keep_their_separators() -> None:
    card = vcard('ADR;LABEL="12 Main St; Oxford, UK":;;12 Main St;Oxford;;;UK', version="4.0")
    assert matches(
        card_filter(prop("ADR", param("LABEL", text("12 main st; oxford, uk", "equals")))), card
    )
    assert matches(card_filter(prop("ADR", text("Oxford", "equals"))), card)


def test_caret_escapes_in_parameter_values() -> None:
    card = vcard("ADR;LABEL=\"12 Main St^nOxford ^'Town^'\":;;12 Main St;Oxford;;;", version="4.0")
    label = card_filter(prop("ADR", param("LABEL", text('St&#10;Oxford "Town"'))))
    assert matches(label, card)


def test_a_param_filter_holds_one_condition_at_most() -> None:
    with pytest.raises(UnsupportedFilter) as error:
        card_filter(prop("TEL", param("TYPE", text("a") + text("b"))))
    assert error.value.condition == "supported-filter"


# --- groups --------------------------------------------------------------------------


def test_a_name_without_a_group_matches_grouped_properties() -> None:
    assert matches(card_filter(prop("EMAIL", text("wonder.land"))), ALICE)
    assert matches(card_filter(prop("X-ABLabel", text("other", "equals"))), ALICE)


def test_a_name_with_a_group_matches_that_group_only() -> None:
    assert matches(card_filter(prop("item1.EMAIL", text("wonder.land"))), ALICE)
    assert matches(card_filter(prop("ITEM1.email", text("wonder.land"))), ALICE)
    assert not matches(card_filter(prop("item1.EMAIL", text("example.com"))), ALICE)
    assert not matches(card_filter(prop("item2.EMAIL")), ALICE)
    assert not matches(card_filter(prop("item1.FN")), ALICE)
    assert card_filter(prop("item1.EMAIL")).prop_filters[0] == PropFilter("EMAIL", "ITEM1")


# --- values: escapes, structured values, folding, quoted-printable --------------------


def test_values_are_unescaped() -> None:
    note = "Met at the tea party, twice&#10;Bring cake; and tea"
    assert matches(card_filter(prop("NOTE", text(note, "equals"))), ALICE)
    assert matches(card_filter(prop("NOTE", text("party, twice"))), ALICE)
    assert not matches(card_filter(prop("NOTE", text("\\,"))), ALICE)
    backslash = vcard("NOTE:C:\\\\temp\\\\new")
    assert matches(card_filter(prop("NOTE", text("C:\\temp\\new", "equals"))), backslash)


def test_structured_values_match_whole_and_by_component() -> None:
    assert matches(card_filter(prop("N", text("Liddell;Alice", "starts-with"))), ALICE)
    assert matches(card_filter(prop("N", text("Alice", "equals"))), ALICE)
    assert matches(card_filter(prop("ORG", text("looking glass dept", "equals"))), ALICE)
    assert matches(card_filter(prop("ORG", text("Ltd;Looking"))), ALICE)
    assert matches(card_filter(prop("ADR", text("12 Main St, Apt 3", "equals"))), ALICE)
    assert matches(card_filter(prop("ADR", text("OX1", "starts-with"))), ALICE)
    assert not matches(card_filter(prop("ADR", text("Apt 3", "equals"))), ALICE)
    escaped = vcard("ORG:AT\\;T;Sales")
    assert matches(card_filter(prop("ORG", text("AT;T", "equals"))), escaped)
    assert matches(card_filter(prop("ORG", text("Sales", "equals"))), escaped)


def test_list_values_match_whole_and_by_item() -> None:
    assert matches(card_filter(prop("NICKNAME", text("Ally", "equals"))), ALICE)
    assert matches(card_filter(prop("NICKNAME", text("al,ally", "equals"))), ALICE)
    tags = vcard("CATEGORIES:friends,book club")
    assert matches(card_filter(prop("CATEGORIES", text("book club", "equals"))), tags)
    not_friends = card_filter(prop("CATEGORIES", text("friends", "equals", negate="yes")))
    assert not matches(not_friends, vcard("CATEGORIES:friends"))


def test_other_values_are_not_split() -> None:
    card = vcard("NOTE:one;two,three")
    assert not matches(card_filter(prop("NOTE", text("two", "equals"))), card)
    assert matches(card_filter(prop("NOTE", text("one;two,three", "equals"))), card)


def test_folded_lines_are_unfolded() -> None:
    folded = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Alice Lid\r\n dell\r\nNOTE:one\r\n\t two\r\nEND:VCARD\r\n"
    assert fn_matches(folded, "Alice Liddell", "equals")
    assert matches(card_filter(prop("NOTE", text("one two", "equals"))), folded)
    lf_only = b"BEGIN:VCARD\nFN:Alice\n  Liddell\nEND:VCARD\n"
    assert fn_matches(lf_only, "Alice Liddell", "equals")


def test_a_fold_inside_a_utf8_sequence_is_joined_before_decoding() -> None:
    encoded = "É".encode()
    folded = (
        b"BEGIN:VCARD\r\nFN:" + encoded[:1] + b"\r\n " + encoded[1:] + b"LODIE\r\nEND:VCARD\r\n"
    )
    assert fn_matches(folded, "élodie", "equals")


def test_a_folded_parameter_and_a_folded_name() -> None:
    card = b"BEGIN:VCARD\r\nTE\r\n L;TYPE=ce\r\n ll:+1 555\r\nEND:VCARD\r\n"
    assert matches(card_filter(prop("TEL", param("TYPE", text("cell", "equals")))), card)


def test_quoted_printable_values_are_decoded() -> None:
    card = vcard(
        "FN;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:=C3=89lodie Dupont",
        "NOTE;CHARSET=ISO-8859-1;QUOTED-PRINTABLE:Caf=E9 cr=E8me",
        "ADR;ENCODING=QUOTED-PRINTABLE:;;Rue de l'=C3=89glise;Lyon;;;",
        version="2.1",
    )
    assert fn_matches(card, "élodie dupont", "equals")
    assert matches(card_filter(prop("NOTE", text("café crème", "equals"))), card)
    assert matches(card_filter(prop("ADR", text("rue de l'église", "equals"))), card)
    assert not fn_matches(card, "=C3")


def test_quoted_printable_soft_line_breaks_join_lines() -> None:
    card = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\n"
        b"NOTE;ENCODING=QUOTED-PRINTABLE:First line=0D=0Asecond line, which is lo=\r\n"
        b"ng and goes on=\r\n"
        b" and on\r\n"
        b"FN:Bob\r\nEND:VCARD\r\n"
    )
    note = "First line\r\nsecond line, which is long and goes on and on"
    assert matches(
        card_filter(prop("NOTE", text(note.replace("\r\n", "&#13;&#10;"), "equals"))), card
    )
    assert fn_matches(card, "Bob", "equals")


def test_a_quoted_printable_value_with_an_unknown_charset_is_read_as_utf8() -> None:
    card = vcard("FN;ENCODING=QUOTED-PRINTABLE;CHARSET=X-NOPE:=C3=A9lodie", version="2.1")
    assert fn_matches(card, "élodie", "equals")
    assert fn_matches(vcard("FN;ENCODING=QUOTED-PRINTABLE;CHARSET=base64:abc"), "abc")


def test_latin1_cards_are_read() -> None:
    card = "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Élodie\r\nEND:VCARD\r\n".encode("latin-1")
    assert fn_matches(card, "élodie", "equals")


def test_a_byte_order_mark_and_a_nested_card() -> None:
    card = b"\xef\xbb\xbf" + vcard(
        "FN:Alice",
        "AGENT:",
        "BEGIN:VCARD",
        "FN:Bob the Agent",
        "EMAIL:bob@agents.example",
        "END:VCARD",
        "EMAIL:alice@example.com",
    )
    assert matches(card_filter(prop("VERSION")), card)
    assert fn_matches(card, "Alice", "equals")
    assert not fn_matches(card, "Bob")
    assert matches(card_filter(prop("EMAIL", text("alice@"))), card)
    assert not matches(card_filter(prop("EMAIL", text("agents"))), card)


def test_values_with_colons_and_quoted_colons_in_parameters() -> None:
    card = vcard('URL;X-LABEL="home: page":https://example.com/a:b', "X-SOCIAL:tel:+1;ext=2")
    assert matches(card_filter(prop("URL", text("https://example.com/a:b", "equals"))), card)
    assert matches(card_filter(prop("URL", param("X-LABEL", text("home: page", "equals")))), card)
    assert matches(card_filter(prop("X-SOCIAL", text("tel:+1;ext=2", "equals"))), card)


# --- refused filters -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '<C:comp-filter name="VCARD"/>',
        prop("FN", "<C:time-range/>"),
        prop("FN", "<D:href>x</D:href>"),
        prop("FN", '<X:text-match xmlns:X="urn:example">a</X:text-match>'),
        prop("TEL", param("TYPE", "<C:prop-filter/>")),
        prop("FN", "<C:text-match>a<C:b/></C:text-match>"),
        '<C:prop-filter name="">x</C:prop-filter>',
        "<C:prop-filter/>",
        prop("F N"),
        prop("a.b.EMAIL"),
        prop("TEL", '<C:param-filter name="TY;PE"/>'),
    ],
)
def test_elements_and_names_outside_the_grammar_are_refused(body: str) -> None:
    with pytest.raises(UnsupportedFilter) as error:
        card_filter(body)
    assert error.value.condition == "supported-filter"
    assert error.value.message


def test_the_rfc_example_queries() -> None:
    # RFC 6352 sections 8.6.3 to 8.6.5
    cyrus = vcard(
        "NICKNAME:me", "UID:34222-232@example.com", "FN:Cyrus Daboo", "EMAIL:daboo@example.com"
    )
    oliver = vcard("NICKNAME:oliver", "FN:Oliver Daboo", "EMAIL:oliver@example.com")
    david = vcard("NICKNAME:me", "FN:David Boo", "EMAIL:daboo@example.com")
    nickname_me = card_filter(prop("NICKNAME", text("me", "equals", "i;unicode-casemap")))
    assert [matches(nickname_me, c) for c in (cyrus, oliver, david)] == [True, False, True]
    daboo = text("daboo", "contains", "i;unicode-casemap")
    either = card_filter(prop("FN", daboo) + prop("EMAIL", daboo), test="anyof")
    assert [matches(either, c) for c in (cyrus, oliver, david)] == [True, True, True]
    limit = "<C:limit><C:nresults>2</C:nresults></C:limit>"
    root = query(f'<C:filter test="anyof">{prop("FN", daboo)}</C:filter>', limit)
    assert limit_of(root) == 2
    assert [matches(parse_filter(root), c) for c in (cyrus, oliver, david)] == [True, True, False]


# --- limits --------------------------------------------------------------------------


def test_limit_of() -> None:
    assert limit_of(query("<C:filter/>")) is None
    assert limit_of(query("<C:filter/>", "<C:limit><C:nresults>5</C:nresults></C:limit>")) == 5
    assert limit_of(query("", "<C:limit><C:nresults> 12\n</C:nresults></C:limit>")) == 12


@pytest.mark.parametrize(
    "limit",
    [
        "<C:limit><C:nresults>0</C:nresults></C:limit>",
        "<C:limit><C:nresults>-1</C:nresults></C:limit>",
        "<C:limit><C:nresults>+3</C:nresults></C:limit>",
        "<C:limit><C:nresults>2.5</C:nresults></C:limit>",
        "<C:limit><C:nresults>ten</C:nresults></C:limit>",
        "<C:limit><C:nresults>\u0663</C:nresults></C:limit>",  # an Arabic-Indic 3
        "<C:limit><C:nresults>1234567890</C:nresults></C:limit>",
        "<C:limit><C:nresults/></C:limit>",
        "<C:limit/>",
        "<C:limit><D:nresults>3</D:nresults></C:limit>",
    ],
)
def test_a_bad_limit_is_refused(limit: str) -> None:
    with pytest.raises(BadLimit) as error:
        limit_of(query("<C:filter/>", limit))
    assert isinstance(error.value, ValueError)
    assert "nresults" in error.value.message


# --- odd cards -----------------------------------------------------------------------

EVERYTHING = card_filter(
    prop("FN", text("a") + text("b", "equals", "i;octet", "yes") + param("X", ""), test="allof")
    + prop("N", text("x", "ends-with", "i;ascii-casemap"))
    + prop("TEL", param("TYPE", text("cell")) + param("PREF", "<C:is-not-defined/>"))
    + prop("item1.EMAIL", "<C:is-not-defined/>")
    + prop("NOTE"),
    test="allof",
)
ODD_CARDS = [
    b"",
    b"\r\n",
    b"\x00\xff\xfe",
    b"BEGIN:VCARD",
    b"END:VCARD\r\nEND:VCARD\r\nFN:a\r\n",
    b"FN",
    b":",
    b":::",
    b";;;:",
    b".:x",
    b"FN;;;TYPE=:a",
    b'FN;X="unclosed:a b',
    b'FN;X="a";Y="b:c"d:e',
    b" leading fold\r\nFN:a",
    b"\r\n \r\n\t\r\n",
    b"NOTE;ENCODING=QUOTED-PRINTABLE:abc=",
    b"NOTE;ENCODING=QUOTED-PRINTABLE:=",
    b"NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=utf\x00:=ZZ=C3",
    b"NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=idna:=FF",
    b"NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=:=FF",
    b"N:\\",
    b"N:;;;;;;;;;;;\\;\\,\\",
    b"TEL;TYPE=^:1",
    b'TEL;TYPE="""":1',
    b"\xef\xbb\xbf",
    b"FN:\xed\xa0\x80",  # an encoded surrogate: not UTF-8
    "FN:\u2028\u0085\ufeff:x".encode(),
    b"FN:a\rN:b\nNOTE:c\r\n",
]


@pytest.mark.parametrize("card", ODD_CARDS)
def test_odd_cards_never_raise(card: bytes) -> None:
    assert isinstance(matches(EVERYTHING, card), bool)
    assert isinstance(matches(card_filter(prop("FN", text("a"))), card), bool)


def test_random_bytes_never_raise() -> None:
    rng = random.Random(6352)
    alphabet = b'BEGINVCARDFN:;,="\\^\r\n \t=QUOTED-PRINTABLE\xc3\xa9\xff\x00.'
    for _ in range(2000):
        card = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        assert isinstance(matches(EVERYTHING, card), bool)
