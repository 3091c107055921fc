from __future__ import annotations

from datetime import timedelta

from django.apps import AppConfig


def _enqueue_snapshot() -> None:
    from rapport.insights.tasks import take_snapshot

    take_snapshot.enqueue()


def _enqueue_summary() -> None:
    from rapport.insights.tasks import send_monthly_summary

    send_monthly_summary.enqueue()


def _demo(first_contact_id: int) -> None:
    from rapport.insights.demo import demo_insights_load

    demo_insights_load(first_contact_id)


class InsightsConfig(AppConfig):
    name = "rapport.insights"
    label = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        from rapport.core import hooks
        from rapport.core.schedule import register_duty

        # a new installation's demo gets key accounts, KPIs and a year of figures
        hooks.on_demo_loaded(_demo)

        # today's figures every hour (yesterday's are finished by the first run of a day);
        # the monthly KPI summary is looked at every hour and goes out once a month
        register_duty("insights.snapshot", timedelta(hours=1), _enqueue_snapshot)
        register_duty("insights.summary", timedelta(hours=1), _enqueue_summary)
