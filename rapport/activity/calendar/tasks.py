"""Background tasks of calendar capture: they only call services."""

from __future__ import annotations

from django_tasks import task

from rapport.activity.calendar.subscriptions import subscription_refresh
from rapport.core.schedule import routine


@routine
@task()
def refresh_subscription(subscription_id: int) -> None:
    """Refresh one subscribed calendar (it logs at INFO only what changed)."""
    subscription_refresh(subscription_id=subscription_id)
