"""Writes for users, API tokens and the change history."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.access.models import ApiToken, ChangeRecord, User

TOKEN_PREFIX = "rpt_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for ``user``; return it with the secret, which is shown only once."""
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=key[:12], key_hash=_hash(key)
    )
    return token, key


def token_authenticate(*, key: str) -> User | None:
    """Return the active user owning ``key``, or None for an unknown or revoked token."""
    if not key.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def change_record(
    *,
    actor: Any,
    object_type: str,
    object_id: int,
    object_repr: str,
    action: str,
    changes: dict[str, Any],
    via: str = "ui",
) -> ChangeRecord:
    """Append one entry to the change history (called by every write service)."""
    return ChangeRecord.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:300],
        action=action,
        changes=changes,
        via=via,
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Fields whose value differs, as ``{field: [old, new]}``."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if _blank(before.get(key)) != _blank(after.get(key))
    }


def _blank(value: Any) -> Any:
    return None if value in ("", [], {}, None) else value
