"""The French rules for telephone canvassing, as a worked example (docs/outreach.md):
weekdays 10:00-13:00 and 14:00-20:00, never on public holidays, at most 4 calls in 30
days, 60 days of silence after a refusal. Shipped as data by a migration."""

from __future__ import annotations

import pytest

from rapport.outreach.gate import contact_gate
from rapport.outreach.models import ContactAttempt
from rapport.outreach.services.attempts import attempt_log
from rapport.outreach.tests.conftest import local, utc

pytestmark = pytest.mark.django_db

PARIS = "Europe/Paris"


@pytest.fixture
def jeanne(make_contact):
    # Only a French mobile number: zone and country come from it.
    return make_contact("Jeanne Martin", phone="+33 6 12 34 56 78")


def call(contact, at):
    return contact_gate(contact=contact, channel="call", purpose="sales", at=at)


def step(decision, name):
    return next(r for r in decision.reasons if r.step == name)


def test_calls_are_allowed_in_the_morning_and_afternoon_windows_only(jeanne):
    assert call(jeanne, local(PARIS, 2026, 3, 10, 12, 30)).allowed  # Tuesday
    lunch = call(jeanne, local(PARIS, 2026, 3, 10, 13, 30))
    assert not lunch.allowed
    assert step(lunch, "legal_hours").code == "outside_hours"
    assert "Démarchage téléphonique (FR)" in step(lunch, "legal_hours").text
    assert lunch.next_allowed_local == local(PARIS, 2026, 3, 10, 14, 0)
    evening = call(jeanne, local(PARIS, 2026, 3, 10, 20, 0))
    assert evening.next_allowed_local == local(PARIS, 2026, 3, 11, 10, 0)
    saturday = call(jeanne, local(PARIS, 2026, 3, 14, 11, 0))
    assert saturday.next_allowed_local == local(PARIS, 2026, 3, 16, 10, 0)


def test_no_calls_on_a_public_holiday(jeanne):
    ascension = call(jeanne, local(PARIS, 2026, 5, 14, 11, 0))  # a Thursday
    assert not ascension.allowed
    holiday = step(ascension, "holiday")
    assert holiday.code == "public_holiday"
    assert "Ascension" in holiday.text
    assert ascension.next_allowed_local == local(PARIS, 2026, 5, 15, 10, 0)
    bastille = call(jeanne, local(PARIS, 2026, 7, 14, 11, 0))
    assert bastille.next_allowed_local == local(PARIS, 2026, 7, 15, 10, 0)


def test_at_most_four_calls_in_thirty_days(jeanne, alice):
    for day in (2, 5, 10, 20):
        attempt_log(
            actor=alice,
            contact=jeanne,
            channel="call",
            purpose="sales",
            outcome="attempted",
            at=local(PARIS, 2026, 3, day, 11, 0),
        )
    blocked = call(jeanne, local(PARIS, 2026, 3, 25, 11, 0))
    assert not blocked.allowed
    cap = step(blocked, "frequency_cap")
    assert cap.code == "cap_reached"
    assert "at most 4 attempts per 30 days" in cap.text
    # the call of 2 March leaves the 30 days on 1 April, 11:00 CET = 12:00 CEST
    assert blocked.next_allowed_at == utc(2026, 4, 1, 10, 0)
    # emails are not calls: the French rule does not cover them
    assert contact_gate(
        contact=jeanne, channel="email", purpose="sales", at=local(PARIS, 2026, 3, 25, 11, 0)
    ).allowed


def test_sixty_days_of_silence_after_a_refusal(jeanne, alice):
    attempt_log(
        actor=alice,
        contact=jeanne,
        channel="call",
        purpose="sales",
        outcome=ContactAttempt.Outcome.REFUSED,
        at=utc(2026, 4, 2, 10, 0),
    )
    later = call(jeanne, local(PARIS, 2026, 5, 20, 11, 0))
    assert not later.allowed
    silence = step(later, "cool_off")
    assert silence.code == "silence_after_refusal"
    assert silence.until == utc(2026, 6, 1, 10, 0)
    assert later.next_allowed_at == utc(2026, 6, 1, 10, 0)  # Monday 12:00 CEST
    assert call(jeanne, utc(2026, 6, 1, 10, 0)).allowed


def test_the_rule_is_data_an_admin_can_change(jeanne, alice):
    from rapport.outreach.models import CallingRule
    from rapport.outreach.services.rules import calling_rule_update

    rule = CallingRule.objects.get(country="FR")
    calling_rule_update(
        actor=alice,
        rule=rule,
        data={
            "name": rule.name,
            "country": "FR",
            "channels": ["call"],
            "hours": [{"day": "sat", "start": "10:00", "end": "12:00"}],
        },
    )
    assert call(jeanne, local(PARIS, 2026, 3, 14, 11, 0)).allowed  # a Saturday now
    assert not call(jeanne, local(PARIS, 2026, 3, 10, 11, 0)).allowed
