from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from importlib import import_module
from typing import Any

from django.apps import AppConfig


def _later(path: str) -> Callable[..., Any]:
    """``module:function``, imported when first called (see rapport.activity.apps)."""
    module, _, name = path.partition(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(import_module(module), name)(*args, **kwargs)

    call.__qualname__ = call.__name__ = path
    return call


class PrivacyConfig(AppConfig):
    name = "rapport.privacy"
    label = "privacy"

    def ready(self) -> None:
        from rapport.core import hooks, panels, subjects
        from rapport.core.jobs import job_kind_register
        from rapport.core.schedule import register_duty
        from rapport.privacy import checks  # noqa: F401 (registers the system checks)
        from rapport.privacy.models import SubjectExport

        # nobody erased comes back through a form, an import or the API without an
        # admin re-admitting them
        hooks.on_contacts_admitting(_later("rapport.privacy.suppression:admission_check"))
        # archives kept on the server are part of what an erasure removes
        subjects.register_provider("exports", "rapport.privacy.subject_data:PROVIDER")
        # the privacy box on a contact's page
        panels.register_panels("contact", _later("rapport.privacy.views:contact_panels"))
        register_duty(
            "privacy.retention", timedelta(days=1), _later("rapport.privacy.tasks:retention_duty")
        )
        register_duty(
            "privacy.exports.expire",
            timedelta(hours=1),
            _later("rapport.privacy.tasks:expire_duty"),
        )
        job_kind_register(
            SubjectExport,
            running=SubjectExport.Status.RUNNING,
            stopped=SubjectExport.Status.FAILED,
            message="rapport.privacy.services.exports:export_stopped_message",
        )
