from __future__ import annotations

import datetime as dt

import pytest
from email_validator import EmailNotValidError, validate_email

from rapport.contacts import normalize


def test_it_lower_cases_the_domain_of_an_email_but_keeps_the_local_part():
    assert normalize.email("  John.Smith@Example.COM ") == "John.Smith@example.com"


@pytest.mark.parametrize("value", ["john@", "@example.com", "john smith@example.com", "a@b", ""])
def test_it_rejects_an_email_that_cannot_be_an_address(value):
    with pytest.raises(ValueError):
        normalize.email(value)


@pytest.mark.parametrize(
    "value",
    [
        "Ada.Lovelace+tag@Example.COM",
        "a..b@example.com",
        "Postmaster@Example.com",
        "x@localhost",
        "a@test",
        "a@-x.com",
        "a@x..com",
        "a@x_y.com",
        "a@x.invalid",
        "a@[127.0.0.1]",
        "Ada <ada@example.com>",
        "é@example.com",
        "ada@bücher.de",
        "ada@xn--bcher-kva.example",
        "x" * 65 + "@example.com",
        "a@" + "x" * 60 + "." + "y" * 60 + "." + "z" * 60 + "." + "w" * 60 + ".com",
    ],
)
def test_every_email_gets_the_libraries_verdict_and_normal_form(value):
    """Plain addresses take a shortcut (the domain's verdict is remembered); it must agree."""
    try:
        result = validate_email(value, check_deliverability=False)
        expected = f"{result.local_part}@{result.domain.lower()}"
    except EmailNotValidError as exc:
        expected = f"error: {exc}"
    for _ in range(2):  # the second time the domain's verdict comes from the memory
        try:
            got = normalize.email(value)
        except ValueError as exc:
            got = f"error: {exc}"
        assert got == expected


def test_it_reads_a_local_phone_number_in_the_given_region():
    number = normalize.phone("(415) 555-2671", region="US")
    assert number.e164 == "+14155552671"
    assert number.region == "US"


def test_it_reads_an_international_number_whatever_the_region():
    assert normalize.phone("+44 20 7946 0958", region="US").e164 == "+442079460958"


def test_it_keeps_a_phone_extension():
    number = normalize.phone("+1 415-555-2671 ext. 42", region="US")
    assert (number.e164, number.extension) == ("+14155552671", "42")


def test_it_rejects_a_phone_number_that_cannot_exist_and_says_why():
    with pytest.raises(ValueError, match="too few digits"):
        normalize.phone("555 12", region="US")
    with pytest.raises(ValueError, match="not a valid phone number"):
        normalize.phone("+1 099 555 2671", region="US")
    with pytest.raises(ValueError, match="not a phone number"):
        normalize.phone("call me", region="US")


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("DE", "DE"),
        ("deu", "DE"),
        ("Germany", "DE"),
        ("United Kingdom", "GB"),
        ("uk", "GB"),
        ("", ""),
    ],
)
def test_it_turns_country_names_and_codes_into_iso_codes(value, code):
    assert normalize.country(value) == code


def test_it_rejects_an_unknown_country():
    with pytest.raises(ValueError, match="not a country"):
        normalize.country("Atlantis")


def test_it_normalises_web_addresses():
    assert normalize.url("Example.COM/About") == "https://example.com/About"
    assert normalize.url("http://www.example.org/") == "http://www.example.org"
    with pytest.raises(ValueError):
        normalize.url("javascript:alert(1)")
    with pytest.raises(ValueError):
        normalize.url("not a url")


def test_it_refuses_a_birthday_in_the_future():
    with pytest.raises(ValueError, match="future"):
        normalize.birthday(dt.date.today() + dt.timedelta(days=1))
    assert normalize.birthday("1980-02-29") == dt.date(1980, 2, 29)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        normalize.birthday("29/02/1980")


def test_it_splits_a_full_name_into_parts():
    parts = normalize.split_full_name("Dr. Juan Q. Xavier de la Vega III")
    assert parts.prefix == "Dr."
    assert parts.given_name == "Juan"
    assert parts.family_name == "de la Vega"
    assert parts.suffix == "III"


def test_it_accepts_only_real_time_zones_and_language_tags():
    assert normalize.time_zone("Europe/Paris") == "Europe/Paris"
    with pytest.raises(ValueError):
        normalize.time_zone("Mars/Olympus")
    assert normalize.language("pt-br") == "pt-BR"
    with pytest.raises(ValueError):
        normalize.language("english!")
