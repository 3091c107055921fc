"""One email to many contacts: POST /api/v1/messages/bulk (ids or the list's filters)
runs as a background job through the contact gate, to a real SMTP server; its
counts by outcome, per-recipient results (JSON, CSV, the job page), and a worker
killed mid-send whose successor goes on without sending anyone twice."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from rapport.activity.tests.tasks_support import Inbox, smtp_fixture, smtp_server  # noqa: F401
from rapport.conftest import bearer
from rapport.consent.tests.support import make_purpose, record
from rapport.outreach.models import BulkSend, OutboundMessage
from rapport.outreach.tests.test_sending import window_later

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(bob):
    return Client(), bearer(bob)


@pytest.fixture
def bulletin(alice):
    return make_purpose(alice, "bulletin", is_marketing=True)


def start(client, auth, body):
    return client.post(
        "/api/v1/messages/bulk", json.dumps(body), content_type="application/json", **auth
    )


def test_a_bulk_send_reaches_who_the_gate_allows_and_reports_each_recipient(
    api, make_contact, bulletin, alice, smtp: Inbox, django_capture_on_commit_callbacks
):
    client, auth = api
    hours, opens = window_later()
    ann = make_contact("Ann Lee", email="ann@example.com")
    ben = make_contact("Ben Ode", email="ben@example.com")
    cat = make_contact("Cat Roe", email="cat@example.com", time_zone="UTC", hours=hours)
    dan = make_contact("Dan Poe")  # no address
    for person in (ann, cat, dan):
        record(alice, person, "grant", purpose="bulletin", method="checkbox")
    body = {
        "ids": [ann.pk, ben.pk, cat.pk, dan.pk],
        "purpose": "bulletin",
        "subject": "News for {{ contact.given_name }}",
        "body_text": "Hello {{ contact.given_name }}",
        "when": "next_allowed",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = start(client, auth, body)
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert response["Location"] == f"/api/v1/messages/bulk/{job_id}"

    job = client.get(f"/api/v1/messages/bulk/{job_id}", **auth).json()
    assert job["status"] == "done" and job["done"] == job["total"] == 4
    assert job["counts"] == {
        "sent": 1,
        "queued": 1,
        "blocked": 1,
        "failed": 0,
        "skipped": 1,
        "pending": 0,
    }
    [mail] = smtp.messages
    assert mail["X-Envelope-To"] == "ann@example.com"
    assert mail["Subject"] == "News for Ann"
    unsubscribe = " ".join(str(mail["List-Unsubscribe"]).split())
    assert unsubscribe.startswith("<http://testserver/public/u/")
    assert OutboundMessage.objects.get(to_address="ann@example.com").kind == "bulk"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    items = client.get(f"/api/v1/messages/bulk/{job_id}/results", **auth).json()["items"]
    by_name = {row["name"]: row for row in items}
    assert by_name["Ann Lee"]["outcome"] == "sent" and by_name["Ann Lee"]["message_id"]
    assert by_name["Ben Ode"]["outcome"] == "blocked"
    assert "consent" in by_name["Ben Ode"]["reasons"].lower()
    assert by_name["Cat Roe"]["outcome"] == "queued"
    assert by_name["Cat Roe"]["until"].startswith(opens.isoformat()[:16])
    assert by_name["Dan Poe"]["outcome"] == "skipped"
    assert "no email address" in by_name["Dan Poe"]["reasons"]

    download = client.get(f"/api/v1/messages/bulk/{job_id}/results?format=csv", **auth)
    assert download["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert [(r["name"], r["outcome"]) for r in rows] == [
        ("Ann Lee", "sent"),
        ("Ben Ode", "blocked"),
        ("Cat Roe", "queued"),
        ("Dan Poe", "skipped"),
    ]


def test_a_bulk_send_by_the_lists_filters_sends_to_what_the_list_shows(
    api, make_contact, bulletin, alice, smtp: Inbox, django_capture_on_commit_callbacks
):
    client, auth = api
    ann = make_contact("Ann Lee", email="ann@example.com")
    ben = make_contact("Ben Ode", email="ben@example.com")
    for person in (ann, ben):
        record(alice, person, "grant", purpose="bulletin", method="checkbox")
    body = {
        "filter": {"q": "Ann"},
        "purpose": "bulletin",
        "subject": "Hi",
        "body_text": "x",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = start(client, auth, body)
    assert response.status_code == 202, response.content
    assert response.json()["total"] == 1
    assert [m["X-Envelope-To"] for m in smtp.messages] == ["ann@example.com"]


def test_a_bulk_send_with_wrong_input_names_every_field_and_queues_nothing(api, make_contact):
    client, auth = api
    ann = make_contact("Ann Lee", email="ann@example.com")
    response = start(client, auth, {"ids": [ann.pk], "purpose": "nope", "when": "later"})
    assert response.status_code == 422, response.content
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"purpose", "when", "subject", "body_text"} <= fields, response.json()
    response = start(client, auth, {"purpose": "bulletin", "subject": "x", "body_text": "y"})
    assert response.status_code == 422
    assert not BulkSend.objects.exists()


def test_a_viewer_may_not_start_a_bulk_send(charlie, make_contact, bulletin):
    ann = make_contact("Ann Lee", email="ann@example.com")
    response = start(
        Client(),
        bearer(charlie),
        {"ids": [ann.pk], "purpose": "bulletin", "subject": "x", "body_text": "y"},
    )
    assert response.status_code == 403
    assert not BulkSend.objects.exists()


def test_the_job_page_shows_counts_and_offers_the_results_as_csv(
    bob, make_contact, bulletin, alice, smtp: Inbox, django_capture_on_commit_callbacks
):
    from rapport.outreach.services.bulk import bulk_send_start

    ann = make_contact("Ann Lee", email="ann@example.com")
    ben = make_contact("Ben Ode", email="ben@example.com")
    record(alice, ann, "grant", purpose="bulletin", method="checkbox")
    with django_capture_on_commit_callbacks(execute=True):
        job = bulk_send_start(
            actor=bob, purpose="bulletin", ids=[ann.pk, ben.pk], subject="Hi", body_text="x"
        )
    client = Client()
    client.force_login(bob)
    page = client.get(f"/outreach/bulk/{job.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "2 of 2" in text
    assert "Sent" in text and "Blocked" in text
    assert f"/outreach/bulk/{job.pk}/results.csv" in text
    download = client.get(f"/outreach/bulk/{job.pk}/results.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert {r["email"]: r["outcome"] for r in rows} == {
        "ann@example.com": "sent",
        "ben@example.com": "blocked",
    }
    # someone else's job is not shown
    other = Client()
    other.force_login(make_user("dora"))
    assert other.get(f"/outreach/bulk/{job.pk}/").status_code == 404


def make_user(name: str) -> Any:
    from rapport.access.models import User

    return User.objects.create_user(username=name, role=User.Role.MEMBER)


# -- a killed worker -----------------------------------------------------------------


class SlowInbox(Inbox):
    """Accepts each message after a pause, so a job is still sending when it is killed."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        import asyncio

        await asyncio.sleep(0.15)
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.slow
def test_a_bulk_send_whose_worker_is_killed_goes_on_in_the_next_and_sends_nobody_twice(
    tmp_path: Path, transactional_db, settings
):
    from rapport.core.tests.test_jobs import _shared_database

    env, query = _shared_database(tmp_path)
    stale = 2
    env["RAPPORT_JOB_STALE_SECONDS"] = str(stale)
    rapport = [sys.executable, "-m", "rapport.cli"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*rapport, *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done

    with smtp_server(settings, SlowInbox()) as inbox:
        env.update(
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(settings.EMAIL_PORT),
            DEFAULT_FROM_EMAIL="rapport@crm.example.com",
        )
        run("migrate", "--no-input")
        people = 30
        script = (
            "from rapport.access.models import User\n"
            "from rapport.consent.tests.support import make_purpose, record\n"
            "from rapport.contacts.services import contact_create\n"
            "from rapport.outreach.services.bulk import bulk_send_start\n"
            "admin = User.objects.create_user(username='admin', role='admin')\n"
            "make_purpose(admin, 'bulletin', is_marketing=True)\n"
            "ids = []\n"
            f"for n in range({people}):\n"
            "    c = contact_create(actor=admin, data={'full_name': f'P{n} Test',\n"
            "        'emails': [{'address': f'p{n}@example.com'}]}, via='api')\n"
            "    record(admin, c, 'grant', purpose='bulletin', method='checkbox')\n"
            "    ids.append(c.pk)\n"
            "bulk_send_start(actor=admin, purpose='bulletin', ids=ids, subject='Hi',\n"
            "    body_text='x')\n"
        )
        run("shell", "--no-imports", "-c", script)
        ((job_id, status),) = query("SELECT id, status FROM outreach_bulksend")
        assert status == "queued"
        worker = subprocess.Popen(
            [*rapport, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(inbox.messages) < 8:
            time.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        killed_at = time.monotonic()
        ((status, done),) = query(f"SELECT status, done FROM outreach_bulksend WHERE id={job_id}")
        assert status == "running", "the worker should have been killed mid-send"
        before = len(inbox.messages)
        assert 8 <= before < people

        time.sleep(max(0.0, stale + 0.5 - (time.monotonic() - killed_at)))
        run("worker", "--batch")  # the next worker takes it over at its start
        ((status, done),) = query(f"SELECT status, done FROM outreach_bulksend WHERE id={job_id}")
        assert (status, done) == ("done", people)
        received = Counter(m["X-Envelope-To"] for m in inbox.messages)
        assert max(received.values()) == 1, received
        statuses = Counter(
            s
            for (s,) in query(
                f"SELECT status FROM outreach_outboundmessage WHERE bulk_job_id={job_id}"
            )
        )
        assert sum(statuses.values()) == people
        # at most the message in flight at the kill waits for the stale-claim retry
        assert statuses["sent"] >= people - 1 and len(received) >= people - 1
        assert statuses["sent"] == len(received) or statuses["sending"] == 1


def test_the_contact_lists_bulk_bar_sends_email_to_the_ticked_contacts(
    bob, make_contact, bulletin, alice, smtp: Inbox, django_capture_on_commit_callbacks
):
    ann = make_contact("Ann Lee", email="ann@example.com")
    ben = make_contact("Ben Ode", email="ben@example.com")
    record(alice, ann, "grant", purpose="bulletin", method="checkbox")
    record(alice, ben, "grant", purpose="bulletin", method="checkbox")
    client = Client()
    client.force_login(bob)
    listing = client.get("/contacts/").content.decode()
    assert '<option value="send_email">Send email…</option>' in listing
    response = client.post(
        "/contacts/bulk/", {"action": "send_email", "id": [ann.pk], "query": "q=Lee"}
    )
    assert response.status_code == 302
    form = client.get(response["Location"])
    assert form.status_code == 200
    assert "Send email to 1 contact" in form.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            "/outreach/bulk/new/",
            {
                "scope": "selected",
                "id": [ann.pk],
                "purpose": "bulletin",
                "subject": "Hello",
                "body_text": "News",
                "when": "now",
            },
        )
    assert sent.status_code == 302
    job = BulkSend.objects.get()
    assert sent["Location"] == f"/outreach/bulk/{job.pk}/"
    assert [m["X-Envelope-To"] for m in smtp.messages] == ["ann@example.com"]
    # a form with a missing subject says so and sends nothing
    again = client.post(
        "/outreach/bulk/new/",
        {"scope": "selected", "id": [ben.pk], "purpose": "bulletin", "body_text": "x"},
    )
    assert again.status_code == 422
    assert "Give a subject, or a template." in again.content.decode()
    assert BulkSend.objects.count() == 1


def test_a_viewer_is_not_offered_the_bulk_send(charlie, make_contact, bulletin):
    make_contact("Ann Lee", email="ann@example.com")
    client = Client()
    client.force_login(charlie)
    assert 'value="send_email"' not in client.get("/contacts/").content.decode()
    assert client.get("/outreach/bulk/new/").status_code == 403
