"""The fixed words of the consent ledger: channels, lawful bases, actions, sources and
methods. Imported by the outreach gate and by privacy, so it stays free of models."""

from __future__ import annotations

from django.db import models

# Every path that reaches out names one of these (outreach uses the same list).
CHANNELS = ("email", "call", "sms", "messaging", "post", "in_person")
CHANNEL_LABELS = {
    "email": "Email",
    "call": "Phone call",
    "sms": "SMS",
    "messaging": "Messaging apps",
    "post": "Post",
    "in_person": "In person",
}
# Channels whose events may name one contact point (an address or a number).
POINT_CHANNELS = ("email", "call", "sms", "messaging", "post")


class LawfulBasis(models.TextChoices):
    """GDPR Art. 6(1) (a)–(f)."""

    CONSENT = "consent", "Consent"
    CONTRACT = "contract", "Contract"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation"
    VITAL_INTEREST = "vital_interest", "Vital interest"
    PUBLIC_TASK = "public_task", "Public task"
    LEGITIMATE_INTEREST = "legitimate_interest", "Legitimate interest"


class Action(models.TextChoices):
    """What one ledger row says happened."""

    GRANT = "grant", "Granted"
    WITHDRAW = "withdraw", "Withdrew"
    OBJECT = "object", "Objected"
    LIFT_OBJECTION = "lift_objection", "Lifted objection"
    CONFIRM = "confirm", "Confirmed"
    EXPIRE = "expire", "Expired"
    # contact-wide, for every purpose: no purpose is given with these
    RESTRICT = "restrict", "Restricted processing"
    LIFT_RESTRICTION = "lift_restriction", "Lifted restriction"
    OBJECT_MARKETING = "object_marketing", "Objected to direct marketing"
    LIFT_MARKETING_OBJECTION = "lift_marketing_objection", "Lifted marketing objection"
    # how and when they want to be contacted (channels, hours, language), as they said it
    # on the preference page or to someone who recorded it; changes no consent state
    SET_PREFERENCES = "set_preferences", "Changed how and when to be contacted"


PURPOSE_ACTIONS = frozenset(
    {
        Action.GRANT,
        Action.WITHDRAW,
        Action.OBJECT,
        Action.LIFT_OBJECTION,
        Action.CONFIRM,
        Action.EXPIRE,
    }
)
CONTACT_ACTIONS = frozenset(
    {
        Action.RESTRICT,
        Action.LIFT_RESTRICTION,
        Action.OBJECT_MARKETING,
        Action.LIFT_MARKETING_OBJECTION,
    }
)
# Rows about the person as a whole: no purpose, no channel, no contact point.
NO_PURPOSE_ACTIONS = CONTACT_ACTIONS | {Action.SET_PREFERENCES}
# Objections concern the purpose as a whole, never one channel.
WHOLE_PURPOSE_ACTIONS = frozenset({Action.OBJECT, Action.LIFT_OBJECTION})


class Source(models.TextChoices):
    """Where the record came into Rapport from."""

    FORM = "form", "Sign-up form"
    PREFERENCE_PAGE = "preference_page", "Preference page"
    EMAIL_LINK = "email_link", "Link in an email"
    IMPORT = "import", "Import"
    API = "api", "API client"
    USER = "user", "Recorded by a user"
    SYSTEM = "system", "Rapport"


class Method(models.TextChoices):
    """How the person expressed it."""

    CHECKBOX = "checkbox", "Ticked a checkbox"
    DOUBLE_OPT_IN = "double_opt_in", "Double opt-in (confirmed by email)"
    VERBAL = "verbal", "Verbally"
    PAPER = "paper", "On paper"
    EMAIL = "email", "In an email"
    LINK = "link", "Clicked a link"
    FORM = "form", "Filled in a form"
    ONE_CLICK = "one_click", "One-click unsubscribe (RFC 8058)"
    SYSTEM = "system", "By Rapport (retention)"


# Methods where the person saw a text they agreed to: a grant by them names that text.
TEXT_METHODS = frozenset({Method.CHECKBOX, Method.DOUBLE_OPT_IN})


class Status(models.TextChoices):
    """The derived state of one contact, purpose and channel."""

    GRANTED = "granted", "Granted"
    PENDING = "pending", "Awaiting confirmation"
    WITHDRAWN = "withdrawn", "Withdrawn"
    OBJECTED = "objected", "Objected"
    EXPIRED = "expired", "Expired"
