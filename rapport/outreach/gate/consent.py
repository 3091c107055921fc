"""The consent step of the gate, kept apart so that wiring in the consent app is one
change: replace the two assignments at the bottom of this module with

    from rapport.consent.selectors import consent_verdict, contacts_consenting

whose signatures these placeholders share:

    consent_verdict(*, contact_id: int, purpose: str, channel: str, at: datetime)
        -> object with allowed: bool, rule: str, reason: str, until: datetime | None
    contacts_consenting(queryset, *, purpose: str, channel: str, at: datetime)
        -> the queryset narrowed to contacts whose consent allows it (SQL only)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet


@dataclass(frozen=True)
class ConsentVerdict:
    """The consent app's answer for one contact, purpose and channel at one time."""

    allowed: bool
    rule: str
    reason: str
    until: dt.datetime | None = None


def _no_consent_rules_yet(
    *, contact_id: int, purpose: str, channel: str, at: dt.datetime
) -> ConsentVerdict:
    return ConsentVerdict(True, "no_consent_rules", "No consent rules yet.", None)


def _everyone_until_consent_rules(
    queryset: QuerySet[Any], *, purpose: str, channel: str, at: dt.datetime
) -> QuerySet[Any]:
    return queryset


consent_verdict = _no_consent_rules_yet
contacts_consenting = _everyone_until_consent_rules
