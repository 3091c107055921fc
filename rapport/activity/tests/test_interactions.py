"""Logging interactions through the API and the contact page; who took part; what
"last contacted" counts; private interactions; mentions."""

from __future__ import annotations

import json

import pytest

from rapport.activity.models import Interaction, Notification, Participant
from rapport.activity.services import interactions as services
from rapport.contacts import services as contact_services
from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact


def post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def patch(client, url, body, **headers):
    return client.patch(url, json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def ann(bob):
    return make_contact(
        bob,
        given_name="Ann",
        family_name="Lee",
        emails=[{"address": "ann@example.org"}],
        phones=[{"number": "+44 20 7946 0018"}],
    )


def test_a_telephony_system_posts_a_call_matched_by_number_and_a_retry_stores_it_once(
    bob_client, ann
):
    call = {
        "kind": "call",
        "direction": "inbound",
        "occurred_at": "2026-12-01T10:00:00+01:00",
        "outcome": "connected",
        "duration_seconds": 300,
        "external_id": "pbx-4711",
        "participants": [{"phone": "+44 (0)20 7946 0018", "role": "caller"}],
    }
    first = post(bob_client, "/api/v1/interactions", call)
    assert first.status_code == 201, first.content
    assert first.json()["participants"][0]["contact_id"] == ann.pk
    assert first.json()["participants"][0]["e164"] == "+442079460018"
    again = post(bob_client, "/api/v1/interactions", call)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Interaction.objects.count() == 1
    ann.refresh_from_db()
    assert ann.last_contacted_at.isoformat() == "2026-12-01T09:00:00+00:00"


def test_the_list_filters_by_participant_number_email_kind_and_dates(bob_client, bob, ann):
    for day, kind in ((1, "call"), (2, "note"), (3, "call")):
        services.interaction_create(
            actor=bob,
            data={
                "kind": kind,
                "body": f"day {day}",
                "occurred_at": f"2026-11-0{day}T09:00:00Z",
                "participants": [{"contact_id": ann.pk}],
            },
        )
    listed = bob_client.get("/api/v1/interactions?phone=%2B442079460018&kind=call").json()
    assert [i["body"] for i in listed["items"]] == ["day 3", "day 1"]
    listed = bob_client.get(
        "/api/v1/interactions?email=ANN@example.org&after=2026-11-02&before=2026-11-03"
    ).json()
    assert [i["body"] for i in listed["items"]] == ["day 2"]
    first = bob_client.get(f"/api/v1/interactions?contact={ann.pk}&limit=2").json()
    rest = bob_client.get(
        f"/api/v1/interactions?contact={ann.pk}&limit=2&cursor={first['next_cursor']}"
    ).json()
    assert [i["body"] for i in first["items"] + rest["items"]] == ["day 3", "day 2", "day 1"]
    assert rest["next_cursor"] is None


def test_bad_input_names_every_field_and_saves_nothing(bob_client):
    answer = post(
        bob_client,
        "/api/v1/interactions",
        {
            "kind": "note",
            "occurred_at": "2026-12-01T10:00:00",
            "outcome": "connected",
            "participants": [{"contact_id": 999999}, {"email": "not an address"}],
        },
    )
    assert answer.status_code == 422
    fields = {e["field"] for e in answer.json()["errors"]}
    assert fields == {
        "occurred_at",
        "outcome",
        "body",
        "participants[0].contact_id",
        "participants[1].email",
    }
    assert Interaction.objects.count() == 0
    assert bob_client.get("/api/v1/interactions?cursor=nonsense").status_code == 422
    assert bob_client.get("/api/v1/interactions?email=nobody").status_code == 422


def test_a_stale_if_match_is_refused_and_a_current_one_changes_it(bob_client, bob, ann):
    made = services.interaction_create(
        actor=bob, data={"kind": "note", "body": "First", "participants": [{"contact_id": ann.pk}]}
    ).interaction
    url = f"/api/v1/interactions/{made.pk}"
    etag = bob_client.get(url).headers["ETag"]
    changed = patch(bob_client, url, {"body": "Second"}, HTTP_IF_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["body"] == "Second"
    stale = patch(bob_client, url, {"body": "Third"}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert bob_client.delete(url, HTTP_IF_MATCH=etag).status_code == 412
    assert bob_client.delete(url, HTTP_IF_MATCH=changed.headers["ETag"]).status_code == 204
    assert not Interaction.objects.exists()


def test_html_bodies_are_sanitised_before_they_are_stored(bob_client, ann):
    answer = post(
        bob_client,
        "/api/v1/interactions",
        {
            "kind": "email",
            "direction": "inbound",
            "body_html": '<p onclick="x()">Hi <script>alert(1)</script><img src="https://t.example/p.gif"></p>',
            "participants": [{"contact_id": ann.pk, "role": "from"}],
        },
    )
    stored = answer.json()
    assert "script" not in stored["body_html"]
    assert "onclick" not in stored["body_html"]
    assert "t.example" not in stored["body_html"]  # no remote images: no trackers
    assert stored["body"] == "Hi"


def test_a_participant_kept_as_written_links_itself_when_the_contact_appears_later(bob):
    made = services.interaction_create(
        actor=bob,
        data={
            "kind": "email",
            "direction": "inbound",
            "subject": "Quote",
            "occurred_at": "2026-12-01T10:00:00Z",
            "participants": [
                {"email": "Newcomer@Example.org", "role": "from", "name": "New Comer"},
                {"phone": "+1 415 555 0132", "role": "cc"},
            ],
        },
    ).interaction
    waiting = Participant.objects.filter(interaction=made)
    assert list(waiting.values_list("contact_id", flat=True)) == [None, None]
    newcomer = contact_services.contact_create(
        actor=bob, data={"given_name": "New", "emails": [{"address": "newcomer@example.org"}]}
    )
    assert waiting.get(role="from").contact_id == newcomer.pk
    newcomer.refresh_from_db()
    assert newcomer.last_contacted_at is not None
    # an existing contact gains the number by an edit
    other = make_contact(bob, given_name="Other")
    contact_services.contact_update(
        actor=bob, contact=other, data={"phones": [{"number": "+14155550132"}]}
    )
    assert waiting.get(role="cc").contact_id == other.pk


def test_contacts_created_by_an_import_take_over_their_waiting_mail(bob, tmp_path):
    from django.core.management import call_command

    services.interaction_create(
        actor=bob,
        data={
            "kind": "email",
            "direction": "outbound",
            "body": "Hello",
            "participants": [{"email": "imported@example.org", "role": "to"}],
        },
    )
    path = tmp_path / "people.csv"
    path.write_text("First name,Email\nImogen,imported@example.org\n")
    call_command("import", str(path), "--as", bob.username, "--no-progress")
    imported = Contact.objects.get(given_name="Imogen")
    assert Participant.objects.get(role="to").contact_id == imported.pk


@pytest.mark.parametrize(
    ("data", "counts"),
    [
        ({"kind": "note", "body": "x"}, False),
        ({"kind": "call", "outcome": "no_answer"}, False),
        ({"kind": "call", "outcome": "voicemail"}, False),
        ({"kind": "call", "outcome": "connected"}, True),
        ({"kind": "meeting"}, True),
        ({"kind": "meeting", "cancelled": True}, False),
        ({"kind": "email", "direction": "inbound"}, True),
        ({"kind": "message", "channel": "whatsapp", "direction": "outbound"}, True),
    ],
)
def test_last_contacted_counts_only_two_way_interactions(bob, ann, data, counts):
    services.interaction_create(actor=bob, data={**data, "participants": [{"contact_id": ann.pk}]})
    ann.refresh_from_db()
    assert (ann.last_contacted_at is not None) is counts


def test_last_contacted_goes_back_when_the_interaction_is_deleted(bob, ann):
    older = services.interaction_create(
        actor=bob,
        data={
            "kind": "meeting",
            "occurred_at": "2026-10-01T10:00:00Z",
            "participants": [{"contact_id": ann.pk}],
        },
    ).interaction
    newer = services.interaction_create(
        actor=bob,
        data={
            "kind": "meeting",
            "occurred_at": "2026-11-01T10:00:00Z",
            "participants": [{"contact_id": ann.pk}],
        },
    ).interaction
    ann.refresh_from_db()
    assert ann.last_contacted_at == newer.occurred_at
    services.interaction_delete(actor=bob, interaction=newer)
    ann.refresh_from_db()
    assert ann.last_contacted_at == older.occurred_at


def test_a_private_note_is_seen_only_by_its_author_and_admins(
    bob, alice_client, bob_client, charlie_client, ann
):
    services.interaction_create(
        actor=bob,
        data={
            "kind": "note",
            "body": "Salary talk",
            "private": True,
            "participants": [{"contact_id": ann.pk}],
        },
    )

    def bodies(client):
        return [i["body"] for i in client.get("/api/v1/interactions").json()["items"]]

    assert bodies(bob_client) == ["Salary talk"]
    assert bodies(alice_client) == ["Salary talk"]
    assert bodies(charlie_client) == []
    page = charlie_client.get(f"/contacts/{ann.pk}/")
    assert b"Salary talk" not in page.content
    timeline = charlie_client.get(f"/api/v1/contacts/{ann.pk}/timeline").json()
    assert all(e["source"] != "interaction" for e in timeline["items"])


def test_only_the_author_or_an_admin_changes_what_was_written(bob, alice, ann, django_user_model):
    from rapport.core.errors import NotPermitted

    dora = django_user_model.objects.create_user(username="dora", password="x" * 12, role="member")
    note = services.interaction_create(
        actor=bob, data={"kind": "note", "body": "Mine", "participants": [{"contact_id": ann.pk}]}
    ).interaction
    with pytest.raises(NotPermitted):
        services.interaction_update(actor=dora, interaction=note, data={"body": "Yours"})
    services.interaction_update(actor=alice, interaction=note, data={"body": "Fixed"})
    note.refresh_from_db()
    assert note.body == "Fixed"


def test_a_mention_notifies_the_user_named(bob, alice, ann):
    services.interaction_create(
        actor=bob,
        data={
            "kind": "note",
            "body": "Can @alice call her back? (cc @nobody)",
            "participants": [{"contact_id": ann.pk}],
        },
    )
    notice = Notification.objects.get()
    assert notice.user == alice
    assert notice.kind == "mention"
    assert f"/contacts/{ann.pk}/" in notice.url
    assert Participant.objects.filter(role="mentioned", user=alice).exists()


def test_read_only_users_may_read_but_not_log(charlie_client, ann):
    answer = post(charlie_client, "/api/v1/interactions", {"kind": "note", "body": "x"})
    assert answer.status_code == 403
    assert charlie_client.get("/api/v1/interactions").status_code == 200


def test_deleting_a_contact_keeps_its_interactions_with_the_name_it_had(bob, ann):
    made = services.interaction_create(
        actor=bob, data={"kind": "meeting", "participants": [{"contact_id": ann.pk}]}
    ).interaction
    contact_services.contact_delete(actor=bob, contact=ann)
    kept = Participant.objects.get(interaction=made)
    assert kept.contact_id is None
    assert kept.name == "Ann Lee"


def test_a_meeting_ahead_counts_as_contact_only_once_it_has_happened(bob, ann):
    import datetime as dt

    from django.utils import timezone

    from rapport.activity.services.participants import contacts_catch_up
    from rapport.core.schedule import run_due_duties

    soon = timezone.now() + dt.timedelta(hours=2)
    services.interaction_create(
        actor=bob,
        data={
            "kind": "meeting",
            "occurred_at": soon.isoformat(),
            "participants": [{"contact_id": ann.pk}],
        },
    )
    ann.refresh_from_db()
    assert ann.last_contacted_at is None
    assert contacts_catch_up() == 0
    assert "activity.contacted_catch_up" in run_due_duties(now=soon + dt.timedelta(hours=1))
    assert contacts_catch_up(now=soon + dt.timedelta(minutes=5)) == 1
    ann.refresh_from_db()
    assert ann.last_contacted_at == soon
