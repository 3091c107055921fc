"""The consent step of the gate: the consent app's answer for one contact
(``consent_verdict``) and its SQL form for many (``contacts_consenting``), which give
the same answer for each contact. Purposes, lawful bases and the ledger they read are
described in docs/consent.md."""

from __future__ import annotations

from rapport.consent.selectors import (
    ConsentVerdict,
    consent_verdict,
    consent_verdict_of,
    consent_verdict_statement,
    contacts_consenting,
)

__all__ = [
    "ConsentVerdict",
    "consent_verdict",
    "consent_verdict_of",
    "consent_verdict_statement",
    "contacts_consenting",
]
