"""Validation and normalisation of single values, shared by every entry path.

Each function returns the normalised value or raises ``ValueError`` with a message a
person can act on; callers attach the field path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import gettext
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import available_timezones

import phonenumbers
import pycountry

_COUNTRY_ALIASES = {"uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "usa": "US"}


def email(value: str) -> str:
    """Check syntax (no DNS lookups) and return the address with its domain lower-cased."""
    # email_validator and nameparser take a noticeable part of a second to import, which
    # every command would pay at start; they load with the first value they check.
    from email_validator import EmailNotValidError, validate_email
    from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES, DOT_ATOM_TEXT

    text = (value or "").strip()
    if not text:
        raise ValueError("Enter an email address.")
    local, at, domain = text.rpartition("@")
    if (
        at
        and len(text) <= 254
        and domain.isascii()
        and DOT_ATOM_TEXT.match(local)
        and local.lower() not in CASE_INSENSITIVE_MAILBOX_NAMES
    ):
        # The common case: a plain ASCII local part, which the library accepts as it is
        # (its own first check), at a domain whose verdict is remembered; an import
        # brings thousands of addresses at a few domains.
        return f"{local}@{_email_domain(domain)}"
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return f"{result.local_part}@{result.domain.lower()}"


@functools.lru_cache(maxsize=10_000)
def _email_domain(domain: str) -> str:
    """The library's verdict on an address's domain: its normal form, or ValueError."""
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(f"x@{domain}", check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return str(result.domain.lower())


def email_key(address: str) -> str:
    """The form used to compare addresses: the whole address lower-cased."""
    return address.casefold()


@dataclass(frozen=True)
class PhoneNumber:
    e164: str
    extension: str
    region: str


_PHONE_REASONS = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "its country code does not exist",
    phonenumbers.ValidationResult.TOO_SHORT: "it has too few digits",
    phonenumbers.ValidationResult.TOO_LONG: "it has too many digits",
    phonenumbers.ValidationResult.INVALID_LENGTH: "it has the wrong number of digits",
}


def phone(value: str, *, region: str) -> PhoneNumber:
    """Parse ``value`` (read in ``region`` when it has no +country code) into E.164."""
    text = (value or "").strip()
    if not text:
        raise ValueError("Enter a phone number.")
    if len(text) > 64:
        raise ValueError("This phone number is too long.")
    try:
        parsed = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException as exc:
        reasons = {
            phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: (
                "it has no country code and no country is known for it; start with +"
            ),
            phonenumbers.NumberParseException.NOT_A_NUMBER: "it is not a phone number",
            phonenumbers.NumberParseException.TOO_SHORT_NSN: "it has too few digits",
            phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "it has too few digits",
            phonenumbers.NumberParseException.TOO_LONG: "it has too many digits",
        }
        raise ValueError(
            f"“{text}” is not a valid phone number: {reasons.get(exc.error_type, str(exc))}."
        ) from None
    valid = phonenumbers.is_valid_number(parsed)
    if not valid and text.isdecimal() and not text.startswith("0"):
        # Spreadsheets drop the leading "+" of international numbers: 4915123456789.
        try:
            international = phonenumbers.parse("+" + text, None)
        except phonenumbers.NumberParseException:
            international = None
        if international is not None and phonenumbers.is_valid_number(international):
            parsed, valid = international, True
    if not valid:
        why = _PHONE_REASONS.get(
            phonenumbers.is_possible_number_with_reason(parsed),
            "no such number can exist in "
            + (phonenumbers.region_code_for_number(parsed) or "that country"),
        )
        raise ValueError(f"“{text}” is not a valid phone number: {why}.")
    return PhoneNumber(
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        extension=parsed.extension or "",
        region=phonenumbers.region_code_for_number(parsed) or "",
    )


def phone_display(e164: str) -> str:
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def country(value: str) -> str:
    """Accept an ISO 3166 alpha-2/alpha-3 code or a country name; return the alpha-2 code."""
    text = (value or "").strip()
    if not text:
        return ""
    alias = _COUNTRY_ALIASES.get(text.casefold())
    if alias:
        return alias
    found = None
    if len(text) == 2:
        found = pycountry.countries.get(alpha_2=text.upper())
    elif len(text) == 3:
        found = pycountry.countries.get(alpha_3=text.upper())
    if found is None:
        try:
            found = pycountry.countries.lookup(text)
        except LookupError:
            found = None
    if found is None:
        code = _localized_country_names().get(_fold_name(text))
        if code:
            return code
        raise ValueError(f"“{text}” is not a country name or ISO 3166 code.")
    return str(found.alpha_2)


# Country names as address books in these languages write them ("Deutschland", "España").
_COUNTRY_NAME_LANGUAGES = (
    "de",
    "fr",
    "es",
    "it",
    "nl",
    "pt",
    "pt_BR",
    "sv",
    "da",
    "nb",
    "fi",
    "pl",
    "cs",
    "tr",
    "ru",
    "ja",
    "zh_CN",
)
_LOCALIZED: dict[str, str] | None = None


def _fold_name(text: str) -> str:
    return " ".join(text.casefold().replace(".", " ").split())


def _localized_country_names() -> dict[str, str]:
    global _LOCALIZED
    if _LOCALIZED is None:
        names: dict[str, str] = {}
        for language in _COUNTRY_NAME_LANGUAGES:
            try:
                translation = gettext.translation(
                    "iso3166-1", pycountry.LOCALES_DIR, languages=[language]
                )
            except OSError:
                continue
            for entry in pycountry.countries:
                for attribute in ("name", "common_name", "official_name"):
                    english = getattr(entry, attribute, None)
                    if english:
                        names.setdefault(_fold_name(translation.gettext(english)), entry.alpha_2)
        _LOCALIZED = names
    return _LOCALIZED


def country_name(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code) if code else None
    return (
        str(getattr(found, "common_name", None) or getattr(found, "name", code)) if found else code
    )


_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def url(value: str) -> str:
    """Return an absolute http(s) URL with a lower-cased host; add https:// when missing."""
    text = (value or "").strip()
    if not text:
        raise ValueError("Enter a URL.")
    if not _SCHEME.match(text):
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme.lower() not in {"http", "https"}:
        raise ValueError("Only http and https addresses are allowed.")
    host = (parts.hostname or "").lower()
    if not host or "." not in host or " " in text or len(text) > 500:
        raise ValueError(f"“{value.strip()}” is not a valid web address.")
    netloc = host + (f":{parts.port}" if parts.port else "")
    path = parts.path if parts.path not in {"", "/"} else ""
    return urlunsplit((parts.scheme.lower(), netloc, path, parts.query, ""))


def domain(value: str) -> str:
    """A bare domain name from 'Example.com', 'https://www.example.com/x' or an email."""
    text = (value or "").strip().lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    if "//" in text:
        text = urlsplit(text).hostname or ""
    text = text.split("/")[0].removeprefix("www.").strip(".")
    if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", text):
        raise ValueError(f"“{value}” is not a domain name.")
    return text


def birthday(value: dt.date | str | None) -> dt.date | None:
    if value in (None, ""):
        return None
    day = value if isinstance(value, dt.date) else parse_date(str(value))
    if day > dt.date.today():
        raise ValueError("A birthday cannot be in the future.")
    if day.year < 1880:
        raise ValueError("A birthday before 1880 is not plausible.")
    return day


def parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"“{value}” is not a date in the form YYYY-MM-DD.") from None


_ZONES: frozenset[str] | None = None


def time_zone(value: str) -> str:
    global _ZONES
    text = (value or "").strip()
    if not text:
        return ""
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    if text not in _ZONES:
        raise ValueError(f"“{text}” is not an IANA time zone such as Europe/Paris.")
    return text


_LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")


def language(value: str) -> str:
    text = (value or "").strip()
    if not text:
        return ""
    if not _LANGUAGE.match(text) or len(text) > 16:
        raise ValueError(f"“{text[:40]}” is not a language tag such as en or pt-BR.")
    head, *rest = text.split("-")
    return "-".join([head.lower(), *[p.upper() if len(p) == 2 else p for p in rest]])


@dataclass(frozen=True)
class NameParts:
    prefix: str = ""
    given_name: str = ""
    middle_name: str = ""
    family_name: str = ""
    suffix: str = ""
    nickname: str = ""


@functools.cache
def _emoji_keeping_parser() -> Any:
    """Emoji are part of some people's names as typed (and of many nicknames): kept
    whole, ZWJ sequences included, rather than stripped down to a lone zero-width joiner."""
    from nameparser import Parser, Policy

    return Parser(policy=dataclasses.replace(Policy(), strip_emoji=False))


def _visible(text: str) -> list[str]:
    return sorted(ch for ch in text if not ch.isspace() and ch not in ",")


def split_full_name(full_name: str) -> NameParts:
    """Split 'Dr. Juan Q. Xavier de la Vega III (Doc Vega)' into its parts.

    Text is normalised to NFC and nothing typed is lost: a name with emoji is split by
    a parser that keeps them.
    """
    from nameparser import HumanName

    text = unicodedata.normalize("NFC", (full_name or "").strip())
    name = HumanName(text)
    parts = NameParts(
        prefix=name.title,
        given_name=name.first,
        middle_name=name.middle,
        family_name=name.last,
        suffix=name.suffix,
        nickname=name.nickname,
    )
    if _visible("".join(dataclasses.astuple(parts))) == _visible(
        text.replace("(", "").replace(")", "")
    ):
        return parts
    kept = _emoji_keeping_parser().parse(text)
    return NameParts(
        prefix=kept.title,
        given_name=kept.given,
        middle_name=kept.middle,
        family_name=kept.family,
        suffix=kept.suffix,
        nickname=kept.nickname,
    )


def display_name(parts: NameParts) -> str:
    given = " ".join(p for p in [parts.given_name, parts.middle_name, parts.family_name] if p)
    text = " ".join(p for p in [parts.prefix, given] if p)
    if parts.suffix:
        text = f"{text}, {parts.suffix}" if text else parts.suffix
    return text.strip()


def number(value: object) -> Decimal:
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"“{value}” is not a number.") from None
    if not result.is_finite():
        raise ValueError(f"“{value}” is not a number.")
    return result
