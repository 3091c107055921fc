"""Background work of the segments area: the periodic duty finds the segments to record
again, one task per segment records who entered and left; the hourly one recomputes
customer value, then predicted value."""

from __future__ import annotations

from django_tasks import task

from rapport.core import jobs
from rapport.core.schedule import routine
from rapport.segments.services import (
    clv_available,
    rfm_refresh,
    segment_refresh,
    segments_due,
    value_model_fit,
)


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
    refresh_predicted_value.enqueue()


@routine
@task()
@jobs.job_task
def refresh_predicted_value() -> None:
    """Predicted value from the customer value just computed: a task of its own, so a
    fit that fails leaves the historical value done. Skipped without the ``clv`` extra
    (the page says what to install)."""
    if clv_available():
        value_model_fit()
