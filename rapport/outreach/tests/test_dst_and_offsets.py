"""The gate on the contact's wall clock: DST gaps and overlaps, half-hour and 45-minute
offsets, windows across midnight, several candidate zones, and an unknown zone."""

from __future__ import annotations

import pytest

from rapport.outreach.gate import contact_gate
from rapport.outreach.tests.conftest import every_day, local, utc

pytestmark = pytest.mark.django_db


def gate(contact, at, channel="email", purpose="updates"):
    return contact_gate(contact=contact, channel=channel, purpose=purpose, at=at)


def test_a_window_starting_in_the_new_york_spring_forward_gap_opens_at_the_first_valid_instant(
    make_contact,
):
    # 8 March 2026: at 02:00 EST the clock jumps to 03:00 EDT (07:00 UTC).
    ann = make_contact(
        time_zone="America/New_York", hours=[{"day": "sun", "start": "02:30", "end": "05:00"}]
    )
    before = gate(ann, local("America/New_York", 2026, 3, 8, 1, 30))
    assert not before.allowed
    assert before.next_allowed_at == utc(2026, 3, 8, 7, 0)
    assert before.next_allowed_local.strftime("%H:%M %Z") == "03:00 EDT"
    assert gate(ann, utc(2026, 3, 8, 7, 0)).allowed
    assert not gate(ann, utc(2026, 3, 8, 9, 0)).allowed  # 05:00 EDT, the window is over


def test_a_window_inside_the_skipped_hour_does_not_open_that_night(make_contact):
    ann = make_contact(
        time_zone="America/New_York", hours=[{"day": "sun", "start": "02:10", "end": "02:50"}]
    )
    decision = gate(ann, local("America/New_York", 2026, 3, 8, 0, 0))
    # next Sunday 02:10 EDT
    assert decision.next_allowed_at == utc(2026, 3, 15, 6, 10)


def test_the_repeated_fall_back_hour_is_inside_a_window_on_both_passes(make_contact):
    # 1 November 2026: 01:00-02:00 EDT (05:00-06:00 UTC), then 01:00-02:00 EST again.
    ann = make_contact(
        time_zone="America/New_York", hours=[{"day": "sun", "start": "01:00", "end": "01:30"}]
    )
    first_pass_over = gate(ann, utc(2026, 11, 1, 5, 45))  # 01:45 EDT
    assert not first_pass_over.allowed
    assert first_pass_over.next_allowed_at == utc(2026, 11, 1, 6, 0)  # 01:00 EST
    assert first_pass_over.next_allowed_local.strftime("%H:%M %Z") == "01:00 EST"
    assert gate(ann, utc(2026, 11, 1, 5, 15)).allowed
    assert gate(ann, utc(2026, 11, 1, 6, 15)).allowed
    after = gate(ann, utc(2026, 11, 1, 6, 30))
    assert after.next_allowed_at == utc(2026, 11, 8, 6, 0)


def test_a_window_spanning_the_fall_back_is_one_span_of_four_real_hours(make_contact):
    ann = make_contact(
        time_zone="America/New_York", hours=[{"day": "sun", "start": "00:00", "end": "03:00"}]
    )
    assert gate(ann, utc(2026, 11, 1, 3, 59)).next_allowed_at == utc(2026, 11, 1, 4, 0)
    for hour in (4, 5, 6, 7):
        assert gate(ann, utc(2026, 11, 1, hour, 30)).allowed
    assert gate(ann, utc(2026, 11, 1, 8, 0)).next_allowed_at == utc(2026, 11, 8, 5, 0)


def test_paris_office_hours_move_with_the_clocks_over_the_weekend(make_contact):
    weekdays = [
        {"day": d, "start": "09:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri")
    ]
    ann = make_contact(time_zone="Europe/Paris", hours=weekdays)
    friday_evening = gate(ann, utc(2026, 3, 27, 16, 30))  # 17:30 CET
    assert not friday_evening.allowed
    assert friday_evening.next_allowed_at == utc(2026, 3, 30, 7, 0)  # 09:00 CEST
    assert friday_evening.next_allowed_local.strftime("%a %H:%M %Z") == "Mon 09:00 CEST"


def test_london_window_starting_in_the_gap_opens_when_the_clock_jumps(make_contact):
    # 29 March 2026: 01:00 GMT becomes 02:00 BST (01:00 UTC).
    ann = make_contact(
        time_zone="Europe/London", hours=[{"day": "sun", "start": "01:30", "end": "02:30"}]
    )
    decision = gate(ann, utc(2026, 3, 29, 0, 30))
    assert decision.next_allowed_at == utc(2026, 3, 29, 1, 0)
    assert decision.next_allowed_local.strftime("%H:%M %Z") == "02:00 BST"
    assert not gate(ann, utc(2026, 3, 29, 1, 30)).allowed  # 02:30 BST


def test_lord_howe_half_hour_dst_repeats_and_skips_thirty_minutes(make_contact):
    # 5 April 2026, 02:00 +11 becomes 01:30 +10:30 (15:00 UTC on the 4th).
    ann = make_contact(
        time_zone="Australia/Lord_Howe",
        hours=[
            {"day": "sun", "start": "01:30", "end": "01:45"},
        ],
    )
    assert gate(ann, utc(2026, 4, 4, 14, 35)).allowed  # 01:35 on the first pass
    between = gate(ann, utc(2026, 4, 4, 14, 50))  # 01:50 +11
    assert not between.allowed
    assert between.next_allowed_at == utc(2026, 4, 4, 15, 0)  # 01:30 +10:30
    # 4 October 2026, 02:00 +10:30 becomes 02:30 +11 (15:30 UTC on the 3rd).
    bob = make_contact(
        time_zone="Australia/Lord_Howe", hours=[{"day": "sun", "start": "02:15", "end": "03:00"}]
    )
    spring = gate(bob, utc(2026, 10, 3, 15, 0))
    assert spring.next_allowed_at == utc(2026, 10, 3, 15, 30)
    assert spring.next_allowed_local.strftime("%H:%M") == "02:30"


def test_kathmandu_quarter_hour_offset(make_contact):
    weekdays = [
        {"day": d, "start": "09:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri")
    ]
    ann = make_contact(time_zone="Asia/Kathmandu", hours=weekdays)
    early = gate(ann, utc(2026, 3, 9, 3, 0))  # Monday 08:45 +05:45
    assert not early.allowed
    assert early.next_allowed_at == utc(2026, 3, 9, 3, 15)
    assert early.next_allowed_local.utcoffset().total_seconds() == 5 * 3600 + 45 * 60
    assert gate(ann, utc(2026, 3, 9, 11, 14)).allowed  # 16:59
    assert not gate(ann, utc(2026, 3, 9, 11, 15)).allowed  # 17:00


def test_a_window_wrapping_midnight_runs_into_the_next_day(make_contact):
    ann = make_contact(
        time_zone="Europe/Paris", hours=[{"day": "fri", "start": "22:00", "end": "02:00"}]
    )
    assert not gate(ann, local("Europe/Paris", 2026, 6, 12, 21, 59)).allowed
    assert gate(ann, local("Europe/Paris", 2026, 6, 12, 23, 0)).allowed
    assert gate(ann, local("Europe/Paris", 2026, 6, 13, 1, 30)).allowed  # Saturday
    later = gate(ann, local("Europe/Paris", 2026, 6, 13, 2, 0))
    assert not later.allowed
    assert later.next_allowed_local == local("Europe/Paris", 2026, 6, 19, 22, 0)


def test_a_contact_whose_state_spans_two_zones_gets_hours_safe_in_both(make_contact):
    # Florida keeps Eastern and (in the panhandle) Central time; its law: 08:00-20:00.
    ann = make_contact(country="US", region="Florida")
    assert gate(ann, utc(2026, 1, 12, 12, 30), channel="call").zones == (
        "America/Chicago",
        "America/New_York",
    )
    early = gate(ann, utc(2026, 1, 12, 13, 30), channel="call")  # 08:30 EST, 07:30 CST
    assert not early.allowed
    assert early.next_allowed_at == utc(2026, 1, 12, 14, 0)
    late = gate(ann, utc(2026, 1, 13, 0, 30), channel="call")  # 19:30 EST ok, 18:30 CST ok
    assert late.allowed
    assert not gate(ann, utc(2026, 1, 13, 1, 0), channel="call").allowed  # 20:00 EST


def test_an_unknown_time_zone_means_not_now_with_the_reason_never_a_silent_send(make_contact):
    ann = make_contact(hours=every_day("09:00", "17:00"))
    decision = gate(ann, utc(2026, 3, 9, 12, 0))
    assert not decision.allowed
    assert decision.never
    hours = next(r for r in decision.reasons if r.step == "contact_hours")
    assert hours.code == "time_zone_unknown"
    assert "time zone is unknown" in hours.text


def test_hours_that_never_meet_the_law_answer_never(make_contact):
    ann = make_contact(
        phone="+33 6 12 34 56 78", hours=[{"day": "sat", "start": "09:00", "end": "18:00"}]
    )
    decision = gate(ann, utc(2026, 3, 9, 12, 0), channel="call", purpose="sales")
    assert not decision.allowed and decision.never
    assert gate(ann, utc(2026, 3, 14, 12, 0), channel="email").allowed
