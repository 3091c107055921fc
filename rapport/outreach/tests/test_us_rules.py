"""The shipped US and Florida rules: both apply to a Florida contact, together."""

from __future__ import annotations

import pytest

from rapport.outreach.gate import contact_gate
from rapport.outreach.tests.conftest import utc

pytestmark = pytest.mark.django_db


def test_a_new_york_number_may_be_called_until_nine_in_the_evening(make_contact):
    ann = make_contact(phone="+1 212 555 0134")
    assert contact_gate(
        contact=ann, channel="call", purpose="sales", at=utc(2026, 1, 13, 1, 30)
    ).allowed
    late = contact_gate(contact=ann, channel="sms", purpose="sales", at=utc(2026, 1, 13, 2, 30))
    assert not late.allowed
    assert late.next_allowed_local.strftime("%H:%M") == "08:00"


def test_a_florida_number_stops_at_eight(make_contact):
    # Miami's area code: the phone number gives the state, so Florida's rule applies too.
    ann = make_contact(phone="+1 305 555 0134")
    decision = contact_gate(
        contact=ann, channel="call", purpose="sales", at=utc(2026, 1, 13, 1, 30)
    )
    assert not decision.allowed
    legal = next(r for r in decision.reasons if r.step == "legal_hours")
    assert "Florida" in legal.text


def test_a_us_contact_of_unknown_state_follows_every_state_rule_to_be_safe(make_contact):
    ann = make_contact(country="US", time_zone="America/New_York")
    assert not contact_gate(
        contact=ann, channel="call", purpose="sales", at=utc(2026, 1, 13, 1, 30)
    ).allowed
