"""The ways of reaching a person, and what a person or organization says about each."""

from __future__ import annotations

from django.db import models

CHANNELS = ("email", "call", "sms", "messaging", "post", "in_person")
CHANNEL_LABELS = {
    "email": "Email",
    "call": "Phone call",
    "sms": "SMS",
    "messaging": "Messaging apps",
    "post": "Post",
    "in_person": "In person",
}
# Short names for the at-a-glance line ("Phone from Tue 09:00").
CHANNEL_SHORT = {
    "email": "Email",
    "call": "Phone",
    "sms": "SMS",
    "messaging": "Messaging",
    "post": "Post",
    "in_person": "In person",
}


class ChannelStatus(models.TextChoices):
    """A person's (or an organization's default) word on one channel; "" says nothing."""

    UNSET = "", "Not set"
    ALLOWED = "allowed", "Allowed"
    PREFERRED = "preferred", "Preferred"
    REFUSED = "refused", "Refused"


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)
