"""The suppression list: keyed hashes of erased people's email addresses and numbers.

An erasure leaves, for each of the person's email addresses (normalised as contacts
keep them: lower case) and E.164 phone numbers that no other contact holds, an entry
``HMAC-SHA256(key, "email:ada@example.org")``. Nothing readable is kept: without the
key, a leaked list reveals nothing; with it, an address can be tested but not listed.

The key comes from ``RAPPORT_SUPPRESSION_KEY`` (or ``RAPPORT_SUPPRESSION_KEY_FILE``).
Without one it is derived from ``SECRET_KEY``, which works but ties the list to that
key: rotating ``SECRET_KEY`` then silently voids every entry, so a warning says so
(``rapport check``, the suppression page, the log). Each entry records which key made
it (``key_id``), so entries made with another key are counted and shown.

``admission_check`` is registered with ``core.hooks.on_contacts_admitting``: every path
that creates a contact (the form, the API, imports, sign-up forms of later areas) or
adds an address or number to one asks it first.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from django.conf import settings
from django.db import transaction

from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput
from rapport.core.hooks import Newcomer, Refusal
from rapport.privacy.models import ErasureLog, Readmission, Suppression

logger = logging.getLogger(__name__)

_KEY_ID_MESSAGE = b"rapport.privacy.suppression.key-id"
_DERIVATION = b"rapport.privacy.suppression-key"


@dataclass(frozen=True)
class Key:
    secret: bytes
    derived: bool  # from SECRET_KEY, not RAPPORT_SUPPRESSION_KEY

    @property
    def key_id(self) -> str:
        return hmac.new(self.secret, _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:16]


DERIVED_KEY_WARNING = (
    "RAPPORT_SUPPRESSION_KEY is not set: the suppression list is keyed with a key derived "
    "from SECRET_KEY. Changing SECRET_KEY would make every entry unmatchable, and erased "
    "people could be imported again. Set RAPPORT_SUPPRESSION_KEY (or "
    "RAPPORT_SUPPRESSION_KEY_FILE) to a long random value and keep it with your backups."
)


def suppression_key() -> Key:
    """The key entries are made and checked with (see the module docstring)."""
    return _key(str(settings.RAPPORT_SUPPRESSION_KEY), str(settings.SECRET_KEY))


@cache
def _key(configured: str, secret_key: str) -> Key:
    if configured:
        return Key(configured.encode(), derived=False)
    logger.warning(DERIVED_KEY_WARNING)
    return Key(hmac.new(secret_key.encode(), _DERIVATION, hashlib.sha256).digest(), derived=True)


def digest(kind: str, value: str, key: Key | None = None) -> str:
    """The entry for ``value``, an email key (lower case) or an E.164 number."""
    key = key or suppression_key()
    return hmac.new(key.secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def refusal_message(erased_on: date) -> str:
    return (
        f"Suppressed (erased on {erased_on.isoformat()}): this person asked to be erased. "
        "An admin must re-admit them with new consent (Privacy → Suppression list) "
        "before they are added again."
    )


def admission_check(newcomers: Sequence[Newcomer]) -> list[Refusal]:
    """Refuse each newcomer carrying an email address or number on the list, naming
    the first such field; one query for all of them."""
    key = suppression_key()
    wanted: dict[str, list[tuple[int, str]]] = {}
    for index, newcomer in enumerate(newcomers):
        for i, email in enumerate(newcomer.emails):
            path = newcomer.email_paths[i] if i < len(newcomer.email_paths) else "emails"
            wanted.setdefault(digest("email", email, key), []).append((index, path))
        for i, e164 in enumerate(newcomer.phones):
            path = newcomer.phone_paths[i] if i < len(newcomer.phone_paths) else "phones"
            wanted.setdefault(digest("phone", e164, key), []).append((index, path))
    if not wanted:
        return []
    found = dict(
        Suppression.objects.filter(digest__in=list(wanted)).values_list("digest", "erased_on")
    )
    refused: dict[int, Refusal] = {}
    for value, erased_on in found.items():
        for index, path in wanted[value]:
            if index not in refused:
                refused[index] = Refusal(index, path, refusal_message(erased_on))
    return [refused[i] for i in sorted(refused)]


def entries_for(emails: Iterable[str], phones: Iterable[str]) -> list[tuple[str, str]]:
    """(kind, digest) for each address and number."""
    key = suppression_key()
    return [("email", digest("email", e, key)) for e in emails] + [
        ("phone", digest("phone", p, key)) for p in phones
    ]


def suppression_add(*, erasure: ErasureLog, emails: Iterable[str], phones: Iterable[str]) -> int:
    """Add entries for the erased person's addresses and numbers (one already on the
    list keeps its first date); returns how many are on the list for them now."""
    key = suppression_key()
    entries = entries_for(emails, phones)
    Suppression.objects.bulk_create(
        [
            Suppression(
                kind=kind,
                digest=value,
                key_id=key.key_id,
                erased_on=erasure.at.date(),
                erasure=erasure,
            )
            for kind, value in entries
        ],
        ignore_conflicts=True,
    )
    return len(entries)


def _normalised(*, email: str, phone: str) -> list[tuple[str, str]]:
    from rapport.contacts import normalize

    errors: list[FieldError] = []
    values: list[tuple[str, str]] = []
    if email.strip():
        try:
            values.append(("email", normalize.email_key(normalize.email(email.strip()))))
        except ValueError as exc:
            errors.append(FieldError("email", str(exc)))
    if phone.strip():
        try:
            region = str(settings.RAPPORT_DEFAULT_REGION)
            values.append(("phone", normalize.phone(phone.strip(), region=region).e164))
        except ValueError as exc:
            errors.append(FieldError("phone", str(exc)))
    if not email.strip() and not phone.strip():
        errors.append(FieldError("email", "Enter the email address or phone number to re-admit."))
    if errors:
        raise InvalidInput(errors)
    return values


def suppression_lookup(*, actor: Any, email: str = "", phone: str = "") -> list[Suppression]:
    """The entries matching an address or number typed in (to tell an admin whether,
    and since when, someone is suppressed). Raises NotPermitted, InvalidInput."""
    policy.require(actor, "privacy.readmit")
    key = suppression_key()
    digests = [digest(kind, value, key) for kind, value in _normalised(email=email, phone=phone)]
    return list(Suppression.objects.filter(digest__in=digests).select_related("erasure"))


@transaction.atomic
def suppression_readmit(
    *, actor: Any, email: str = "", phone: str = "", consent: str, via: str = "ui"
) -> Readmission:
    """Take an address and/or number off the list, deliberately, with new consent
    (``consent`` says how it was given: "signed form 2025-06-02", "double opt-in").

    Logged as a ``Readmission`` (who, when, on what grounds, how many entries; not the
    value). Raises NotPermitted unless the actor may re-admit, InvalidInput when the
    values cannot be read, the consent is missing, or nothing matches.
    """
    policy.require(actor, "privacy.readmit")
    consent = " ".join((consent or "").split())
    values = _normalised(email=email, phone=phone)
    if not consent:
        raise InvalidInput.single("consent", "Say how the person gave their consent again.")
    if len(consent) > 500:
        raise InvalidInput.single("consent", "At most 500 characters.")
    key = suppression_key()
    digests = [digest(kind, value, key) for kind, value in values]
    entries = list(Suppression.objects.select_for_update().filter(digest__in=digests))
    if not entries:
        raise InvalidInput.single(
            "email" if email.strip() else "phone",
            "This is not on the suppression list; nothing to re-admit.",
        )
    first = min(entries, key=lambda e: e.erased_on)
    Suppression.objects.filter(pk__in=[e.pk for e in entries]).delete()
    return Readmission.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        via=via,
        consent=consent,
        removed=len(entries),
        erased_on=first.erased_on,
        erasure_id=first.erasure_id,
    )


@dataclass(frozen=True)
class ListState:
    """What the suppression page shows: how many entries, how many made with another
    key (unmatchable now), and whether the key is derived from SECRET_KEY."""

    total: int
    emails: int
    phones: int
    other_key: int
    derived_key: bool


def suppression_state(*, actor: Any) -> ListState:
    policy.require(actor, "privacy.readmit")
    key = suppression_key()
    entries = Suppression.objects.all()
    return ListState(
        total=entries.count(),
        emails=entries.filter(kind=Suppression.Kind.EMAIL).count(),
        phones=entries.filter(kind=Suppression.Kind.PHONE).count(),
        other_key=entries.exclude(key_id=key.key_id).count(),
        derived_key=key.derived,
    )
