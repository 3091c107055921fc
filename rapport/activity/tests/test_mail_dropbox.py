"""The drop-box: a real SMTP client delivers to `mail receive`'s server on loopback."""

from __future__ import annotations

import smtplib
import socket

import pytest

from rapport.activity.mail.receiver import dropbox_controller
from rapport.activity.models import Interaction
from rapport.activity.tests import mail_fixtures
from rapport.activity.tests.mail_fixtures import sample

known = mail_fixtures.known
team = mail_fixtures.team

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def dropbox():
    port = free_port()
    controller = dropbox_controller(host="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


def deliver(port: int, sender: str, raw: bytes) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        code, reply = client.mail(sender)
        assert code == 250
        client.rcpt("log@dropbox.rapport.test")
        try:
            code, reply = client.data(raw)
        except smtplib.SMTPDataError as exc:
            return exc.smtp_code, exc.smtp_error
        return code, reply


def test_a_message_bcced_by_a_user_is_logged(known, team, dropbox):
    code, _ = deliver(dropbox, "alice@rapport.test", sample("thread-1-root.eml"))
    assert code == 250
    mail = Interaction.objects.get(message_id="q2-budget-1@mail.rapport.test")
    assert mail.source == "dropbox" and mail.direction == "outbound" and mail.author_id == team.pk


def test_a_forward_logs_the_attached_original(known, team, dropbox):
    assert deliver(dropbox, "alice@rapport.test", sample("forwarded-attached.eml"))[0] == 250
    mail = Interaction.objects.get()
    assert mail.message_id == "original-offer@bergmann-technik.de"
    assert mail.subject == "Angebot Wartung" and mail.direction == "inbound"


def test_an_inline_forward_logs_the_original_once(known, team, dropbox):
    for _ in range(2):
        assert deliver(dropbox, "alice@rapport.test", sample("forwarded-inline.eml"))[0] == 250
    mail = Interaction.objects.get()
    assert mail.subject == "Re: Reserva del hotel para la feria"
    assert mail.body.startswith("Perfecto, reservo") and mail.direction == "inbound"
    assert mail.participants.filter(role="from", contact=known["carlos"]).exists()


def test_a_sender_who_is_no_user_is_refused_with_550(known, team, dropbox):
    code, reply = deliver(
        dropbox,
        "stranger@example.net",
        sample("ru-koi8-r.eml").replace(b"ivan.petrov@severstal-trade.ru", b"stranger@example.net"),
    )
    assert code == 550 and b"not a user" in reply, reply
    assert not Interaction.objects.exists()
