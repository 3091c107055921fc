"""The drop-box: an SMTP (or LMTP) server an MTA delivers to, for mail users Bcc or
forward to a logging address.

The sender must be a user of this Rapport (the envelope sender, else the From header);
anyone else gets "550". A forward logs the original it carries (attached or inline);
anything else (a message Bcc'd to the drop-box) logs as it is. The server listens on
loopback by default: put it behind the MTA, never on the open internet.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import close_old_connections, connection

from rapport.access.models import User
from rapport.activity.mail.forwards import forwarded_originals
from rapport.activity.mail.intake import CaptureRun, MailOutcome, mail_capture
from rapport.activity.mail.parsing import Unreadable, read_message
from rapport.activity.models import Interaction
from rapport.activity.services.participants import email_key_of
from rapport.contacts import normalize

logger = logging.getLogger(__name__)


def _user_for(addresses: list[str]) -> User | None:
    keys = {email_key_of(a) for a in addresses if a}
    keys.discard("")
    if not keys:
        return None
    for user in User.objects.filter(is_active=True).exclude(email=""):
        if normalize.email_key(user.email) in keys:
            return user
    return None


def dropbox_deliver(raw: bytes, *, envelope_from: str) -> tuple[str, list[MailOutcome]]:
    """Log what one delivery brings; returns the SMTP reply and what became of each
    message. Synchronous: the server runs it in a worker thread."""
    try:
        message = read_message(raw)
    except Unreadable as exc:
        return f"554 5.6.0 {exc}", []
    import email.utils

    senders = [envelope_from] + [
        a for _, a in email.utils.getaddresses([str(message.get("From", ""))])
    ]
    user = _user_for(senders)
    if user is None:
        return "550 5.7.1 The sender is not a user of this Rapport; nothing was logged.", []
    try:
        originals = forwarded_originals(raw) or [raw]
    except Unreadable as exc:
        return f"554 5.6.0 {exc}", []
    run = CaptureRun()
    outcomes = [
        mail_capture(item, owner=user, source=Interaction.Source.DROPBOX, run=run)
        for item in originals
    ]
    for outcome in outcomes:
        logger.info(
            "Drop-box for %s: %s %s %s",
            user.username,
            outcome.status,
            outcome.message_id,
            outcome.reason,
        )
    if all(o.status == "failed" for o in outcomes):
        return f"554 5.6.0 Not logged: {outcomes[0].reason[:200]}", outcomes
    summary = ", ".join(f"{o.status}" + (f" ({o.reason})" if o.reason else "") for o in outcomes)
    return f"250 2.0.0 OK: {summary}"[:500], outcomes


class DropBoxHandler:
    """aiosmtpd handler: database work in one worker thread, one delivery at a time."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dropbox")

    def _deliver(self, raw: bytes, envelope_from: str) -> str:
        close_old_connections()
        try:
            reply, _ = dropbox_deliver(raw, envelope_from=envelope_from)
            return reply
        except Exception:
            logger.exception("Drop-box delivery failed")
            return "451 4.3.0 Could not log the message now; try again later."
        finally:
            connection.close()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor, self._deliver, raw, envelope.mail_from or ""
        )


def dropbox_controller(*, host: str, port: int, lmtp: bool = False) -> Any:
    """A started-on-demand server (``.start()`` / ``.stop()``) on ``host:port``."""
    from aiosmtpd.controller import Controller

    handler = DropBoxHandler()
    if lmtp:
        from aiosmtpd.lmtp import LMTP

        class LMTPController(Controller):
            def factory(self) -> Any:
                return LMTP(self.handler, **self.SMTP_kwargs)

        return LMTPController(handler, hostname=host, port=port)
    return Controller(handler, hostname=host, port=port, data_size_limit=100 * 1024 * 1024)
