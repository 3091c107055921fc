"""Background tasks of the consent area: they only call services. The hourly expiry
is routine (quiet in the log unless it wrote something, see ``core.schedule``)."""

from __future__ import annotations

import logging

from django_tasks import task

from rapport.core.schedule import routine

logger = logging.getLogger(__name__)


@task()
def send_signup_confirmation(event_id: int, base_url: str) -> None:
    from rapport.consent.services.signup import signup_confirmation_send

    signup_confirmation_send(event_id=event_id, base_url=base_url)


@routine
@task()
def expire_lapsed() -> None:
    from rapport.consent.services.upkeep import consent_expire_lapsed

    written = consent_expire_lapsed()
    if written:
        logger.info("Consent: %s lapsed grants written down as expired", written)


def expire_duty() -> None:
    expire_lapsed.enqueue()
