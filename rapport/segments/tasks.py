"""Background work of the segments area: the periodic duty finds the segments to record
again, one task per segment records who entered and left."""

from __future__ import annotations

from django_tasks import task

from rapport.core import jobs
from rapport.core.schedule import routine
from rapport.segments.services import rfm_refresh, segment_refresh, segments_due


@routine
@task()
@jobs.job_task
def refresh_segment(segment_id: int) -> None:
    segment_refresh(segment_id=segment_id)


def segments_enqueue_due() -> None:
    """The periodic duty: a refresh task for each segment that is due."""
    for segment_id in segments_due():
        refresh_segment.enqueue(segment_id=segment_id)


@routine
@task()
@jobs.job_task
def refresh_customer_value() -> None:
    rfm_refresh()
