"""Background work of the segments area: the periodic duty finds the segments to record
again, one task per segment records who entered and left; customer value every hour,
then predicted value; scores when their rules change and every hour; order imports."""

from __future__ import annotations

from django_tasks import task

from rapport.core import jobs
from rapport.core.schedule import routine
from rapport.segments.services import (
    clv_available,
    rfm_refresh,
    score_refresh_due,
    scores_due,
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


@task()
@jobs.job_task
def run_order_import(batch_id: int) -> None:
    from rapport.segments.services import orders_import_run

    orders_import_run(batch_id=batch_id)


def resume_order_import(batch_id: int) -> None:
    """A running import whose worker died is queued again; its run takes it over where
    the last group of rows ended."""
    run_order_import.enqueue(batch_id=batch_id)


@routine
@task()
@jobs.job_task
def refresh_score(score_id: int) -> None:
    score_refresh_due(score_id=score_id)


def scores_enqueue_due() -> None:
    """The periodic duty: a task for each score whose rules changed or that was not
    computed for an hour."""
    for score_id in scores_due():
        refresh_score.enqueue(score_id=score_id)


@routine
@task()
@jobs.job_task
def refresh_predicted_value() -> None:
    """Predicted value from the customer value just computed: a task of its own, so a
    fit that fails leaves the historical value done. Skipped without the ``clv`` extra
    (the page says what to install)."""
    if clv_available():
        value_model_fit()
