from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.http import HttpRequest


def _contact_panels(request: HttpRequest, contact: Any) -> list[Any]:
    # the views load with the first page that shows them, not with every command
    from rapport.activity.views.timeline import contact_panels

    return contact_panels(request, contact)


def _organization_panels(request: HttpRequest, org: Any) -> list[Any]:
    from rapport.activity.views.timeline import organization_panels

    return organization_panels(request, org)


def _demo(first_contact_id: int) -> None:
    from rapport.activity.demo import demo_activity_load

    demo_activity_load(first_contact_id)


def _calendar_refreshes() -> None:
    # imported when the duty runs: the iCalendar libraries stay out of every command
    from rapport.activity.calendar.subscriptions import subscriptions_enqueue_due

    subscriptions_enqueue_due()


def _mailbox_syncs() -> None:
    # imported when the duty runs: the IMAP client stays out of every command
    from rapport.activity.mail.imap.tasks import mailboxes_enqueue_due

    mailboxes_enqueue_due()


class ActivityConfig(AppConfig):
    name = "rapport.activity"
    label = "activity"

    def ready(self) -> None:
        from datetime import timedelta

        from rapport.activity.services import participants
        from rapport.core import hooks, panels
        from rapport.core.schedule import register_duty

        # a contact created, imported or edited takes over the mail and calls that
        # were waiting for its email or number; a merge or an undone merge recomputes
        # "last contacted" and "next step" of everyone involved
        hooks.on_contacts_saved(participants.participants_link_contacts)
        hooks.on_contacts_merged(participants.participants_after_merge)
        hooks.on_contacts_unmerged(participants.participants_after_merge)
        hooks.on_demo_loaded(_demo)

        # the timeline and the relationship box on contact and organization pages
        panels.register_panels("contact", _contact_panels)
        panels.register_panels("organization", _organization_panels)
        # meetings logged ahead of time count as contact once they have happened
        register_duty(
            "activity.contacted_catch_up", timedelta(minutes=10), participants.contacts_catch_up
        )
        # subscribed calendars due for a refresh each get a background task
        register_duty("calendar.subscriptions", timedelta(minutes=1), _calendar_refreshes)
        self._ready_tasks()

    def _ready_tasks(self) -> None:
        from datetime import timedelta

        from rapport.activity import reminder_tasks
        from rapport.activity.services import keep_in_touch
        from rapport.core import hooks, schedule

        # a contact that gains or loses a tag with a keep-in-touch cadence moves its
        # reach-out day; reminders falling due are delivered every minute, birthdays,
        # anniversaries and reach-out days planned every quarter of an hour
        hooks.on_contacts_saved(keep_in_touch.keep_in_touch_after_contacts_saved)
        schedule.register_duty(
            "activity.reminders.deliver", timedelta(minutes=1), reminder_tasks.deliver_duty
        )
        schedule.register_duty(
            "activity.reminders.plan", timedelta(minutes=15), reminder_tasks.plan_duty
        )
        # mailboxes whose next sync is due each get a background task
        schedule.register_duty("mailboxes.sync", timedelta(minutes=1), _mailbox_syncs)

        from rapport.activity.models import MailImport
        from rapport.core.jobs import job_kind_register

        # a mail import whose worker died is marked interrupted, to be resumed
        job_kind_register(
            MailImport,
            running=MailImport.Status.RUNNING,
            stopped=MailImport.Status.INTERRUPTED,
            message="rapport.activity.mail.imports.mail_import_stopped_message",
        )
