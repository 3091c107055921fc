from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.apps import AppConfig


def _mark_stale(*args: Any, **kwargs: Any) -> None:
    from rapport.segments.services import segments_mark_stale

    segments_mark_stale()


def _enqueue_due() -> None:
    from rapport.segments.tasks import segments_enqueue_due

    segments_enqueue_due()


def _enqueue_rfm() -> None:
    from rapport.segments.tasks import refresh_customer_value

    refresh_customer_value.enqueue()


def _enqueue_scores() -> None:
    from rapport.segments.tasks import scores_enqueue_due

    scores_enqueue_due()


def _contact_panels(request: Any, contact: Any) -> Any:
    from rapport.segments.views_orders import contact_panels

    return contact_panels(request, contact)


def _demo(first_contact_id: int) -> None:
    from rapport.segments.demo import demo_orders_load

    demo_orders_load(first_contact_id)


def _score_panels(request: Any, contact: Any) -> Any:
    from rapport.segments.views_scores import contact_panels

    return contact_panels(request, contact)


class SegmentsConfig(AppConfig):
    name = "rapport.segments"
    label = "segments"
    verbose_name = "Segments"

    def ready(self) -> None:
        from rapport.core import hooks, listing, panels, subjects
        from rapport.core.schedule import register_duty

        # who is in a segment is recorded again after contacts change, and every 15
        # minutes whatever happens (queries that count time change with the clock)
        hooks.on_contacts_saved(_mark_stale)
        hooks.on_contacts_merged(_mark_stale)
        hooks.on_contacts_unmerged(_mark_stale)
        register_duty("segments.refresh", timedelta(minutes=1), _enqueue_due)
        # customer value (RFM) from the orders, every hour
        register_duty("orders.customer_value", timedelta(hours=1), _enqueue_rfm)
        # scores: within a minute of a change to their rules, and every hour (decay)
        register_duty("scores.refresh", timedelta(minutes=1), _enqueue_scores)
        panels.register_panels("contact", _contact_panels)
        # the contact list's bulk bar: "Add to list…" (the ticked contacts or every match)
        listing.register_bulk_action(
            "contacts",
            listing.ListBulkAction(
                key="add_to_list", label="Add to list…", url="segments:list_add",
                permission="segments.change",
            ),
        )  # fmt: skip
        from rapport.core.jobs import job_kind_register
        from rapport.segments.models import OrderImport

        # an order import whose worker died goes on where it stopped
        job_kind_register(
            OrderImport, running=OrderImport.Status.RUNNING, stopped=OrderImport.Status.FAILED,
            message="rapport.segments.services.order_imports.order_import_stopped_message",
            resume="rapport.segments.tasks.resume_order_import",
        )  # fmt: skip
        # a new installation's demo gets orders, customer value and a few segments
        hooks.on_demo_loaded(_demo)
        panels.register_panels("contact", _score_panels)
        subjects.register_provider("segments", "rapport.segments.subject_data:PROVIDER")
