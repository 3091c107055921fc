"""The bulk decision (SQL) and the single gate agree, contact by contact, over a varied
population: own zones, addresses and phones in several countries (and none), own
preferences, organization defaults firm and overridable, caps, attempts and refusals,
at many instants (DST nights, holidays, lunch breaks) and on every channel."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from rapport.contacts.models import Contact
from rapport.outreach.gate import contact_gate
from rapport.outreach.selectors.reachable import contacts_reachable
from rapport.outreach.services.attempts import attempt_log
from rapport.outreach.tests.conftest import utc

pytestmark = pytest.mark.django_db

ZONES = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", ""]
PLACES = [("FR", ""), ("US", "FL"), ("US", "NY"), ("US", ""), ("DE", ""), ("AU", "NSW"), ("", "")]
PHONES = [
    "+33 6 12 34 56 78",
    "+1 305 555 0134",
    "+1 212 555 0134",
    "+61 2 5550 1234",
    "+977 1 4412345",
    "",
]
STATUSES = [None, None, "allowed", "preferred", "refused"]
CHANNELS = ["email", "call", "sms"]
MOMENTS = [
    utc(2026, 3, 8, 7, 0),  # New York just sprang forward
    utc(2026, 3, 10, 11, 30),  # a Tuesday, midday in Paris
    utc(2026, 3, 10, 12, 30),  # lunch break in Paris
    utc(2026, 5, 14, 9, 0),  # Ascension Day
    utc(2026, 11, 1, 6, 15),  # New York's repeated hour
    utc(2026, 4, 4, 14, 50),  # Lord Howe between its two 01:30s
    utc(2026, 1, 13, 1, 30),  # a Florida evening
]


def _hours(rng: random.Random) -> list[dict[str, str]] | None:
    """Random valid hours (overlapping draws are drawn again)."""
    from rapport.core.errors import InvalidInput
    from rapport.outreach.hours import hours_from_input

    if rng.random() < 0.5:
        return None
    while True:
        found = []
        for day in rng.sample(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], rng.randint(1, 5)):
            start = rng.choice(["00:00", "06:30", "09:00", "13:15", "22:00"])
            end = rng.choice(["02:00", "12:00", "17:45", "24:00"])
            if start != end:
                found.append({"day": day, "start": start, "end": end})
        try:
            hours_from_input(found)
        except InvalidInput:
            continue
        return found


def _preferences(rng: random.Random, *, organization: bool) -> dict:
    prefs: dict = {
        "channels": {c: rng.choice(STATUSES) for c in CHANNELS},
        "hours": _hours(rng),
        "hours_channels": rng.sample(CHANNELS + ["post"], rng.randint(1, 4)),
        "avoid_holidays": rng.choice([None, None, True, False]),
        "do_not_contact": rng.choice([None] * 6 + [True] + ([] if organization else [False])),
    }
    if organization:
        prefs["channels_overridable"] = rng.random() < 0.5
        prefs["do_not_contact_overridable"] = rng.random() < 0.5
        prefs["hours_overridable"] = rng.random() < 0.5
    elif rng.random() < 0.3:
        prefs["caps"] = [
            {
                "channel": rng.choice(["", "email", "call"]),
                "purpose": rng.choice(["", "newsletter"]),
                "max_count": rng.randint(1, 3),
                "period_days": rng.choice([1, 7, 30]),
            }
        ]
    return prefs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bulk_and_single_decisions_agree(seed, make_contact, make_organization, alice):
    rng = random.Random(seed)
    orgs = [make_organization(f"Org {i}", **_preferences(rng, organization=True)) for i in range(3)]
    # subsidiaries: two levels that follow Org 0's defaults, one with its own under Org 1
    below = make_organization(f"Sub {seed}-a", parent=orgs[0])
    orgs += [
        below,
        make_organization(f"Sub {seed}-b", parent=below),
        make_organization(f"Sub {seed}-c", parent=orgs[1], **_preferences(rng, organization=True)),
        None,
        None,
        None,
    ]
    for i in range(30):
        country, region = rng.choice(PLACES)
        prefs = _preferences(rng, organization=False) if rng.random() < 0.7 else {}
        contact = make_contact(
            f"Person {seed}-{i}",
            time_zone=rng.choice(ZONES),
            country=country,
            region=region,
            phone=rng.choice(PHONES),
            organization=rng.choice(orgs),
            **prefs,
        )
        for _ in range(rng.choice([0, 0, 1, 3, 5])):
            attempt_log(
                actor=alice,
                contact=contact,
                channel=rng.choice(CHANNELS),
                purpose=rng.choice(["newsletter", "sales"]),
                outcome=rng.choice(["attempted", "sent", "refused", "blocked"]),
                at=rng.choice(MOMENTS) - dt.timedelta(days=rng.randint(0, 40)),
            )
    contacts = list(Contact.objects.all())
    checked = 0
    for at in MOMENTS:
        for channel in CHANNELS:
            for purpose in ("newsletter", "sales"):
                bulk = set(
                    contacts_reachable(
                        Contact.objects.all(), channel=channel, purpose=purpose, at=at
                    ).values_list("id", flat=True)
                )
                single = {
                    c.pk
                    for c in contacts
                    if contact_gate(contact=c, channel=channel, purpose=purpose, at=at).allowed
                }
                assert bulk == single, (at, channel, purpose, bulk ^ single)
                checked += 1
    assert checked == len(MOMENTS) * len(CHANNELS) * 2


def test_the_bulk_decision_stays_a_queryset_that_can_be_narrowed(make_contact):
    ann = make_contact("Ann", time_zone="Europe/Paris")
    make_contact("Bob", time_zone="Europe/Paris", channels={"email": "refused"})
    qs = contacts_reachable(
        Contact.objects.filter(display_name__startswith="A"),
        channel="email",
        purpose="newsletter",
        at=utc(2026, 3, 10, 11, 0),
    )
    assert list(qs.filter(pk__gt=0).values_list("id", flat=True)) == [ann.pk]
    assert qs.count() == 1


def test_a_contact_changed_behind_the_hooks_is_refreshed_before_the_bulk_decision(make_contact):
    from django.db.models import F
    from django.utils import timezone

    ann = make_contact(
        "Ann", time_zone="Europe/Paris", hours=[{"day": "tue", "start": "09:00", "end": "10:00"}]
    )
    at = utc(2026, 3, 10, 8, 30)  # 09:30 in Paris, 04:30 in New York
    assert (
        contacts_reachable(Contact.objects.all(), channel="email", purpose="", at=at).count() == 1
    )
    Contact.objects.filter(pk=ann.pk).update(
        time_zone="America/New_York", version=F("version") + 1, updated_at=timezone.now()
    )
    assert (
        contacts_reachable(Contact.objects.all(), channel="email", purpose="", at=at).count() == 0
    )
    assert not contact_gate(contact=ann, channel="email", purpose="sales", at=at).allowed


def test_an_old_write_behind_the_hooks_is_caught_up_by_the_worker_sweep(make_contact):
    import datetime as dt

    from django.db.models import F
    from django.utils import timezone

    from rapport.core.schedule import run_due_duties

    ann = make_contact(
        "Ann", time_zone="Europe/Paris", hours=[{"day": "tue", "start": "09:00", "end": "10:00"}]
    )
    at = utc(2026, 3, 10, 8, 30)  # 09:30 in Paris, 04:30 in New York
    # a write an hour ago, behind the hooks: the bulk decision does not look that far back
    Contact.objects.filter(pk=ann.pk).update(
        time_zone="America/New_York",
        version=F("version") + 1,
        updated_at=timezone.now() - dt.timedelta(hours=1),
    )
    assert (
        contacts_reachable(Contact.objects.all(), channel="email", purpose="", at=at).count() == 1
    )
    assert "outreach.reach" in run_due_duties()
    assert (
        contacts_reachable(Contact.objects.all(), channel="email", purpose="", at=at).count() == 0
    )
