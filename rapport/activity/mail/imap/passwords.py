"""Mailbox passwords, encrypted at rest (Fernet: AES-128-CBC with an HMAC-SHA256).

The key comes from the environment: ``RAPPORT_MAILBOX_KEY`` (or a file named by
``RAPPORT_MAILBOX_KEY_FILE``), a comma-separated list of keys; the first encrypts, all of
them decrypt, so a key can be rotated by putting the new one first and keeping the old
one until every mailbox has synced once (each sync re-encrypts with the first key). A
key is a Fernet key (``rapport.activity.mail.imap.passwords.key_generate()``) or any
long random text, hashed to one. Without it, a key is derived from the ``SECRET_KEY``,
which then must not change; it stays the last key tried after ``RAPPORT_MAILBOX_KEY`` is
set, so mailboxes saved before keep working.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from rapport.env import env_list


class PasswordUnreadable(Exception):
    """The stored password was encrypted with a key that is no longer configured."""


def key_generate() -> str:
    """A new random key for ``RAPPORT_MAILBOX_KEY``."""
    return Fernet.generate_key().decode()


def _fernet(text: str) -> Fernet:
    try:
        return Fernet(text.encode())
    except ValueError:  # not a Fernet key: any other secret text, hashed to one
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()))


def _from_secret_key() -> Fernet:
    digest = hashlib.sha256(b"rapport mailbox passwords\x00" + settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def _keys() -> list[Fernet]:
    configured = [_fernet(key) for key in env_list("RAPPORT_MAILBOX_KEY", [])]
    return [*configured, _from_secret_key()]


def password_encrypt(password: str) -> str:
    """The password as a token for the database, encrypted with the current key."""
    return _keys()[0].encrypt(password.encode()).decode()


def password_decrypt(token: str) -> str:
    """The password behind a stored token; raises PasswordUnreadable if no key fits."""
    try:
        return MultiFernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise PasswordUnreadable(
            "The stored password cannot be decrypted with the configured key "
            "(RAPPORT_MAILBOX_KEY or SECRET_KEY changed?). Enter the password again."
        ) from None


def password_rotated(token: str) -> str | None:
    """The token re-encrypted with the current key, or None when it already is."""
    keys = _keys()
    try:
        keys[0].decrypt(token.encode())
    except InvalidToken:
        try:
            return MultiFernet(keys).rotate(token.encode()).decode()
        except InvalidToken:
            return None
    return None
