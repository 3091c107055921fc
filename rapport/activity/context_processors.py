"""What every page of the app shell needs from the activity area: the unread count."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from rapport.activity.services.notifications import unread_count


def notifications(request: HttpRequest) -> dict[str, Any]:
    """``unread_notifications``: counted (one COUNT on the partial index of unread
    notifications) only when a template shows it, so fragments cost nothing."""
    user = getattr(request, "user", None)
    return {"unread_notifications": SimpleLazyObject(lambda: unread_count(user=user))}
