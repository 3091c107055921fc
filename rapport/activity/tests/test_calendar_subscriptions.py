"""Subscribed calendars fetched from a real HTTP server on 127.0.0.1: conditional
requests, failures with back-off, events gone from the feed, the API and the pages."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from rapport.activity.calendar.subscriptions import (
    subscription_create,
    subscription_refresh,
    subscription_update,
    subscription_url,
    subscriptions_enqueue_due,
)
from rapport.activity.models import CalendarSubscription, Interaction
from rapport.conftest import bearer

API = "/api/v1/calendar/subscriptions"


def feed(*uids: str, summary: str = "Standup") -> bytes:
    """A feed whose events fall in the coming days, whenever the tests run."""
    start = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0)
    events = []
    for i, uid in enumerate(uids):
        begin = start + dt.timedelta(days=i)
        events.append(
            "BEGIN:VEVENT\r\n"
            f"UID:{uid}\r\n"
            f"DTSTART:{begin:%Y%m%dT%H%M%SZ}\r\n"
            f"DTEND:{begin + dt.timedelta(minutes=30):%Y%m%dT%H%M%SZ}\r\n"
            f"SUMMARY:{summary} {i}\r\n"
            "ATTENDEE;CN=Ann Lee:mailto:ann@example.com\r\n"
            "END:VEVENT\r\n"
        )
    text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Feed//EN\r\n"
    return (text + "".join(events) + "END:VCALENDAR\r\n").encode()


class Feed:
    """What the test server serves, and what it was asked."""

    def __init__(self) -> None:
        self.body = feed("a@test", "b@test")
        self.etag = '"v1"'
        self.status = 200
        self.requests: list[dict[str, str]] = []


@pytest.fixture
def server() -> Iterator[tuple[str, Feed]]:
    state = Feed()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            state.requests.append({k: v for k, v in self.headers.items()} | {"path": self.path})
            if self.path.startswith("/moved"):
                self.send_response(302)
                self.send_header("Location", "/calendar.ics")
                self.end_headers()
                return
            if state.status != 200:
                self.send_response(state.status)
                self.end_headers()
                self.wfile.write(b"oops")
                return
            if self.headers.get("If-None-Match") == state.etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar; charset=utf-8")
            self.send_header("ETag", state.etag)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    finally:
        httpd.shutdown()
        httpd.server_close()


def subscribe(user, url: str, **extra) -> CalendarSubscription:
    return subscription_create(actor=user, data={"name": "Team", "url": url, **extra})


def test_a_refresh_stores_the_feed_and_the_next_one_asks_only_for_changes(bob, server):
    base, state = server
    subscription = subscribe(bob, f"{base}/calendar.ics")
    now = timezone.now()
    refreshed = subscription_refresh(subscription_id=subscription.pk, now=now)
    assert refreshed.status == "ok"
    assert refreshed.error == ""
    assert refreshed.last_refreshed_at == now
    assert refreshed.next_refresh_at == now + dt.timedelta(minutes=60)
    assert refreshed.etag == '"v1"'
    assert refreshed.last_report["counts"]["created"] == 2
    assert Interaction.objects.filter(author=bob, kind="meeting").count() == 2
    later = now + dt.timedelta(hours=1)
    again = subscription_refresh(subscription_id=subscription.pk, now=later)
    assert state.requests[-1]["If-None-Match"] == '"v1"'
    assert again.status == "ok"
    assert again.last_refreshed_at == later
    assert again.last_report["not_modified_at"] == later.isoformat()
    assert Interaction.objects.count() == 2


def test_a_changed_feed_updates_and_cancels_what_vanished(bob, server):
    base, state = server
    subscription = subscribe(bob, f"{base}/calendar.ics")
    subscription_refresh(subscription_id=subscription.pk)
    state.body = feed("a@test", summary="Daily")
    state.etag = '"v2"'
    refreshed = subscription_refresh(subscription_id=subscription.pk)
    assert refreshed.last_report["counts"]["updated"] == 1
    assert refreshed.last_report["counts"]["cancelled"] == 1
    kept = Interaction.objects.get(external_key="ical:a@test|single")
    assert kept.subject == "Daily 0"
    gone = Interaction.objects.get(external_key="ical:b@test|single")
    assert gone.cancelled
    assert refreshed.known_uids == ["a@test"]


def test_a_failing_server_is_said_in_words_and_tried_again_later_and_later(bob, server):
    base, state = server
    state.status = 500
    subscription = subscribe(bob, f"{base}/calendar.ics")
    now = timezone.now()
    first = subscription_refresh(subscription_id=subscription.pk, now=now)
    assert first.status == "failing"
    assert first.error == "The server answered 500 Internal Server Error."
    assert first.consecutive_failures == 1
    assert first.next_refresh_at == now + dt.timedelta(hours=2)
    second = subscription_refresh(subscription_id=subscription.pk, now=now)
    assert second.consecutive_failures == 2
    assert second.next_refresh_at == now + dt.timedelta(hours=4)
    state.status = 200
    healed = subscription_refresh(subscription_id=subscription.pk, now=now)
    assert (healed.status, healed.error, healed.consecutive_failures) == ("ok", "", 0)


def test_an_unreachable_server_or_a_page_that_is_no_calendar_fails_with_the_reason(bob, server):
    base, state = server
    state.body = b"<html>Sign in</html>"
    page = subscription_refresh(subscription_id=subscribe(bob, f"{base}/calendar.ics").pk)
    assert page.status == "failing"
    assert page.error.startswith("The address did not return a calendar")
    closed = subscription_refresh(subscription_id=subscribe(bob, "http://127.0.0.1:9/x.ics").pk)
    assert closed.status == "failing"
    assert closed.error.startswith("Could not reach the server")


def test_credentials_in_the_address_are_sent_and_never_shown(bob, client, server):
    base, state = server
    url = base.replace("http://", "http://bob:s3cret@") + "/moved"
    subscription = subscribe(bob, url)
    assert subscription_refresh(subscription_id=subscription.pk).status == "ok"
    assert state.requests[0]["Authorization"] == "Basic Ym9iOnMzY3JldA=="
    assert state.requests[1]["path"] == "/calendar.ics"  # after the redirect
    shown = client.get(f"{API}/{subscription.pk}", **bearer(bob)).json()
    assert "s3cret" not in shown["url"]
    assert shown["url"].startswith("http://bob:***@127.0.0.1:")


def test_the_duty_enqueues_each_due_subscription_once(
    bob, server, django_capture_on_commit_callbacks
):
    base, state = server
    subscription = subscribe(bob, f"{base}/calendar.ics")
    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_enqueue_due() == [subscription.pk]
    subscription.refresh_from_db()
    assert subscription.status == "ok"
    assert Interaction.objects.count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_enqueue_due() == []  # next due in an hour
    assert len(state.requests) == 1


def test_subscriptions_through_the_api(
    client, bob, alice, server, django_capture_on_commit_callbacks
):
    base, state = server
    headers = bearer(bob)
    bad = client.post(
        API,
        {"name": "", "url": "ftp://example.com/x.ics", "refresh_minutes": 1},
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"name", "url", "refresh_minutes"}
    created = client.post(
        API,
        {"name": "Team", "url": f"{base}/calendar.ics"},
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    assert created.json()["status"] == "new"
    assert [s["id"] for s in client.get(API, **headers).json()] == [pk]
    assert client.get(API, **bearer(alice)).json() == []  # nobody else's
    assert client.get(f"{API}/{pk}", **bearer(alice)).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        refreshed = client.post(f"{API}/{pk}/refresh", **headers)
    assert refreshed.status_code == 202
    assert client.get(f"{API}/{pk}", **headers).json()["status"] == "ok"
    patched = client.patch(
        f"{API}/{pk}",
        {"refresh_minutes": 15, "enabled": False},
        content_type="application/json",
        **headers,
    )
    assert patched.json()["refresh_minutes"] == 15
    assert patched.json()["status"] == "paused"
    assert client.post(f"{API}/{pk}/refresh", **headers).status_code == 422
    assert client.delete(f"{API}/{pk}", **headers).status_code == 204
    assert not CalendarSubscription.objects.exists()
    assert Interaction.objects.count() == 2  # the meetings stay


def test_subscriptions_through_the_pages(bob_client, server, django_capture_on_commit_callbacks):
    base, state = server
    refused = bob_client.post(
        "/activity/calendar/subscribe", {"name": "Team", "url": "file:///etc/passwd"}
    )
    assert refused.status_code == 422
    assert "Only http and https" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = bob_client.post(
            "/activity/calendar/subscribe",
            {"name": "Team", "url": f"{base}/calendar.ics", "refresh_minutes": "30"},
        )
    subscription = CalendarSubscription.objects.get()
    assert response.status_code == 302
    page = bob_client.get(response["Location"]).content.decode()
    assert 'data-status="ok"' in page
    assert "2 created" in page
    state.status = 500
    with django_capture_on_commit_callbacks(execute=True):
        bob_client.post(f"/activity/calendar/subscriptions/{subscription.pk}/refresh")
    page = bob_client.get(f"/activity/calendar/subscriptions/{subscription.pk}/").content.decode()
    assert "The server answered 500 Internal Server Error." in page
    listing = bob_client.get("/activity/calendar/").content.decode()
    assert "Failing" in listing
    bob_client.post(f"/activity/calendar/subscriptions/{subscription.pk}/delete")
    assert not CalendarSubscription.objects.exists()


# -- the address at rest -------------------------------------------------------------------


def _row(subscription: CalendarSubscription) -> str:
    """Everything the database holds for the subscription, as text."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM activity_calendarsubscription WHERE id = %s", [subscription.pk]
        )
        return " ".join(str(value) for value in cursor.fetchone())


def test_the_address_is_stored_encrypted_and_shown_with_its_password_hidden(
    bob, bob_client, client, server
):
    base, state = server
    url = base.replace("http://", "http://bob:s3cret@") + "/private-7f3a9c2e41b8d6/calendar.ics"
    subscription = subscribe(bob, url)

    assert "s3cret" not in _row(subscription) and "7f3a9c2e41b8d6" not in _row(subscription)
    assert subscription.url_encrypted.startswith("gAAAA")  # a Fernet token
    assert subscription_refresh(subscription_id=subscription.pk).status == "ok"
    assert state.requests[0]["Authorization"] == "Basic Ym9iOnMzY3JldA=="
    assert state.requests[0]["path"] == "/private-7f3a9c2e41b8d6/calendar.ics"
    shown = client.get(f"{API}/{subscription.pk}", **bearer(bob)).json()["url"]
    assert shown.startswith("http://bob:***@127.0.0.1:") and "s3cret" not in shown
    for page in ("/activity/calendar/", f"/activity/calendar/subscriptions/{subscription.pk}/"):
        text = bob_client.get(page).content.decode()
        assert "bob:***@127.0.0.1" in text and "s3cret" not in text


def test_saving_the_same_address_again_keeps_the_subscriptions_state(bob, server):
    base, state = server
    url = f"{base}/calendar.ics"
    subscription = subscribe(bob, url)
    subscription_refresh(subscription_id=subscription.pk)
    token = CalendarSubscription.objects.get(pk=subscription.pk).url_encrypted
    same = subscription_update(actor=bob, subscription=subscription, data={"url": url})
    assert same.status == "ok" and same.etag == '"v1"' and same.url_encrypted == token
    moved = subscription_update(actor=bob, subscription=subscription, data={"url": url + "?v=2"})
    assert moved.status == "new" and moved.etag == "" and subscription_url(moved) == url + "?v=2"


def test_a_refresh_encrypts_the_address_again_with_a_new_key_and_a_lost_key_is_said(
    bob, client, server, monkeypatch, settings
):
    from rapport.activity.keystore import key_generate

    base, state = server
    url = base.replace("http://", "http://bob:s3cret@") + "/calendar.ics"
    subscription = subscribe(bob, url)  # under the key derived from SECRET_KEY
    old_token = subscription.url_encrypted
    new_key = key_generate()
    monkeypatch.setenv("RAPPORT_MAILBOX_KEY", new_key)
    assert subscription_refresh(subscription_id=subscription.pk).status == "ok"
    rotated = CalendarSubscription.objects.get(pk=subscription.pk)
    assert rotated.url_encrypted != old_token
    settings.SECRET_KEY = "another secret key entirely"  # the new key alone reads it now
    assert subscription_url(rotated) == url

    monkeypatch.setenv("RAPPORT_MAILBOX_KEY", key_generate())  # the key was lost
    failed = subscription_refresh(subscription_id=subscription.pk)
    assert failed.status == "failing"
    assert failed.error == (
        "The stored address cannot be decrypted with the configured key "
        "(RAPPORT_MAILBOX_KEY or SECRET_KEY changed?). Enter the address again."
    )
    client.force_login(bob)  # signed with the new SECRET_KEY
    page = client.get(f"/activity/calendar/subscriptions/{subscription.pk}/").content.decode()
    assert "the stored address cannot be decrypted: enter it again" in page
    healed = subscription_update(actor=bob, subscription=failed, data={"url": url})
    assert subscription_refresh(subscription_id=healed.pk).status == "ok"


def test_a_key_file_that_cannot_be_read_refuses_to_save_an_address_and_says_why(
    bob, client, monkeypatch, tmp_path
):
    monkeypatch.delenv("RAPPORT_MAILBOX_KEY", raising=False)
    missing = tmp_path / "no-such-key"
    monkeypatch.setenv("RAPPORT_MAILBOX_KEY_FILE", str(missing))
    response = client.post(
        API,
        {"name": "Team", "url": "https://bob:s3cret@calendar.example.com/team.ics"},
        content_type="application/json",
        **bearer(bob),
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "url"
    assert error["message"].startswith(
        f"The encryption key cannot be read: RAPPORT_MAILBOX_KEY_FILE names {missing}, "
        "which cannot be read"
    )
    assert not CalendarSubscription.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_the_addresses_stored_before_and_going_back_decrypts_them(bob):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    [target] = [
        key
        for key in executor.loader.disk_migrations
        if key[0] == "activity" and key[1].endswith("_calendar_url_encrypted")
    ]
    [before] = [p for p in executor.loader.graph.node_map[target].parents if p[0] == "activity"]
    leaves = executor.loader.graph.leaf_nodes()
    url = "https://bob:s3cret@calendar.example.com/private-7f3a9c2e41b8d6/basic.ics"
    try:
        executor.migrate([before])
        old = executor.loader.project_state(before).apps.get_model(
            "activity", "CalendarSubscription"
        )
        old.objects.create(owner_id=bob.pk, name="Team", url=url)

        executor = MigrationExecutor(connection)
        executor.migrate([target])
        subscription = CalendarSubscription.objects.get()
        assert subscription_url(subscription) == url
        assert "s3cret" not in _row(subscription) and "7f3a9c2e41b8d6" not in _row(subscription)

        executor = MigrationExecutor(connection)
        executor.migrate([before])
        old = executor.loader.project_state(before).apps.get_model(
            "activity", "CalendarSubscription"
        )
        assert old.objects.get().url == url
    finally:
        MigrationExecutor(connection).migrate(leaves)
