"""What the mails of reminders and digests share: one SMTP connection per delivery run,
the claim's stale period, absolute links, and the count of what a run did."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q

logger = logging.getLogger("rapport.activity.services.reminders")

EMAIL_CLAIM_STALE = dt.timedelta(minutes=5)


@dataclass
class Delivery:
    """What one delivery run did."""

    notified: int = 0
    mailed: int = 0
    failed: int = 0
    digests: int = 0

    @property
    def did_anything(self) -> bool:
        return bool(self.notified or self.mailed or self.failed or self.digests)


def claim_stale_after() -> dt.timedelta:
    """How old a mail claim must be before another worker takes it over: longer than a
    live worker can hold one. A claim is held while one mail is sent, and each SMTP step
    (connect, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, the message) waits at most
    EMAIL_TIMEOUT; so only the claim of a worker that died (or hangs without a timeout)
    goes stale."""
    timeout = float(getattr(settings, "EMAIL_TIMEOUT", None) or 0)
    return max(EMAIL_CLAIM_STALE, dt.timedelta(seconds=10 * timeout))


def free_to_mail(stale_before: dt.datetime) -> Q:
    """Reminders whose mail no live worker has claimed."""
    return Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=stale_before)


def base_url() -> str:
    return str(getattr(settings, "RAPPORT_BASE_URL", "") or "").rstrip("/")


def link(path: str) -> str:
    """``path`` made absolute with RAPPORT_BASE_URL, when it is set."""
    return f"{base_url()}{path}" if path and base_url() else path


class Mailer:
    """One SMTP connection for a delivery run, opened with its first mail and closed
    (QUIT) at the end, so that each mail is recorded as sent as soon as the server has
    accepted it rather than after the goodbye. A failed send drops the connection; the
    next mail opens a new one."""

    def __init__(self) -> None:
        self.connection = get_connection()
        self.opened = False

    def send(self, subject: str, body: str, to: str) -> None:
        message = EmailMessage(subject=subject, body=body, to=[to], connection=self.connection)
        try:
            if not self.opened:
                self.connection.open()
                self.opened = True
            if not message.send():
                raise SMTPException("the mail backend sent nothing")
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self.opened:
            self.opened = False
            try:
                self.connection.close()
            except Exception:  # noqa: BLE001 - the mails are sent; a failed QUIT is harmless
                logger.debug("Closing the SMTP connection failed", exc_info=True)
