"""What the mails of reminders and digests share: one SMTP connection per delivery run,
the claim's stale period, how a failed send is judged (refused for good, or to be
tried again later), absolute links, and the count of what a run did."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from smtplib import SMTPDataError, SMTPException, SMTPRecipientsRefused, SMTPResponseException

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q

logger = logging.getLogger("rapport.activity.services.reminders")

EMAIL_CLAIM_STALE = dt.timedelta(minutes=5)
# How long to wait before the next try after 1, 2, 3, 4 or more failures in a row that
# may pass (the server said "try later", could not be reached or did not answer).
RETRY_AFTER = tuple(dt.timedelta(minutes=m) for m in (1, 5, 15, 60))


@dataclass
class Delivery:
    """What one delivery run did."""

    notified: int = 0
    mailed: int = 0
    failed: int = 0  # to be tried again later
    digests: int = 0
    refused: int = 0  # refused by the server for good: not tried again

    @property
    def did_anything(self) -> bool:
        return bool(self.notified or self.mailed or self.failed or self.digests or self.refused)


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


def free_to_retry(now: dt.datetime, field: str = "email_retry_at") -> Q:
    """Rows whose back-off after a failed send is over (or that never failed)."""
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lte": now})


def retry_after(failures: int) -> dt.timedelta:
    """How long to wait after ``failures`` failed tries in a row: 1, 5, 15, then 60
    minutes."""
    return RETRY_AFTER[min(max(failures, 1), len(RETRY_AFTER)) - 1]


def wait_text(failures: int) -> str:
    """The back-off after ``failures`` in words: "1 minute", "5 minutes"."""
    minutes = retry_after(failures) // dt.timedelta(minutes=1)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@dataclass(frozen=True)
class SendFailure:
    """Why a mail was not sent: ``reply`` is the server's own words (code and text) or
    what went wrong on the way; ``permanent`` when the server refused this mail for good
    (a 5xx reply to its recipient or to the message itself), so trying again cannot
    help."""

    permanent: bool
    reply: str


def _words(text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(text.split())


def send_failure(exc: BaseException) -> SendFailure:
    """Judge a failed send. Only a 5xx reply that concerns the mail itself is final: the
    recipient refused (at RCPT) or the message refused (after DATA). Everything else may
    pass and is tried again with a back-off: a 4xx reply, a refused connection, a
    timeout, and 5xx replies about the server's own set-up (its greeting, the sender
    address, authentication), which an administrator can put right."""
    if isinstance(exc, SMTPRecipientsRefused):
        replies = list(exc.recipients.values())
        words = "; ".join(f"{code} {_words(text)}" for code, text in replies)
        final = bool(replies) and all(500 <= code < 600 for code, _ in replies)
        return SendFailure(final, words or "the server refused the recipient")
    if isinstance(exc, SMTPResponseException):
        words = f"{exc.smtp_code} {_words(exc.smtp_error)}".strip()
        return SendFailure(isinstance(exc, SMTPDataError) and 500 <= exc.smtp_code < 600, words)
    return SendFailure(False, _words(f"{type(exc).__name__}: {exc}"))


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
