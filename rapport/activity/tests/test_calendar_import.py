"""Calendar files read into meetings: time zones, recurrence, all-day and floating
times, Outlook and Google exports, faulty events, and importing again."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import pytest

from rapport.activity.calendar.importing import calendar_import
from rapport.activity.models import Interaction, Participant
from rapport.contacts import services as contacts
from rapport.core.errors import InvalidInput, NotPermitted

DATA = Path(__file__).parent / "data" / "calendar"
NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


@pytest.fixture(autouse=True)
def _bob_has_mail(bob):
    bob.email = "bob@ours.example.net"
    bob.save()


def run(user, name: str, *, data: bytes | None = None, now: dt.datetime = NOW):
    raw = data if data is not None else (DATA / name).read_bytes()
    return calendar_import(actor=user, data=raw, file_name=name, now=now)


def meetings(uid_part: str) -> list[Interaction]:
    return list(Interaction.objects.filter(external_key__contains=uid_part).order_by("occurred_at"))


def test_a_weekly_meeting_keeps_its_local_time_across_the_change_to_summer_time(bob):
    report = run(bob, "dst_weekly.ics")
    assert report.counts() == {
        "created": 7,
        "updated": 0,
        "unchanged": 0,
        "cancelled": 0,
        "skipped": 0,
        "failed": 0,
    }
    berlin = meetings("berlin-weekly")
    assert [m.occurred_at.astimezone(BERLIN).time() for m in berlin] == [dt.time(10)] * 4
    # Berlin moves to summer time on 29 March: 09:00 UTC before, 08:00 UTC after
    assert [m.occurred_at.astimezone(dt.UTC).hour for m in berlin] == [9, 9, 8, 8]
    assert berlin[2].external_key == "ical:berlin-weekly-7c1f@example.de|2026-04-02T08:00:00Z"
    assert all(m.ends_at - m.occurred_at == dt.timedelta(hours=1) for m in berlin)
    new_york = meetings("newyork-weekly")
    assert [m.occurred_at.astimezone(NEW_YORK).time() for m in new_york] == [dt.time(10)] * 3
    # New York moves on 8 March: 15:00 UTC, then 14:00 UTC
    assert [m.occurred_at.astimezone(dt.UTC).hour for m in new_york] == [15, 14, 14]


def test_a_meeting_keeps_its_subject_place_text_and_participants(bob):
    anna = contacts.contact_create(
        actor=bob,
        data={
            "given_name": "Anna",
            "emails": [{"address": "Anna.Schaefer@mueller-soehne.example.de"}],
        },
    )
    run(bob, "dst_weekly.ics")
    first = meetings("berlin-weekly")[0]
    assert first.kind == "meeting"
    assert first.subject == "Wöchentliche Abstimmung Müller & Söhne"
    assert first.location == "Büro Köln, Raum 3"
    assert first.body == "Agenda:\n- Lieferplan\n- Größenänderungen, Preise"
    assert first.direction == "internal"
    assert first.source == "calendar"
    assert first.author == bob
    assert first.two_way
    who = {(p.role, p.address_key): p for p in first.participants.all()}
    assert set(who) == {
        ("organizer", "juergen.gross@mueller-soehne.example.de"),
        ("attendee", "anna.schaefer@mueller-soehne.example.de"),
        ("attendee", "bob@ours.example.net"),
    }
    assert who["organizer", "juergen.gross@mueller-soehne.example.de"].name == "Jürgen Groß"
    assert who["attendee", "anna.schaefer@mueller-soehne.example.de"].contact_id == anna.pk
    assert who["attendee", "bob@ours.example.net"].user_id == bob.pk
    anna.refresh_from_db()
    assert anna.last_contacted_at == meetings("berlin-weekly")[-1].occurred_at


def test_an_outlook_export_with_windows_zone_names_exceptions_and_a_moved_occurrence(bob):
    report = run(bob, "outlook.ics")
    assert report.failed == 0, report.problems
    planning = meetings("F00DBEEF")
    # six Mondays from 12 January, less the one taken out (26 January)
    assert len(planning) == 5
    assert [m.occurred_at.astimezone(BERLIN).date().day for m in planning] == [12, 19, 2, 9, 16]
    moved = planning[3]
    assert moved.subject == "Planning sync (moved to the afternoon)"
    assert moved.occurred_at.astimezone(BERLIN).time() == dt.time(15)
    # known by the time it was first planned for: 09:00 in Berlin
    assert moved.external_key.endswith("|2026-02-09T08:00:00Z")
    assert planning[0].occurred_at == dt.datetime(2026, 1, 12, 8, tzinfo=dt.UTC)
    addresses = {p.address_key for p in planning[0].participants.all()}
    assert "room-401@contoso.example.com" not in addresses  # a room is no participant
    assert "stefan.hofer@contoso.example.at" in addresses
    pune = meetings("FEEDFACE")[0]
    # the file's own zone definition: +05:30
    assert pune.occurred_at == dt.datetime(2026, 1, 15, 5, 30, tzinfo=dt.UTC)
    assert pune.private


def test_a_google_export_with_a_cancelled_occurrence_an_all_day_event_and_japanese(bob):
    report = run(bob, "google.ics")
    assert report.counts()["created"] == 5
    assert report.skipped == 1  # the cancelled 9 April meeting was never stored
    daily = meetings("5h3k9q2m1n0p8r7s6t5u4v3w2x")
    assert [m.occurred_at.astimezone(TOKYO).day for m in daily] == [7, 8, 10]
    assert daily[0].subject == "朝会（デイリー）"
    assert daily[0].location == "東京オフィス 3階"
    who = {p.address_key: p for p in daily[0].participants.all()}
    assert who["hanako.sato@example.co.jp"].role == "organizer"
    assert who["hanako.sato@example.co.jp"].name == "佐藤 花子"
    assert "ichiro.suzuki@example.co.jp" not in who  # declined
    assert "c_1888abc@resource.calendar.google.com" not in who
    holiday = meetings("showa-day-2026")[0]
    assert holiday.all_day
    # all day in the calendar's own zone (X-WR-TIMEZONE): from Tokyo midnight
    assert holiday.occurred_at.astimezone(TOKYO) == dt.datetime(2026, 4, 29, tzinfo=TOKYO)
    assert holiday.ends_at - holiday.occurred_at == dt.timedelta(days=1)
    lunch = meetings("0a1b2c3d4e5f6g7h8i9j")[0]
    assert lunch.occurred_at == dt.datetime(2026, 4, 20, 5, tzinfo=dt.UTC)
    assert lunch.external_key == "ical:0a1b2c3d4e5f6g7h8i9j@google.com|single"


def test_an_occurrence_cancelled_later_is_marked_cancelled(bob):
    full = (DATA / "google.ics").read_text()
    start = full.index("BEGIN:VEVENT\nDTSTART;TZID=Asia/Tokyo:20260409T090000")
    end = full.index("END:VEVENT\n", start) + len("END:VEVENT\n")
    before = full[:start] + full[end:]
    assert run(bob, "google.ics", data=before.encode()).created == 6
    report = run(bob, "google.ics")
    assert report.cancelled == 1
    assert report.unchanged == 5
    ninth = meetings("5h3k9q2m1n0p8r7s6t5u4v3w2x")[2]
    assert ninth.occurred_at.astimezone(TOKYO).day == 9
    assert ninth.cancelled
    assert not ninth.two_way


def test_all_day_and_floating_times_are_read_in_the_users_zone(bob):
    bob.time_zone = "Europe/Berlin"
    bob.save()
    report = run(bob, "allday_floating.ics")
    assert report.failed == 0
    fair = meetings("trade-fair-2026")[0]
    assert fair.all_day
    assert fair.occurred_at == dt.datetime(2026, 5, 18, tzinfo=BERLIN)
    assert fair.ends_at == dt.datetime(2026, 5, 21, tzinfo=BERLIN)
    offsite = meetings("offsite-2026")[0]
    assert offsite.ends_at - offsite.occurred_at == dt.timedelta(days=1)
    breakfast = meetings("floating-breakfast")[0]
    assert breakfast.occurred_at == dt.datetime(2026, 6, 2, 6, 30, tzinfo=dt.UTC)
    assert breakfast.participants.get().address_key == "ann@example.com"
    coaching = meetings("floating-weekly")
    # weekly on 3, 10 and 17 June less the 10th, plus the extra date of 12 June
    assert [
        (m.occurred_at.astimezone(BERLIN).day, m.occurred_at.astimezone(BERLIN).hour)
        for m in coaching
    ] == [(3, 16), (12, 9), (17, 16)]
    assert all(m.ends_at - m.occurred_at == dt.timedelta(minutes=45) for m in coaching)


def test_floating_times_fall_back_to_the_servers_zone(bob, settings):
    settings.TIME_ZONE = "America/New_York"
    run(bob, "allday_floating.ics")
    breakfast = meetings("floating-breakfast")[0]
    assert breakfast.occurred_at == dt.datetime(2026, 6, 2, 8, 30, tzinfo=NEW_YORK)


def test_bad_events_are_reported_with_their_uid_and_reason_and_the_rest_land(bob):
    report = run(bob, "faults.ics")
    assert report.created == 3
    assert report.failed == 4
    reasons = {p.uid: p.reason for p in report.problems if p.severity == "error"}
    assert "unknown time zone “Mars/Olympus_Mons”" in reasons["unknown-zone@example.org"]
    assert "ends (2026-07-03T10:00:00+00:00) before it starts" in reasons["swapped@example.org"]
    assert "DTSTART" in reasons["malformed@example.org"]
    assert "no start" in reasons["no-start@example.org"]
    warnings = [p for p in report.problems if p.severity == "warning"]
    assert len(warnings) == 1
    assert "no UID" in warnings[0].reason
    assert {m.subject for m in Interaction.objects.all()} == {
        "Good one before",
        "No UID at all",
        "Große Überraschung – 大成功",
    }
    again = run(bob, "faults.ics")
    assert (again.created, again.unchanged, again.failed) == (0, 3, 4)


def test_importing_again_changes_nothing_and_a_changed_event_is_updated(bob):
    first = run(bob, "dst_weekly.ics")
    second = run(bob, "dst_weekly.ics")
    assert (second.created, second.updated, second.unchanged) == (0, 0, first.created)
    assert Interaction.objects.count() == 7
    versions = set(Interaction.objects.values_list("version", flat=True))
    text = (DATA / "dst_weekly.ics").read_text()
    changed = (
        text.replace("SUMMARY:Pipeline review (New York)", "SUMMARY:Pipeline review (moved)")
        .replace("20260302T100000", "20260302T113000")
        .replace("20260302T103000", "20260302T120000")
        .replace("ATTENDEE;CN=Li Wei:mailto:li.wei@acme.example.com\n", "")
    )
    third = run(bob, "dst_weekly.ics", data=changed.encode())
    # the New York series moved: its occurrences are known by new times (two now end
    # before UNTIL); the old ones are cancelled, the Berlin ones unchanged
    assert third.counts()["unchanged"] == 4
    assert third.created == 2
    assert third.cancelled == 3
    new_york = [m for m in meetings("newyork-weekly") if not m.cancelled]
    assert [m.subject for m in new_york] == ["Pipeline review (moved)"] * 2
    assert new_york[0].occurred_at.astimezone(NEW_YORK).time() == dt.time(11, 30)
    assert not Participant.objects.filter(
        interaction__in=new_york, address_key="li.wei@acme.example.com"
    ).exists()
    assert versions == {1}


def test_a_changed_summary_description_place_and_attendee_update_the_meeting(bob):
    run(bob, "dst_weekly.ics")
    text = (DATA / "dst_weekly.ics").read_text()
    changed = (
        text.replace("Wöchentliche Abstimmung", "Abstimmung")
        .replace("LOCATION:Büro Köln\\, Raum 3", "LOCATION:Online")
        .replace("ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@ours.example.net\n", "")
    )
    report = run(bob, "dst_weekly.ics", data=changed.encode())
    assert (report.updated, report.unchanged, report.created) == (4, 3, 0)
    berlin = meetings("berlin-weekly")
    assert {m.subject for m in berlin} == {"Abstimmung Müller & Söhne"}
    assert {m.location for m in berlin} == {"Online"}
    assert {m.version for m in berlin} == {2}
    assert not Participant.objects.filter(interaction__in=berlin, user=bob).exists()
    assert Participant.objects.filter(interaction__in=berlin).count() == 8


def test_an_event_cancelled_as_a_whole_cancels_every_stored_occurrence(bob):
    run(bob, "dst_weekly.ics")
    text = (DATA / "dst_weekly.ics").read_text()
    cancelled = text.replace(
        "SUMMARY:Pipeline review (New York)", "SUMMARY:Pipeline review (New York)\nSTATUS:CANCELLED"
    )
    report = run(bob, "dst_weekly.ics", data=cancelled.encode())
    assert report.cancelled == 3
    assert all(m.cancelled and not m.two_way for m in meetings("newyork-weekly"))


def test_only_occurrences_within_the_window_are_stored(bob, settings):
    settings.RAPPORT_CALENDAR_PAST_DAYS = 0
    settings.RAPPORT_CALENDAR_FUTURE_DAYS = 20
    report = run(bob, "dst_weekly.ics")
    # 1 to 21 March: the Berlin meeting of the 19th, the New York ones of 2, 9 and 16
    assert report.created == 4


def test_a_file_too_large_or_not_a_calendar_is_refused_whole(bob, settings):
    settings.RAPPORT_CALENDAR_MAX_BYTES = 1000
    with pytest.raises(InvalidInput) as too_large:
        run(bob, "outlook.ics")
    assert "The file is 2.71 KB; calendar files of at most 1000 bytes" in str(too_large.value)
    assert too_large.value.errors[0].path == "file"
    with pytest.raises(InvalidInput) as garbage:
        run(bob, "x.ics", data=b"Name,Email\nAnn,ann@example.com\n")
    assert "not an iCalendar" in str(garbage.value)
    assert Interaction.objects.count() == 0


def test_a_read_only_user_cannot_import(charlie):
    with pytest.raises(NotPermitted):
        run(charlie, "dst_weekly.ics")
    assert Interaction.objects.count() == 0
