"""Purposes, the texts people agree to, the append-only consent ledger and the state
derived from it."""

from rapport.consent.models.ledger import ConsentChain, ConsentEvent
from rapport.consent.models.purposes import ConsentText, Purpose
from rapport.consent.models.state import (
    ConsentContactState,
    ConsentState,
    ConsentSubject,
    SignupAttempt,
)

__all__ = [
    "ConsentChain",
    "ConsentContactState",
    "ConsentEvent",
    "ConsentState",
    "ConsentSubject",
    "ConsentText",
    "Purpose",
    "SignupAttempt",
]
