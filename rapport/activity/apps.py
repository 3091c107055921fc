from __future__ import annotations

from django.apps import AppConfig


class ActivityConfig(AppConfig):
    name = "rapport.activity"
    label = "activity"

    def ready(self) -> None:
        from rapport.activity.services import participants
        from rapport.core import hooks

        # a contact created, imported or edited takes over the mail and calls that
        # were waiting for its email or number; a merge or an undone merge recomputes
        # "last contacted" and "next step" of everyone involved
        hooks.on_contacts_saved(participants.participants_link_contacts)
        hooks.on_contacts_merged(participants.participants_after_merge)
        hooks.on_contacts_unmerged(participants.participants_after_merge)
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
