"""The timeline on contact and organization pages and in the API, quick logging from a
contact's page, and the contact list's "last contacted" and "next step"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.activity.models import Interaction, Task
from rapport.activity.selectors import timeline
from rapport.activity.services import interactions as services
from rapport.contacts.tests.factories import employ, make_contact, make_organization


def log(actor, contact, when, kind="note", **data):
    return services.interaction_create(
        actor=actor,
        data={
            "kind": kind,
            "occurred_at": when.isoformat(),
            "participants": [{"contact_id": contact.pk}],
            **({"body": f"{kind} at {when:%H:%M:%S}"} if kind == "note" else {}),
            **data,
        },
    ).interaction


@pytest.fixture
def ann(bob):
    return make_contact(bob, given_name="Ann", emails=[{"address": "ann@example.org"}])


def test_paging_walks_every_entry_once_newest_first_even_with_ties(bob, ann):
    base = timezone.now() - dt.timedelta(days=1)
    for i in range(7):
        log(bob, ann, base + dt.timedelta(minutes=i // 2))  # pairs share a moment
    task = Task.objects.create(title="Send the offer", created_by=bob)
    task.contacts.add(ann)
    seen, cursor = [], None
    while True:
        page = timeline.contact_timeline(actor=bob, contact_id=ann.pk, cursor=cursor, limit=3)
        seen += [(e.source, e.pk) for e in page.entries]
        cursor = page.next_cursor
        if cursor is None:
            break
    interactions = list(
        Interaction.objects.order_by("-occurred_at", "-id").values_list("id", flat=True)
    )
    assert [pk for source, pk in seen if source == "interaction"] == interactions
    assert ("task", task.pk) in seen
    assert any(source == "change" for source, _ in seen)  # the contact's creation
    assert len(seen) == len(set(seen)) == 7 + 1 + 1
    moments = [
        e.at for e in timeline.contact_timeline(actor=bob, contact_id=ann.pk, limit=100).entries
    ]
    assert moments == sorted(moments, reverse=True)


def test_the_timeline_filters_by_kind(bob, ann):
    now = timezone.now()
    log(bob, ann, now - dt.timedelta(hours=2))
    log(bob, ann, now - dt.timedelta(hours=1), kind="call", outcome="connected")
    calls = timeline.contact_timeline(actor=bob, contact_id=ann.pk, kinds=["call"])
    assert [e.item.kind for e in calls.entries] == ["call"]
    changes = timeline.contact_timeline(actor=bob, contact_id=ann.pk, kinds=["change"])
    assert [e.source for e in changes.entries] == ["change"]


def test_an_organizations_timeline_holds_its_peoples_interactions(bob, ann):
    acme = make_organization(bob, name="Acme")
    employ(ann, acme, bob)
    outsider = make_contact(bob, given_name="Out")
    log(bob, ann, timezone.now() - dt.timedelta(hours=1), body="Ann at Acme")
    log(bob, outsider, timezone.now(), body="Not Acme")
    entries = timeline.organization_timeline(actor=bob, organization_id=acme.pk).entries
    bodies = [e.item.body for e in entries if e.source == "interaction"]
    assert bodies == ["Ann at Acme"]


def test_an_organizations_timeline_pages_through_its_people_once_each(bob, ann):
    acme = make_organization(bob, name="Acme")
    ben = make_contact(bob, given_name="Ben")
    employ(ann, acme, bob)
    employ(ben, acme, bob)
    base = timezone.now() - dt.timedelta(days=1)
    for i in range(9):
        who = ann if i % 2 else ben
        log(bob, who, base + dt.timedelta(minutes=i // 3), body=f"n{i}")  # threes share a moment
    both = services.interaction_create(
        actor=bob,
        data={
            "kind": "note",
            "body": "both",
            "occurred_at": base.isoformat(),
            "participants": [{"contact_id": ann.pk}, {"contact_id": ben.pk}],
        },
    ).interaction
    seen, cursor = [], None
    while True:
        page = timeline.organization_timeline(
            actor=bob, organization_id=acme.pk, kinds=(), cursor=cursor, limit=4
        )
        seen += [e.pk for e in page.entries if e.source == "interaction"]
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = list(
        Interaction.objects.order_by("-occurred_at", "-id").values_list("id", flat=True)
    )
    assert seen == expected
    assert seen.count(both.pk) == 1


def test_the_contact_page_shows_the_timeline_and_loads_more(bob_client, bob, ann):
    base = timezone.now() - dt.timedelta(days=2)
    for i in range(timeline.PAGE + 5):
        log(bob, ann, base + dt.timedelta(minutes=i))
    page = bob_client.get(f"/contacts/{ann.pk}/")
    html = page.content.decode()
    assert 'id="h-timeline"' in html
    assert "note at" in html
    assert 'id="h-history"' not in html  # the timeline holds the change history
    assert "Load more" in html
    first = timeline.contact_timeline(actor=bob, contact_id=ann.pk)
    more = bob_client.get(
        f"/contacts/{ann.pk}/timeline/",
        {"cursor": first.next_cursor},
        HTTP_HX_REQUEST="true",
    )
    assert more.status_code == 200
    assert more.content.decode().count('class="timeline__entry') == 6  # 5 notes + creation
    # without JavaScript, "load more" is a page of its own
    plain = bob_client.get(f"/contacts/{ann.pk}/timeline/", {"cursor": first.next_cursor})
    assert "<html" in plain.content.decode()
    broken = bob_client.get(f"/contacts/{ann.pk}/timeline/", {"cursor": "x"})
    assert broken.status_code == 200
    assert "cursor is not valid" in broken.content.decode()


def test_a_call_logged_from_the_contact_page_lands_on_the_timeline(bob_client, bob, ann):
    answer = bob_client.post(
        f"/contacts/{ann.pk}/log/",
        {
            "kind": "call",
            "direction": "outbound",
            "outcome": "connected",
            "duration_minutes": "12",
            "body": "Renewal: wants a quote by Friday",
        },
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "Call logged." in html
    assert "Renewal: wants a quote by Friday" in html
    assert "12 min" in html
    call = Interaction.objects.get()
    roles = sorted(call.participants.values_list("role", "contact_id", "user_id"))
    assert roles == [("callee", ann.pk, None), ("caller", None, bob.pk)]
    ann.refresh_from_db()
    assert ann.last_contacted_at == call.occurred_at


def test_a_meeting_logged_in_the_users_time_zone_keeps_its_wall_clock(bob_client, bob, ann):
    bob.time_zone = "America/New_York"
    bob.save()
    bob_client.post(
        f"/contacts/{ann.pk}/log/",
        {
            "kind": "meeting",
            "subject": "Kick-off",
            "occurred_at": "2026-07-01T09:30",
            "duration_minutes": "45",
        },
    )
    meeting = Interaction.objects.get()
    assert meeting.occurred_at == dt.datetime(2026, 7, 1, 13, 30, tzinfo=dt.UTC)
    assert meeting.ends_at - meeting.occurred_at == dt.timedelta(minutes=45)


def test_a_bad_quick_log_says_why_and_logs_nothing(bob_client, ann):
    answer = bob_client.post(
        f"/contacts/{ann.pk}/log/", {"kind": "note", "body": "   "}, HTTP_HX_REQUEST="true"
    )
    assert "Nothing was logged" in answer.content.decode()
    assert "A note needs some text." in answer.content.decode()
    assert not Interaction.objects.exists()
    plain = bob_client.post(f"/contacts/{ann.pk}/log/", {"kind": "call", "duration_minutes": "x"})
    assert plain.status_code == 302
    assert not Interaction.objects.exists()


def test_the_timeline_api_pages_with_a_cursor(bob_client, bob, ann):
    base = timezone.now() - dt.timedelta(days=1)
    for i in range(4):
        log(bob, ann, base + dt.timedelta(minutes=i))
    first = bob_client.get(f"/api/v1/contacts/{ann.pk}/timeline?limit=3").json()
    rest = bob_client.get(
        f"/api/v1/contacts/{ann.pk}/timeline?limit=3&cursor={first['next_cursor']}"
    ).json()
    sources = [e["source"] for e in first["items"] + rest["items"]]
    assert sources.count("interaction") == 4
    assert sources.count("change") == 1
    assert rest["next_cursor"] is None
    assert bob_client.get("/api/v1/contacts/999999/timeline").status_code == 404
    assert bob_client.get(f"/api/v1/contacts/{ann.pk}/timeline?kind=bogus").status_code == 422


def test_the_contact_list_sorts_and_filters_by_last_contacted_and_next_step(bob_client, bob):
    never = make_contact(bob, given_name="Never")
    long_ago = make_contact(bob, given_name="Longago")
    lately = make_contact(bob, given_name="Lately")
    now = timezone.now()
    log(bob, long_ago, now - dt.timedelta(days=90), kind="meeting")
    log(bob, lately, now - dt.timedelta(days=1), kind="meeting")

    def names(**params):
        items = bob_client.get("/api/v1/contacts", params).json()["items"]
        return [c["given_name"] for c in items]

    assert names(sort="-last_contacted") == ["Lately", "Longago", "Never"]
    shown = bob_client.get(f"/api/v1/contacts/{lately.pk}").json()
    assert shown["last_contacted_at"] is not None and shown["next_step"] is None
    assert names(sort="last_contacted") == ["Never", "Longago", "Lately"]
    since = (now - dt.timedelta(days=30)).isoformat()
    assert names(not_contacted_since=since, sort="name") == ["Longago", "Never"]
    assert names(contacted_after=since) == ["Lately"]
    # paging through a sort with empty values in it walks every contact once
    first = bob_client.get("/api/v1/contacts", {"sort": "last_contacted", "limit": 1}).json()
    seen = [first["items"][0]["given_name"]]
    cursor = first["next_cursor"]
    while cursor:
        page = bob_client.get(
            "/api/v1/contacts", {"sort": "last_contacted", "limit": 1, "cursor": cursor}
        ).json()
        seen += [c["given_name"] for c in page["items"]]
        cursor = page["next_cursor"]
    assert seen == ["Never", "Longago", "Lately"]
    page = bob_client.get("/contacts/", {"sort": "-last_contacted"})
    assert page.status_code == 200
    del never
