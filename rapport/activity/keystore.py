"""Secrets kept encrypted at rest: mailbox passwords and calendar subscription URLs
(Fernet: AES-128-CBC with an HMAC-SHA256).

The key comes from the environment: ``RAPPORT_MAILBOX_KEY`` (or a file named by
``RAPPORT_MAILBOX_KEY_FILE``), a comma-separated list of keys; the first encrypts, all of
them decrypt, so a key can be rotated by putting the new one first and keeping the old
one until every secret was written again (each mailbox sync and each subscription
refresh re-encrypts its own with the first key). A key is a Fernet key (``key_generate``)
or any long random text, hashed to one. Without it, a key is derived from the
``SECRET_KEY``, which then must not change; it stays the last key tried after
``RAPPORT_MAILBOX_KEY`` is set, so secrets saved before keep working.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from rapport.env import env_list


class KeyUnavailable(Exception):
    """The configured key cannot be read (``RAPPORT_MAILBOX_KEY_FILE`` names a file that
    is missing or unreadable): nothing can be encrypted or decrypted."""


class SecretUnreadable(Exception):
    """A stored secret was encrypted with a key that is no longer configured."""


def key_generate() -> str:
    """A new random key for ``RAPPORT_MAILBOX_KEY``."""
    return Fernet.generate_key().decode()


def _fernet(text: str) -> Fernet:
    try:
        return Fernet(text.encode())
    except ValueError:  # not a Fernet key: any other secret text, hashed to one
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()))


def _from_secret_key() -> Fernet:
    # the label is the one mailbox passwords were first encrypted under: one key store
    digest = hashlib.sha256(b"rapport mailbox passwords\x00" + settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def _keys() -> list[Fernet]:
    try:
        configured = [_fernet(key) for key in env_list("RAPPORT_MAILBOX_KEY", [])]
    except OSError as exc:
        raise KeyUnavailable(
            f"The encryption key cannot be read: RAPPORT_MAILBOX_KEY_FILE names "
            f"{exc.filename or 'a file'}, which cannot be read ({exc.strerror or exc}). "
            "Fix the file or the setting; nothing secret can be saved until then."
        ) from None
    return [*configured, _from_secret_key()]


def secret_encrypt(text: str) -> str:
    """``text`` as a token for the database, encrypted with the current key. Raises
    KeyUnavailable."""
    return _keys()[0].encrypt(text.encode()).decode()


def secret_decrypt(token: str) -> str:
    """The text behind a stored token. Raises SecretUnreadable when no configured key
    fits, KeyUnavailable when the key cannot be read."""
    try:
        return MultiFernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "It cannot be decrypted with the configured key (RAPPORT_MAILBOX_KEY or "
            "SECRET_KEY changed?)."
        ) from None


def secret_rotated(token: str) -> str | None:
    """The token re-encrypted with the current key, or None when it already is (or
    cannot be read at all)."""
    keys = _keys()
    try:
        keys[0].decrypt(token.encode())
    except InvalidToken:
        try:
            return MultiFernet(keys).rotate(token.encode()).decode()
        except InvalidToken:
            return None
    return None
