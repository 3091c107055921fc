from rapport.activity.mail.intake import mail_capture
from rapport.activity.models import Interaction, Participant
from rapport.contacts import services

RAW = b"""From: Ann Lee <ann@example.com>
To: Bob <bob@ours.example.net>, New Person <new@elsewhere.example.org>
Subject: Hello
Date: Tue, 1 Dec 2026 10:00:00 +0100
Message-ID: <m1@example.com>

Hi there
"""


def test_smoke(bob):
    c = services.contact_create(
        actor=bob, data={"given_name": "Ann", "emails": [{"address": "ann@example.com"}]}
    )
    out = mail_capture(RAW, owner=bob)
    assert out.status == "stored", out
    again = mail_capture(RAW, owner=bob)
    assert again.status == "joined"
    assert Interaction.objects.count() == 1
    c.refresh_from_db()
    assert c.last_contacted_at is not None
    n = services.contact_create(
        actor=bob, data={"given_name": "New", "emails": [{"address": "NEW@elsewhere.example.org"}]}
    )
    assert Participant.objects.filter(contact=n).count() == 1
    n.refresh_from_db()
    assert n.last_contacted_at is not None
