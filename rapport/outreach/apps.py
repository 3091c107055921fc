from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from importlib import import_module
from typing import Any

from django.apps import AppConfig


def _later(path: str) -> Callable[..., Any]:
    """``module:function``, imported when first called (phone number and holiday data
    load with the first contact write or page that needs them, not with every command)."""
    module, _, name = path.partition(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(import_module(module), name)(*args, **kwargs)

    call.__qualname__ = call.__name__ = path
    return call


class OutreachConfig(AppConfig):
    name = "rapport.outreach"
    label = "outreach"
    verbose_name = "Outreach"

    def ready(self) -> None:
        from rapport.core import hooks, listing, panels, subjects
        from rapport.core.schedule import register_duty

        # subject access exports and erasures: messages, preferences, attempts, where they are
        subjects.register_provider("outreach", "rapport.outreach.subject_data:PROVIDER")
        # where a contact is (time zone, country) follows their addresses and phones
        reach = "rapport.outreach.services.reach"
        hooks.on_contacts_saved(_later(f"{reach}:reach_after_contacts_saved"))
        hooks.on_contacts_merged(_later(f"{reach}:reach_after_merge"))
        hooks.on_contacts_unmerged(_later(f"{reach}:reach_after_merge"))
        hooks.on_demo_loaded(_later(f"{reach}:reach_after_demo"))
        # "unsubscribe TOKEN" mails to the List-Unsubscribe mailto address
        hooks.on_mail_arrived(_later("rapport.outreach.services.public:unsubscribe_by_mail"))
        # writes that reached the database without the hooks are caught up by a sweep
        from rapport.outreach.models.reach import SWEEP_EVERY

        register_duty("outreach.reach", SWEEP_EVERY, _later(f"{reach}:reach_sweep"))
        # queued messages go out when the gate's window opens (asked again then)
        register_duty(
            "outreach.messages",
            timedelta(minutes=1),
            _later("rapport.outreach.tasks:deliver_duty"),
        )
        # a bulk send whose worker died goes on in the next one, where it stopped
        from rapport.core.jobs import job_kind_register
        from rapport.outreach.models import BulkSend

        job_kind_register(
            BulkSend,
            running=BulkSend.Status.RUNNING,
            stopped=BulkSend.Status.FAILED,
            message="rapport.outreach.services.bulk.bulk_send_stopped_message",
            resume="rapport.outreach.services.bulk.bulk_send_resume",
        )

        # exports made for a campaign leave out whoever the gate would not let through
        from rapport.core.audiences import register_audience_filter

        register_audience_filter(
            _later("rapport.outreach.selectors.reachable:contacts_for_campaign")
        )

        # "Email OK now · Phone from Tue 09:00" on contact pages and in the contact list
        panels.register_panels("contact", _later("rapport.outreach.views.panels:contact_panels"))
        # Call / SMS beside a contact's numbers ask the gate and log the attempt
        panels.register_phone_actions(_later("rapport.outreach.views.panels:phone_actions"))
        panels.register_panels(
            "organization", _later("rapport.outreach.views.panels:organization_panels")
        )
        listing.register_column(
            "contacts",
            listing.ListColumn(
                key="reachability",
                label="Reachable now",
                render=_later("rapport.outreach.views.panels:reachability_cells"),
                stylesheet="outreach/outreach.css",
            ),
        )
        # the contact list's bulk bar: "Send email…" opens the bulk send form
        listing.register_bulk_action(
            "contacts",
            listing.ListBulkAction(
                key="send_email",
                label="Send email…",
                url="outreach:bulk_new",
                permission="messages.send",
            ),
        )
        listing.register_filter(
            "contacts",
            listing.ListFilter(
                key="reachable",
                label="Reachable now by",
                choices=_later("rapport.outreach.views.panels:reachable_choices"),
                apply=_later("rapport.outreach.selectors.reachable:contacts_reachable_filter"),
            ),
        )
