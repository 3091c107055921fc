"""The one place that decides who may do what.

Views, API handlers, CLI commands and exports ask ``can()`` or ``require()``; none of
them re-implements a check. Later areas (teams, record ownership, sensitive fields)
extend the rules here.
"""

from __future__ import annotations

from typing import Any

from rapport.core.errors import NotPermitted

ADMIN = "admin"
MEMBER = "member"
READ_ONLY = "readonly"

# What each role may do. Actions are "<area>.<verb>".
_READ = {
    "contacts.view",
    "contacts.export",
    "organizations.view",
    "organizations.export",
    "tags.view",
    "custom_fields.view",
    "tokens.own",
    "quality.view",
    "interactions.view",
    "tasks.view",
    "notifications.own",
    "consent.view",
    "privacy.records",
    "segments.view",
    "orders.view",
    "insights.view",
}
_WRITE = {
    "contacts.add",
    "contacts.change",
    "contacts.delete",
    "organizations.add",
    "organizations.change",
    "organizations.delete",
    "affiliations.change",
    "tags.add",
    "imports.run",
    "enrichment.apply",
    "contacts.merge",
    "organizations.merge",
    "duplicates.review",
    "interactions.add",
    "interactions.change",
    "interactions.delete",
    "mail.import",
    "mailboxes.own",
    "calendars.import",
    "tasks.add",
    "tasks.change",
    "tasks.delete",
    "attempts.add",
    "consent.record",
    "messages.send",
    "segments.change",
    "orders.change",
}
_ADMIN = {
    "tags.manage",
    "custom_fields.manage",
    "users.manage",
    "mail.never_log",
    "calling_rules.manage",
    "purposes.manage",
    "consent.maintain",
    "templates.manage",
    # Scores are the workspace's shared yardstick (segments, sorting and automation rely
    # on them): admins define their rules, everyone who sees segments sees the values.
    "scores.manage",
    # Privacy requests are admins' work: an export holds everything about the person,
    # private notes included (which only admins see), and an erasure cannot be undone.
    "privacy.export",
    "privacy.erase",
    "privacy.readmit",
    "privacy.retention",
    # KPI goals are the workspace's strategy: admins set them
    "kpis.manage",
    "metrics.snapshot",
}

_RULES: dict[str, frozenset[str]] = {
    READ_ONLY: frozenset(_READ),
    MEMBER: frozenset(_READ | _WRITE),
    ADMIN: frozenset(_READ | _WRITE | _ADMIN),
}

ACTIONS = frozenset(_READ | _WRITE | _ADMIN)


def role_of(actor: Any) -> str | None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    if not getattr(actor, "is_active", False):
        return None
    if getattr(actor, "is_superuser", False):
        return ADMIN
    return str(getattr(actor, "role", READ_ONLY))


def can(actor: Any, action: str, obj: Any = None) -> bool:
    """True when ``actor`` may perform ``action`` (optionally on ``obj``)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    role = role_of(actor)
    if role is None:
        return False
    return action in _RULES.get(role, frozenset())


def require(actor: Any, action: str, obj: Any = None) -> None:
    """Raise NotPermitted unless ``actor`` may perform ``action``."""
    if not can(actor, action, obj):
        raise NotPermitted(f"You do not have permission to {action.replace('.', ': ')}.")


def allowed_actions(actor: Any) -> frozenset[str]:
    role = role_of(actor)
    return _RULES.get(role, frozenset()) if role else frozenset()


def sees_all_private(actor: Any) -> bool:
    """Admins see (and may correct) what others marked private."""
    return role_of(actor) == ADMIN


def may_see_private(actor: Any, author_id: int | None, private: bool) -> bool:
    """Whether ``actor`` may see a record its author (``author_id``) may have marked
    private: anyone may see what is not private; only its author and admins what is."""
    if not private:
        return True
    return sees_all_private(actor) or (
        author_id is not None and author_id == getattr(actor, "pk", None)
    )
