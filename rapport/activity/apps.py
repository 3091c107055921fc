from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from importlib import import_module
from typing import Any

from django.apps import AppConfig


def _later(path: str) -> Callable[..., Any]:
    """``module:function``, imported when first called: what the activity area does on
    a contact write, a page or a schedule loads with the first of them, not with every
    command (the services bring phone number and calendar libraries with them)."""
    module, _, name = path.partition(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(import_module(module), name)(*args, **kwargs)

    call.__qualname__ = call.__name__ = path
    return call


class ActivityConfig(AppConfig):
    name = "rapport.activity"
    label = "activity"

    def ready(self) -> None:
        from rapport.activity.models import MailImport
        from rapport.core import hooks, panels, subjects
        from rapport.core.jobs import job_kind_register
        from rapport.core.schedule import register_duty

        services = "rapport.activity.services"
        # a contact created, imported or edited takes over the mail and calls that
        # were waiting for its email or number, and one that gains or loses a tag with
        # a keep-in-touch cadence moves its reach-out day; a merge or an undone merge
        # recomputes "last contacted" and "next step" of everyone involved
        hooks.on_contacts_saved(_later(f"{services}.participants:participants_link_contacts"))
        hooks.on_contacts_saved(
            _later(f"{services}.keep_in_touch:keep_in_touch_after_contacts_saved")
        )
        hooks.on_contacts_merged(_later(f"{services}.participants:participants_after_merge"))
        hooks.on_contacts_unmerged(_later(f"{services}.participants:participants_after_merge"))
        hooks.on_demo_loaded(_later("rapport.activity.demo:demo_activity_load"))

        # the timeline and the relationship box on contact and organization pages
        panels.register_panels("contact", _later("rapport.activity.views.timeline:contact_panels"))
        panels.register_panels(
            "organization", _later("rapport.activity.views.timeline:organization_panels")
        )

        # interactions, tasks and reminders in privacy requests
        subjects.register_provider("activity", "rapport.activity.subject_data:PROVIDER")

        # periodic duties: each only finds the work and enqueues background tasks
        for name, every, path in (
            # meetings logged ahead of time count as contact once they have happened
            ("activity.contacted_catch_up", 10, f"{services}.participants:contacts_catch_up"),
            # reminders falling due; birthdays, anniversaries and reach-out days planned
            ("activity.reminders.deliver", 1, "rapport.activity.reminder_tasks:deliver_duty"),
            ("activity.reminders.plan", 15, "rapport.activity.reminder_tasks:plan_duty"),
            # subscribed calendars and mailboxes whose refresh or sync is due
            (
                "calendar.subscriptions",
                1,
                "rapport.activity.calendar.subscriptions:subscriptions_enqueue_due",
            ),
            ("mailboxes.sync", 1, "rapport.activity.mail.imap.tasks:mailboxes_enqueue_due"),
            # attachment files no row points at (left by a capture killed half-way, or
            # a deletion cut short) removed
            ("activity.attachments.sweep", 60, "rapport.activity.mail.tasks:attachment_files_duty"),
        ):
            register_duty(name, timedelta(minutes=every), _later(path))

        # a mail import whose worker died is marked interrupted, to be resumed
        job_kind_register(
            MailImport,
            running=MailImport.Status.RUNNING,
            stopped=MailImport.Status.INTERRUPTED,
            message="rapport.activity.mail.imports.mail_import_stopped_message",
        )
