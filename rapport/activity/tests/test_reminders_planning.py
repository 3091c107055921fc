"""Birthdays, anniversaries and reach-out days become reminders for the contact's owner,
on the day at 09:00 their time, once each (29 February on the 28th in other years)."""

from __future__ import annotations

import datetime as dt

import pytest

from rapport.activity.models import Notification, Reminder
from rapport.activity.services import keep_in_touch, reminders
from rapport.activity.tests.tasks_support import contact
from rapport.contacts.models import Contact, CustomFieldDefinition

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def test_a_29_february_birthday_is_on_the_28th_in_a_non_leap_year(bob):
    leapling = contact(bob, "Leap Ling", birthday="1996-02-29", owner="bob")
    reminders.reminders_plan(now=dt.datetime(2027, 2, 26, 12, 0, tzinfo=UTC))
    assert not Reminder.objects.exists()
    # planned a day ahead (for today and tomorrow), delivered on the day
    reminders.reminders_plan(now=dt.datetime(2027, 2, 27, 12, 0, tzinfo=UTC))
    reminder = Reminder.objects.get(contact=leapling)
    assert reminder.kind == Reminder.Kind.BIRTHDAY
    assert reminder.remind_at == dt.datetime(2027, 2, 28, 9, tzinfo=UTC)
    assert reminder.user == bob and reminder.text == "Birthday: Leap Ling"
    assert reminder.key == f"birthday:{leapling.pk}:2027"
    # planning again (every quarter of an hour, on March 1st too) adds nothing
    reminders.reminders_plan(now=dt.datetime(2027, 2, 28, 6, 15, tzinfo=UTC))
    reminders.reminders_plan(now=dt.datetime(2027, 3, 1, 6, 0, tzinfo=UTC))
    assert Reminder.objects.count() == 1
    assert not reminders.reminders_deliver(now=dt.datetime(2027, 2, 28, 8, 59, tzinfo=UTC)).notified
    assert reminders.reminders_deliver(now=dt.datetime(2027, 2, 28, 9, 0, tzinfo=UTC)).notified == 1


def test_a_29_february_birthday_is_on_the_29th_in_a_leap_year(bob):
    leapling = contact(bob, "Leap Ling", birthday="1996-02-29", owner="bob")
    reminders.reminders_plan(now=dt.datetime(2028, 2, 28, 12, 0, tzinfo=UTC))
    reminder = Reminder.objects.get(contact=leapling)
    assert reminder.remind_at == dt.datetime(2028, 2, 29, 9, tzinfo=UTC)
    reminders.reminders_deliver(now=dt.datetime(2028, 2, 29, 9, 0, tzinfo=UTC))
    assert Notification.objects.get(user=bob).title == "Birthday: Leap Ling"


def test_contacts_without_an_owner_or_with_another_day_get_no_reminder(bob):
    nobody = contact(bob, "No Owner", birthday="1990-06-10")
    Contact.objects.filter(pk=nobody.pk).update(owner=None)
    contact(bob, "Other Day", birthday="1990-06-12", owner="bob")
    reminders.reminders_plan(now=dt.datetime(2026, 6, 10, 8, 0, tzinfo=UTC))
    assert list(Reminder.objects.values_list("text", "key")) == []


def test_an_anniversary_custom_date_field_reminds_the_owner(bob, alice):
    CustomFieldDefinition.objects.create(
        target="contact", key="wedding_anniversary", label="Wedding anniversary", field_type="date"
    )
    CustomFieldDefinition.objects.create(
        target="contact", key="first_order", label="First order", field_type="date"
    )
    alice.time_zone = "Asia/Tokyo"
    alice.save()
    wed = contact(
        bob,
        "Wed Ding",
        owner="alice",
        custom_fields={"wedding_anniversary": "2010-09-15", "first_order": "2011-09-15"},
    )
    # 20:00 UTC on the 14th is already the 15th in Tokyo
    reminders.reminders_plan(now=dt.datetime(2026, 9, 14, 20, 0, tzinfo=UTC))
    [reminder] = Reminder.objects.all()
    assert (reminder.kind, reminder.contact, reminder.user) == ("anniversary", wed, alice)
    assert reminder.text == "Wedding anniversary: Wed Ding"
    assert reminder.remind_at == dt.datetime(2026, 9, 15, 0, 0, tzinfo=UTC)  # 09:00 JST


def test_a_reach_out_day_that_came_reminds_the_owner_once(bob):
    ann = contact(bob, owner="bob")
    keep_in_touch.keep_in_touch_set(actor=bob, data={"contact_id": ann.pk, "every_days": 7})
    ann.refresh_from_db()
    day = ann.reach_out_by
    assert day == ann.created_at.date() + dt.timedelta(days=7)
    before = dt.datetime.combine(day - dt.timedelta(days=2), dt.time(12), tzinfo=UTC)
    reminders.reminders_plan(now=before)
    assert not Reminder.objects.exists()
    on_the_day = dt.datetime.combine(day, dt.time(7), tzinfo=UTC)
    reminders.reminders_plan(now=on_the_day)
    reminders.reminders_plan(now=on_the_day + dt.timedelta(hours=5))
    reminder = Reminder.objects.get()
    assert reminder.kind == "keep_in_touch" and reminder.text == "Time to reach out to Ann Lee"
    assert reminder.remind_at == dt.datetime.combine(day, dt.time(9), tzinfo=UTC)
    assert Contact.objects.filter(reach_out_by__lte=day).count() == 1
