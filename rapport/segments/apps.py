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


class SegmentsConfig(AppConfig):
    name = "rapport.segments"
    label = "segments"
    verbose_name = "Segments"

    def ready(self) -> None:
        from rapport.core import hooks
        from rapport.core.schedule import register_duty

        # who is in a segment is recorded again after contacts change, and every 15
        # minutes whatever happens (queries that count time change with the clock)
        hooks.on_contacts_saved(_mark_stale)
        hooks.on_contacts_merged(_mark_stale)
        hooks.on_contacts_unmerged(_mark_stale)
        register_duty("segments.refresh", timedelta(minutes=1), _enqueue_due)
