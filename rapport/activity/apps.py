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

        from rapport.activity.models import MailImport
        from rapport.core.jobs import job_kind_register

        # a mail import whose worker died is marked interrupted, to be resumed
        job_kind_register(
            MailImport,
            running=MailImport.Status.RUNNING,
            stopped=MailImport.Status.INTERRUPTED,
            message="rapport.activity.mail.imports.mail_import_stopped_message",
        )
