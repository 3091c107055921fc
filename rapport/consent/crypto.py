"""Keys for the ledger's personal evidence (crypto-shredding) and its keyed hashes.

Each person has a data key (a Fernet key in ``ConsentSubject``), itself encrypted with
the server's key: ``RAPPORT_CONSENT_KEY`` (or a file named by
``RAPPORT_CONSENT_KEY_FILE``), a comma-separated list whose first key encrypts and
all decrypt (rotation as for mailbox passwords), else a key derived from
``SECRET_KEY``, which then must not change. Deleting a person's data key leaves their
ledger rows unreadable for good while the chain still verifies (the hashes cover the
ciphertext).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from rapport.env import env_list


class EvidenceUnreadable(Exception):
    """The person's data key is gone (forgotten) or the server key changed."""


def _fernet(text: str) -> Fernet:
    try:
        return Fernet(text.encode())
    except ValueError:  # not a Fernet key: any other secret text, hashed to one
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()))


def _derived(label: bytes) -> bytes:
    return hashlib.sha256(label + b"\x00" + settings.SECRET_KEY.encode()).digest()


def _server_keys() -> MultiFernet:
    configured = [_fernet(key) for key in env_list("RAPPORT_CONSENT_KEY", [])]
    derived = Fernet(base64.urlsafe_b64encode(_derived(b"rapport consent data keys")))
    return MultiFernet([*configured, derived])


def data_key_new() -> tuple[bytes, str]:
    """A new data key, and the same sealed with the server's key for storage."""
    key = Fernet.generate_key()
    return key, _server_keys().encrypt(key).decode()


def data_key_open(sealed: str) -> bytes:
    try:
        return _server_keys().decrypt(sealed.encode())
    except InvalidToken:
        raise EvidenceUnreadable(
            "A consent data key cannot be decrypted with the configured key "
            "(RAPPORT_CONSENT_KEY or SECRET_KEY changed?)."
        ) from None


def seal(key: bytes, value: Any) -> str:
    """``value`` (JSON-able) encrypted with a person's data key."""
    raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return Fernet(key).encrypt(raw).decode()


def unseal(key: bytes, token: str) -> Any:
    try:
        return json.loads(Fernet(key).decrypt(token.encode()))
    except InvalidToken:
        raise EvidenceUnreadable("This evidence was sealed with another key.") from None


def keyed_hash(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def subject_key(contact_id: int) -> str:
    """The pseudonym a ledger row carries for its person: a hash of the contact id
    keyed with the server secret, so rows can be handed to an auditor without ids
    and still be grouped, and a changed ``contact_id`` no longer matches its key."""
    return keyed_hash(_derived(b"rapport consent subjects"), f"contact:{contact_id}")


def throttle_key(kind: str, value: str) -> str:
    """A keyed hash of a client address or an email address, for sign-up throttling."""
    return keyed_hash(_derived(b"rapport consent throttle"), f"{kind}:{value}")
