"""What the task, reminder and keep-in-touch tests share: a real SMTP server on the
loopback interface that keeps what it receives, and small record makers."""

from __future__ import annotations

import contextlib
import email
import email.policy
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from rapport.contacts import services as contacts


class Inbox:
    """The SMTP server's side: every message it accepted, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parsed["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["X-Envelope-To"]]

    @staticmethod
    def text(message: EmailMessage) -> str:
        body = message.get_body(preferencelist=("plain",))
        return body.get_content() if body is not None else ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def smtp_server(settings: Any, inbox: Inbox) -> Iterator[Inbox]:
    """Run ``inbox`` as a real SMTP server (aiosmtpd) on 127.0.0.1 and point Django's
    SMTP backend at it."""
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "Rapport <rapport@crm.example.com>"
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture(name="smtp")
def smtp_fixture(settings) -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; Django's SMTP backend points at it."""
    with smtp_server(settings, Inbox()) as inbox:
        yield inbox


def contact(actor: Any, name: str = "Ann Lee", **data: Any) -> Any:
    given, _, family = name.partition(" ")
    return contacts.contact_create(
        actor=actor, data={"given_name": given, "family_name": family, **data}
    )
