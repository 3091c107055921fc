"""Sections a newer area adds to a record's page (a contact's timeline, an
organization's), without the record's app knowing that area.

The contacts views ask ``panels_for(request, "contact", contact)`` and render what comes
back where the page has room for it; the activity app registers its timeline in
``AppConfig.ready()``. A panel that ``replaces`` a section of the page (the plain change
history, which a timeline includes) hides it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.utils.safestring import SafeString


@dataclass(frozen=True)
class Panel:
    html: SafeString
    place: str = "main"  # "main" (the record's column) or "side"
    order: int = 100
    replaces: tuple[str, ...] = ()


@dataclass
class Panels:
    main: list[Panel] = field(default_factory=list)
    side: list[Panel] = field(default_factory=list)
    replaced: set[str] = field(default_factory=set)


PanelSource = Callable[[HttpRequest, Any], list[Panel]]
_sources: dict[str, list[PanelSource]] = {}


def register_panels(kind: str, source: PanelSource) -> None:
    """Call ``source(request, record)`` for the panels of every ``kind`` page
    ("contact", "organization")."""
    if source not in _sources.setdefault(kind, []):
        _sources[kind].append(source)


def panels_for(request: HttpRequest, kind: str, record: Any) -> Panels:
    found = Panels()
    for source in _sources.get(kind, []):
        for panel in source(request, record):
            (found.main if panel.place == "main" else found.side).append(panel)
            found.replaced.update(panel.replaces)
    found.main.sort(key=lambda p: p.order)
    found.side.sort(key=lambda p: p.order)
    return found


@dataclass(frozen=True)
class PhoneAction:
    """A button beside a phone number on a record's page (Call, SMS): a POST to ``url``.
    When any is offered, the number is no bare ``tel:`` link, so calls go through it."""

    label: str
    url: str


PhoneActionSource = Callable[[HttpRequest, Any, Any], list[PhoneAction]]
_phone_sources: list[PhoneActionSource] = []


def register_phone_actions(source: PhoneActionSource) -> None:
    """Call ``source(request, contact, phone)`` for the buttons beside each of a
    contact's phone numbers."""
    if source not in _phone_sources:
        _phone_sources.append(source)


def phone_actions_for(
    request: HttpRequest, contact: Any, phones: Any
) -> dict[int, list[PhoneAction]]:
    """The buttons for each of ``phones`` (by pk), from every registered source."""
    return {
        phone.pk: [
            action for source in _phone_sources for action in source(request, contact, phone)
        ]
        for phone in phones
    }
