"""Where each contact is and what their own hours are, as the bulk decision reads them.

Working out a time zone from an address or a phone number takes Python (tz database
regions, phone number prefixes); a decision over a million contacts cannot do that per
contact. So each contact points at a ReachProfile: the zones it may be in, its country
and subdivision, and its own contact hours. Profiles are shared (a few thousand serve a
million contacts), and the bulk decision evaluates each profile once.

ContactReach is derived, never edited: it records which ``contact_version`` it was
computed from and is refreshed on every contact write (core.hooks), on every change of
the contact's own preferences, and, for any row whose version lags, before each bulk
decision and single gate call.
"""

from __future__ import annotations

import datetime as dt

from django.db import models

from rapport.contacts.models import Contact

# How often a worker brings every lagging ContactReach in step (services.reach).
SWEEP_EVERY = dt.timedelta(minutes=10)


class ReachProfile(models.Model):
    """Zones (all must be inside the windows), their source, country, subdivision and own
    hours. ``key`` is a digest of everything else: one row per distinct profile."""

    key = models.CharField(max_length=64, unique=True)
    zones = models.JSONField(default=list)
    zone_source = models.CharField(max_length=10)  # own, address, phone, unknown
    zone_detail = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True)
    subdivision = models.CharField(max_length=10, blank=True)
    hours = models.JSONField(null=True, blank=True)
    hours_channels = models.JSONField(default=list, blank=True)
    avoid_holidays = models.BooleanField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{'/'.join(self.zones) or 'unknown zone'} {self.country}{self.subdivision}"


class ContactReach(models.Model):
    """The profile a contact follows, computed from ``contact_version`` of the contact."""

    # Derived from the contact's values: merges leave it alone and the outreach hooks
    # compute it again for everyone a merge (or its undoing) touched.
    INDEX_OF_CONTACT = True

    contact = models.OneToOneField(
        Contact, primary_key=True, on_delete=models.CASCADE, related_name="outreach_reach"
    )
    contact_version = models.PositiveIntegerField()
    profile = models.ForeignKey(ReachProfile, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"{self.contact_id} → {self.profile_id}"
