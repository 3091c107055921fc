from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from importlib import import_module
from typing import Any

from django.apps import AppConfig


def _later(path: str) -> Callable[..., Any]:
    """``module:function``, imported when first called, so commands that never touch
    consent do not load its services (and the cryptography library) at start."""
    module, _, name = path.partition(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(import_module(module), name)(*args, **kwargs)

    call.__qualname__ = call.__name__ = path
    return call


class ConsentConfig(AppConfig):
    name = "rapport.consent"
    label = "consent"

    def ready(self) -> None:
        from rapport.core import hooks, panels, subjects
        from rapport.core.schedule import register_duty

        upkeep = "rapport.consent.services.upkeep"
        # the ledger rows of merged contacts count for the survivor (and go back to
        # their own contacts when the merge is undone); the rows themselves never change
        hooks.on_contacts_merged(_later(f"{upkeep}:consent_after_merge"))
        hooks.on_contacts_unmerged(_later(f"{upkeep}:consent_after_unmerge"))
        # subject access exports and erasures reach the ledger (forgetting a person
        # destroys their data key: the rows stay, unreadable)
        subjects.register_provider("consent", "rapport.consent.subject_data:PROVIDER")
        # a new installation's demo gets purposes and a consent history
        hooks.on_demo_loaded(_later("rapport.consent.demo:demo_consent_load"))
        # the consent box on a contact's page
        panels.register_panels("contact", _later("rapport.consent.views.contact:contact_panels"))
        # grants whose purpose's retention ran out get an "expire" row, so the history
        # says so (the gate already treats them as lapsed without it)
        register_duty(
            "consent.expire", timedelta(hours=1), _later("rapport.consent.tasks:expire_duty")
        )
