"""Reading contact hours, and working out where someone is."""

from __future__ import annotations

import pytest

from rapport.core.errors import InvalidInput
from rapport.outreach.gate import contact_gate
from rapport.outreach.hours import hours_from_input, hours_from_stored
from rapport.outreach.tests.conftest import every_day, utc


def test_hours_read_as_typed_and_describe_themselves():
    hours = hours_from_input(
        [
            {"day": 1, "start": "09:00", "end": "12:00"},
            {"day": "Tuesday", "start": "9:00", "end": "12:00"},
            {"day": "wed", "start": "09:00", "end": "12:00"},
            {"day": "sun", "start": "00:00", "end": "24:00"},
            {"day": "fri", "start": "22:00", "end": "02:00"},
        ]
    )
    assert hours.describe() == "Mon–Wed 09:00–12:00; Fri 22:00–02:00; Sun 00:00–24:00"
    assert hours.contains(5, 60)  # Saturday 01:00, from Friday's window
    assert not hours.contains(5, 120)
    assert hours.contains(6, 1439)
    assert hours_from_stored(hours.stored()) == hours


@pytest.mark.parametrize(
    ("window", "field", "words"),
    [
        ({"day": "mon", "start": "09:00", "end": "09:00"}, "hours[0].end", "ends when it starts"),
        ({"day": "mon", "start": "9am", "end": "10:00"}, "hours[0].start", "not a time"),
        (
            {"day": "mon", "start": "24:00", "end": "10:00"},
            "hours[0].start",
            "cannot start at 24:00",
        ),
        ({"day": 0, "start": "09:00", "end": "10:00"}, "hours[0].day", "out of range"),
        ({"day": "someday", "start": "09:00", "end": "10:00"}, "hours[0].day", "not a weekday"),
        ({"day": "mon", "start": "09:00"}, "hours[0].end", "required"),
        ({"day": "mon", "start": "09:00", "end": "10:00", "tz": "x"}, "hours[0].tz", "Unknown"),
    ],
)
def test_bad_windows_are_named(window, field, words):
    with pytest.raises(InvalidInput) as caught:
        hours_from_input([window])
    assert caught.value.errors[0].path == field
    assert words in caught.value.errors[0].message


def test_touching_windows_are_fine_and_overlapping_ones_are_not():
    hours_from_input(
        [
            {"day": "mon", "start": "09:00", "end": "12:00"},
            {"day": "mon", "start": "12:00", "end": "14:00"},
        ]
    )
    with pytest.raises(InvalidInput, match="overlaps Sunday 23:00–01:00"):
        hours_from_input(
            [
                {"day": "sun", "start": "23:00", "end": "01:00"},
                {"day": "mon", "start": "00:30", "end": "02:00"},
            ]
        )


@pytest.mark.django_db
def test_a_stored_time_zone_nobody_knows_is_not_a_silent_allow(make_contact):
    from rapport.contacts.models import Contact

    ann = make_contact(hours=every_day("09:00", "17:00"))
    Contact.objects.filter(pk=ann.pk).update(time_zone="Mars/Olympus_Mons", version=ann.version + 1)
    decision = contact_gate(contact=ann, channel="email", purpose="news", at=utc(2026, 3, 9, 12, 0))
    assert not decision.allowed and decision.never
    assert decision.reasons[3].code == "time_zone_unknown"


@pytest.mark.django_db
def test_where_someone_is_comes_from_their_address_then_their_phone(make_contact):
    at = utc(2026, 3, 9, 12, 0)
    by_address = contact_gate(
        contact=make_contact("A", country="AU", region="Queensland", phone="+33 6 12 34 56 78"),
        channel="email",
        purpose="news",
        at=at,
    )
    assert by_address.zones == ("Australia/Brisbane",)
    by_phone = contact_gate(
        contact=make_contact("B", phone="+977 1 4412345"), channel="email", purpose="news", at=at
    )
    assert by_phone.zones in (("Asia/Kathmandu",), ("Asia/Katmandu",))  # phonenumbers' alias
    toll_free = contact_gate(
        contact=make_contact("C", phone="+1 800 555 0199", hours=every_day("09:00", "17:00")),
        channel="email",
        purpose="news",
        at=at,
    )
    assert len(toll_free.zones) > 20  # every zone the prefix spans: only safe hours
    assert toll_free.never
