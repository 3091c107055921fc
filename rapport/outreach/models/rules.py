"""Legal calling rules: data admins can add and change, seeded with US, Florida and France."""

from __future__ import annotations

from django.db import models


class CallingRule(models.Model):
    """What the law of a country (or one of its subdivisions) allows when reaching people.

    A rule covers the ``channels`` listed, for the ``purposes`` listed (empty: every
    purpose). ``hours`` (same form as preferences: ``{"mon": ["10:00-13:00", …]}``, in
    the recipient's local time; None: no hour limit), ``no_public_holidays``, at most
    ``max_attempts`` per ``attempts_period_days`` on its channels, and
    ``refusal_silence_days`` of silence after the person refused. Every active rule whose
    place matches the contact applies, all together: a US-FL contact follows both the US
    rule and the Florida one. ``subdivision`` is the ISO 3166-2 part after the dash
    ("FL"); "" covers the whole country.
    """

    # US, US-FL and FR come with the schema (a data migration): an installation that
    # holds only those is still empty for `rapport restore`.
    ROWS_SHIPPED_BY_MIGRATIONS = True

    name = models.CharField(max_length=100)
    country = models.CharField(max_length=2, db_index=True)
    subdivision = models.CharField(max_length=10, blank=True)
    channels = models.JSONField(default=list)
    purposes = models.JSONField(default=list, blank=True)
    hours = models.JSONField(null=True, blank=True)
    no_public_holidays = models.BooleanField(default=False)
    max_attempts = models.PositiveIntegerField(null=True, blank=True)
    attempts_period_days = models.PositiveIntegerField(null=True, blank=True)
    refusal_silence_days = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(max_length=300, blank=True)
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["country", "subdivision", "name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def place(self) -> str:
        return f"{self.country}-{self.subdivision}" if self.subdivision else self.country

    @property
    def etag(self) -> str:
        return f'"rule-{self.pk}-{self.version}"'
