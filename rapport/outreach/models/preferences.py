"""A person's communication preferences, their organization's defaults, and frequency caps.

How a person's own choices and their organizations' defaults combine is the gate's
business (rapport/outreach/gate/inputs.py, docs/outreach.md "Who decides"): in short, a
person's own word wins where the organization marked its default overridable, and an
organization's firm default is a floor no person's choice lifts.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from rapport.contacts.models import Contact, Organization
from rapport.outreach.channels import ChannelStatus


def _all_channels() -> list[str]:
    from rapport.outreach.channels import CHANNELS

    return list(CHANNELS)


class _Preferences(models.Model):
    """What a person says (or an organization says for its people) about being reached.

    Per channel: "" (nothing said), allowed, preferred or refused. ``hours``: contact
    hours as ``{"mon": ["09:00-12:00", "22:00-02:00"], …}`` in the person's time zone
    (a window whose end is before its start runs past midnight), None when none are set;
    they apply to the channels in ``hours_channels``. ``avoid_holidays``: keep public
    holidays of the person's country free (None: not said). ``do_not_contact``: None
    (not said), True, or — for a person — False, "may be contacted", which lifts an
    organization's overridable do-not-contact. ``note`` says why ("only through
    procurement"). ``version`` counts changes (the API's ETag).
    """

    email = models.CharField(max_length=10, choices=ChannelStatus.choices, blank=True, default="")
    call = models.CharField(max_length=10, choices=ChannelStatus.choices, blank=True, default="")
    sms = models.CharField(max_length=10, choices=ChannelStatus.choices, blank=True, default="")
    messaging = models.CharField(
        max_length=10, choices=ChannelStatus.choices, blank=True, default=""
    )
    post = models.CharField(max_length=10, choices=ChannelStatus.choices, blank=True, default="")
    in_person = models.CharField(
        max_length=10, choices=ChannelStatus.choices, blank=True, default=""
    )
    hours = models.JSONField(null=True, blank=True)
    hours_channels = models.JSONField(default=_all_channels, blank=True)
    avoid_holidays = models.BooleanField(null=True, blank=True)
    do_not_contact = models.BooleanField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    language = models.CharField(max_length=16, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True

    def status_of(self, channel: str) -> str:
        return str(getattr(self, channel, ""))


class ContactPreferences(_Preferences):
    """One person's own preferences; absent until someone sets one."""

    contact = models.OneToOneField(
        Contact, primary_key=True, on_delete=models.CASCADE, related_name="outreach_preferences"
    )

    class Meta:
        verbose_name_plural = "contact preferences"

    def __str__(self) -> str:
        return f"Preferences of contact {self.contact_id}"

    @property
    def etag(self) -> str:
        return f'"preferences-{self.contact_id}-{self.version}"'


class OrganizationPreferences(_Preferences):
    """Defaults every current member of an organization inherits.

    Each group of defaults is firm unless marked overridable: a firm "calls refused" is
    a floor no member's own "calls allowed" lifts; an overridable one is a default that a
    member's own explicit choice replaces. ``channels_overridable`` covers the channel
    statuses, ``do_not_contact_overridable`` the do-not-contact switch,
    ``hours_overridable`` the contact hours and ``avoid_holidays``.
    """

    organization = models.OneToOneField(
        Organization,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="outreach_defaults",
    )
    channels_overridable = models.BooleanField(default=False)
    do_not_contact_overridable = models.BooleanField(default=False)
    hours_overridable = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "organization preferences"

    def __str__(self) -> str:
        return f"Defaults of organization {self.organization_id}"

    @property
    def etag(self) -> str:
        return f'"org-preferences-{self.organization_id}-{self.version}"'


class FrequencyCap(models.Model):
    """At most ``max_count`` attempts to reach the contact in any ``period_days`` days,
    counting attempts on ``channel`` ("" = every channel) for ``purpose`` ("" = every
    purpose). Attempts are the sent, attempted and refused rows of ContactAttempt."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="outreach_caps")
    channel = models.CharField(max_length=10, blank=True)
    purpose = models.SlugField(max_length=50, blank=True)
    max_count = models.PositiveIntegerField()
    period_days = models.PositiveIntegerField()

    class Meta:
        ordering = ["contact", "channel", "purpose"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "channel", "purpose"], name="outreach_cap_one_per_scope"
            )
        ]

    def __str__(self) -> str:
        return f"{self.max_count} per {self.period_days} days ({self.channel or 'any channel'})"
