from __future__ import annotations

from django.apps import AppConfig


def _calendar_refreshes() -> None:
    # imported when the duty runs: the iCalendar libraries stay out of every command
    from rapport.activity.calendar.subscriptions import subscriptions_enqueue_due

    subscriptions_enqueue_due()


class ActivityConfig(AppConfig):
    name = "rapport.activity"
    label = "activity"

    def ready(self) -> None:
        from datetime import timedelta

        from rapport.activity.services import participants
        from rapport.core import hooks
        from rapport.core.schedule import register_duty

        # a contact created, imported or edited takes over the mail and calls that
        # were waiting for its email or number; a merge or an undone merge recomputes
        # "last contacted" and "next step" of everyone involved
        hooks.on_contacts_saved(participants.participants_link_contacts)
        hooks.on_contacts_merged(participants.participants_after_merge)
        hooks.on_contacts_unmerged(participants.participants_after_merge)
        # subscribed calendars due for a refresh each get a background task
        register_duty("calendar.subscriptions", timedelta(minutes=1), _calendar_refreshes)
