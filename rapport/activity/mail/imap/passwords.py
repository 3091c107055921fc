"""Mailbox passwords, encrypted at rest in the activity key store
(``rapport.activity.keystore``: Fernet, the key from ``RAPPORT_MAILBOX_KEY``, else
derived from the ``SECRET_KEY``; rotation by listing the new key first).
"""

from __future__ import annotations

from rapport.activity.keystore import (
    KeyUnavailable,
    SecretUnreadable,
    key_generate,
    secret_decrypt,
    secret_encrypt,
    secret_rotated,
)

__all__ = [
    "KeyUnavailable",
    "PasswordUnreadable",
    "key_generate",
    "password_decrypt",
    "password_encrypt",
    "password_rotated",
]


class PasswordUnreadable(SecretUnreadable):
    """The stored password was encrypted with a key that is no longer configured (or
    the key cannot be read)."""


def password_encrypt(password: str) -> str:
    """The password as a token for the database, encrypted with the current key.
    Raises KeyUnavailable."""
    return secret_encrypt(password)


def password_decrypt(token: str) -> str:
    """The password behind a stored token; raises PasswordUnreadable if no key fits."""
    try:
        return secret_decrypt(token)
    except SecretUnreadable:
        raise PasswordUnreadable(
            "The stored password cannot be decrypted with the configured key "
            "(RAPPORT_MAILBOX_KEY or SECRET_KEY changed?). Enter the password again."
        ) from None
    except KeyUnavailable as exc:
        raise PasswordUnreadable(str(exc)) from None


def password_rotated(token: str) -> str | None:
    """The token re-encrypted with the current key, or None when it already is."""
    return secret_rotated(token)
