from __future__ import annotations

from django.apps import AppConfig


class ActivityConfig(AppConfig):
    name = "rapport.activity"
    label = "activity"

    def ready(self) -> None:
        from datetime import timedelta

        from rapport.activity.mail.imap.tasks import mailboxes_enqueue_due
        from rapport.activity.services import participants
        from rapport.core import hooks, schedule

        # a contact created, imported or edited takes over the mail and calls that
        # were waiting for its email or number; a merge or an undone merge recomputes
        # "last contacted" and "next step" of everyone involved
        hooks.on_contacts_saved(participants.participants_link_contacts)
        hooks.on_contacts_merged(participants.participants_after_merge)
        hooks.on_contacts_unmerged(participants.participants_after_merge)
        # mailboxes whose next sync is due each get a background task
        schedule.register_duty("mailboxes.sync", timedelta(minutes=1), mailboxes_enqueue_due)
