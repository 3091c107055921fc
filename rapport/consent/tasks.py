"""Background tasks of the consent area: they only call services."""

from __future__ import annotations

from django_tasks import task


@task()
def send_signup_confirmation(event_id: int, base_url: str) -> None:
    from rapport.consent.services.signup import signup_confirmation_send

    signup_confirmation_send(event_id=event_id, base_url=base_url)


@task()
def expire_lapsed() -> None:
    from rapport.consent.services.ledger import consent_expire_lapsed

    consent_expire_lapsed()


def expire_duty() -> None:
    expire_lapsed.enqueue()
