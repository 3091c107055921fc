from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from rapport.core.navigation import navigation_for
from rapport.core.policy import allowed_actions


class _Perms:
    """Lets templates ask ``{% if perms_.contacts_change %}``."""

    def __init__(self, actions: frozenset[str]) -> None:
        self._actions = actions

    def __getattr__(self, name: str) -> bool:
        # Compare with dots turned into underscores: areas such as "custom_fields" hold one.
        return any(action.replace(".", "_") == name for action in self._actions)


def policy(request: HttpRequest) -> dict[str, Any]:
    # The navigation is a callable so fragments that never show it never build it.
    return {
        "can": _Perms(allowed_actions(getattr(request, "user", None))),
        "nav": lambda: navigation_for(request),
    }
