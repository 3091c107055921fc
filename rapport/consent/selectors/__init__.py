"""Every non-trivial read of the consent area. The outreach gate uses
``consent_verdict`` (one contact) and ``contacts_consenting`` (a queryset, in SQL)."""

from rapport.consent.selectors.history import (
    ConsentOverview,
    EventFilters,
    EventPage,
    EventView,
    consent_event_get,
    consent_event_list,
    consent_overview,
)
from rapport.consent.selectors.purposes import purpose_get, purpose_list, purpose_text
from rapport.consent.selectors.verdict import (
    ConsentVerdict,
    consent_verdict,
    consent_verdict_of,
    consent_verdict_statement,
    contacts_consenting,
)

__all__ = [
    "ConsentOverview",
    "ConsentVerdict",
    "EventFilters",
    "EventPage",
    "EventView",
    "consent_event_get",
    "consent_event_list",
    "consent_overview",
    "consent_verdict",
    "consent_verdict_of",
    "consent_verdict_statement",
    "contacts_consenting",
    "purpose_get",
    "purpose_list",
    "purpose_text",
]
