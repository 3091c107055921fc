"""What Rapport knows about reaching people: their preferences and their organizations'
defaults, frequency caps, the legal calling rules, the log of every attempt, and where
each contact is (time zone, country) as the bulk decision reads it."""

from rapport.outreach.models.attempts import ContactAttempt
from rapport.outreach.models.bulk import BulkSend
from rapport.outreach.models.messages import (
    MessageTemplate,
    MessageTemplateTranslation,
    OutboundMessage,
)
from rapport.outreach.models.preferences import (
    ContactPreferences,
    FrequencyCap,
    OrganizationPreferences,
)
from rapport.outreach.models.reach import ContactReach, ReachProfile
from rapport.outreach.models.rules import CallingRule

__all__ = [
    "BulkSend",
    "CallingRule",
    "ContactAttempt",
    "ContactPreferences",
    "ContactReach",
    "FrequencyCap",
    "MessageTemplate",
    "MessageTemplateTranslation",
    "OutboundMessage",
    "OrganizationPreferences",
    "ReachProfile",
]
