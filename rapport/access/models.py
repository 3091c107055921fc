"""Users with a role, personal API tokens, and the change history of every record."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models

from rapport.core import policy


class User(AbstractUser):
    """A person who signs in. ``role`` decides what the policy module allows."""

    class Role(models.TextChoices):
        ADMIN = policy.ADMIN, "Admin"
        MEMBER = policy.MEMBER, "Member"
        READ_ONLY = policy.READ_ONLY, "Read-only"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    # Reminders and digests are timed in the user's own zone (empty: the server's).
    time_zone = models.CharField(max_length=64, blank=True)
    # One mail a day listing the day's reminders instead of one mail per reminder.
    reminder_digest = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 hash of the secret is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'token'})"


class AppPassword(models.Model):
    """A password for one device or program that cannot use the sign-in page (an
    address-book client over CardDAV): separate from the login password, limited to
    ``scope``, revocable one by one. Only a SHA-256 hash of the secret is stored (the
    secret is 100 random bits, so a slow hash adds nothing)."""

    class Scope(models.TextChoices):
        CARDDAV = "carddav", "Address books (CardDAV)"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="app_passwords"
    )
    name = models.CharField(max_length=100, blank=True)
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.CARDDAV)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_ip = models.CharField(max_length=45, blank=True)
    last_user_agent = models.CharField(max_length=200, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or self.get_scope_display()})"


class ChangeRecord(models.Model):
    """One create, update, delete (or merge) of a record: who, when, and old → new values.

    ``changes`` maps a field name to ``[old, new]``; list fields such as emails hold
    the whole list before and after.
    """

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"
        MERGE = "merge", "Merged"
        UNMERGE = "unmerge", "Unmerged"

    object_type = models.CharField(max_length=32)
    object_id = models.BigIntegerField()
    object_repr = models.CharField(max_length=300)
    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=16, default="ui")
    at = models.DateTimeField(auto_now_add=True)
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_type} {self.object_repr}"

    @property
    def via_display(self) -> str:
        """How the change came in, in words: "API", or "CardDAV (Alice's iPhone)" for
        an address-book client signed in with that app password (names read for a whole
        list at once by ``with_device_names``)."""
        kind, _, device = self.via.partition(":")
        if kind != "carddav":
            return self.via.upper()
        names = getattr(self, "_device_names", None)
        if names is None:
            names = device_names([self])
        name = names.get(device, "")
        return f"CardDAV ({name})" if name else "CardDAV"


def device_names(records: list[ChangeRecord]) -> dict[str, str]:
    """The app password names the ``carddav:<id>`` records name, in one query."""
    ids = {r.via.partition(":")[2] for r in records if r.via.startswith("carddav:")} - {""}
    wanted = [int(i) for i in ids if i.isdecimal() and len(i) < 19]
    if not wanted:
        return {}
    return {
        str(pk): name
        for pk, name in AppPassword.objects.filter(pk__in=wanted).values_list("pk", "name")
    }


def with_device_names(records: list[ChangeRecord]) -> list[ChangeRecord]:
    """``records``, each knowing the device names its ``via_display`` needs."""
    names = device_names(records)
    for record in records:
        record._device_names = names  # type: ignore[attr-defined]
    return records
