"""`rapport outreach`: preferences, the gate and who is reachable from a terminal."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from rapport.outreach.models import ContactPreferences

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("outreach", *args, "--as", "alice", stdout=out)
    return out.getvalue()


def test_preferences_are_set_and_shown_from_the_command_line(alice, make_contact):
    ann = make_contact(time_zone="Europe/Paris")
    run(
        "prefs",
        "set",
        str(ann.pk),
        "--refuse",
        "sms",
        "--hours",
        "mon-fri=09:00-12:00,14:00-17:00",
        "--language",
        "fr",
    )
    prefs = ContactPreferences.objects.get(contact=ann)
    assert prefs.sms == "refused"
    assert prefs.hours["fri"] == ["09:00-12:00", "14:00-17:00"]
    shown = json.loads(run("prefs", "show", str(ann.pk), "--json"))
    assert shown["language"] == "fr" and shown["version"] == 1


def test_bad_hours_from_the_command_line_save_nothing(alice, make_contact):
    ann = make_contact(time_zone="Europe/Paris")
    with pytest.raises(CommandError, match="ends when it starts"):
        run("prefs", "set", str(ann.pk), "--hours", "mon=09:00-09:00")
    assert not ContactPreferences.objects.filter(contact=ann).exists()


def test_the_gate_from_the_command_line(alice, make_contact):
    jeanne = make_contact(phone="+33 6 12 34 56 78")
    text = run(
        "gate",
        str(jeanne.pk),
        "--channel",
        "call",
        "--purpose",
        "sales",
        "--at",
        "2026-03-10T12:30:00Z",
    )
    assert "NOT NOW" in text
    assert "next allowed: 2026-03-10 13:00 UTC = Tue 2026-03-10 14:00 Europe/Paris" in text
    counted = json.loads(
        run("reachable", "--channel", "email", "--purpose", "newsletter", "--json")
    )
    assert counted["count"] == 1
