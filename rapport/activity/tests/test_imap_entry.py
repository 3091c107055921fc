"""The ways into mailboxes: the Mailboxes pages and /api/v1/mailboxes, against Dovecot."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.activity.models import Interaction, Mailbox
from rapport.activity.tests.imap_server import make_message
from rapport.conftest import bearer
from rapport.contacts import services as contacts

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(bob):
    return contacts.contact_create(
        actor=bob, data={"given_name": "Ada", "emails": [{"address": "ada@example.com"}]}
    )


def form(account, **extra) -> dict[str, str]:
    return {
        "name": "Work",
        "host": "127.0.0.1",
        "port": str(account.server.port),
        "security": "none",
        "username": account.username,
        "password": account.password,
        "policy": "known",
        "folders": "",
        **extra,
    }


def test_adding_a_mailbox_tests_the_connection_then_saves_and_syncs_it(
    bob_client, bob, ada, imap_account, django_capture_on_commit_callbacks
):
    imap_account.append("INBOX", make_message(subject="Lunch?"))

    wrong = bob_client.post("/mailboxes/add/", form(imap_account, password="nope", action="test"))
    assert wrong.status_code == 200
    assert "The connection test failed." in wrong.content.decode()
    assert "refused the user name or password" in wrong.content.decode()
    assert b"nope" not in wrong.content  # a typed password is never sent back
    assert not Mailbox.objects.exists()

    tested = bob_client.post(
        "/mailboxes/add/", form(imap_account, action="test"), HTTP_HX_REQUEST="true"
    )
    page = tested.content.decode()
    assert "Connection works" in page and "Sent folder “Sent”" in page
    assert "INBOX, Sent" in page

    with django_capture_on_commit_callbacks(execute=True):
        saved = bob_client.post("/mailboxes/add/", form(imap_account, action="save"))
    saved = bob_client.get(saved["Location"])

    mailbox = Mailbox.objects.get(owner=bob)
    assert saved.request["PATH_INFO"] == f"/mailboxes/{mailbox.pk}/"
    page = saved.content.decode()
    assert "Mailbox “Work” added" in page
    assert "Stored encrypted" in page and imap_account.password not in page
    assert Interaction.objects.filter(subject="Lunch?").exists()  # the first sync ran
    assert '<td data-label="Logged">1</td>' in page


def test_a_mailbox_form_names_each_field_that_is_wrong_and_saves_nothing(bob_client):
    response = bob_client.post(
        "/mailboxes/add/",
        {"name": "", "host": "not a host!", "port": "99999", "security": "ssl", "username": "u"}
        | {"password": "", "action": "save"},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "4 things need fixing" in page
    assert "Not a host name or address" in page and "Must be between 1 and 65535." in page
    assert not Mailbox.objects.exists()


def test_the_status_page_shows_errors_in_words_and_sync_now_retries(
    bob_client, bob, imap_account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        bob_client.post("/mailboxes/add/", form(imap_account, password="wrong", action="save"))
    mailbox = Mailbox.objects.get(owner=bob)

    page = bob_client.get(f"/mailboxes/{mailbox.pk}/").content.decode()
    assert "Needs attention" in page and "refused the user name or password" in page

    bob_client.post(
        f"/mailboxes/{mailbox.pk}/edit/",
        form(imap_account, action="save", enabled="on", folders="INBOX"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = bob_client.post(f"/mailboxes/{mailbox.pk}/sync/", follow=True)
    page = response.content.decode()
    assert "A sync was started" in page
    mailbox.refresh_from_db()
    assert mailbox.status == "ok" and mailbox.folders == ["INBOX"]
    listing = bob_client.get("/mailboxes/").content.decode()
    assert "Work" in listing and imap_account.username in listing


def test_nobody_sees_or_changes_someone_elses_mailbox(
    bob, alice_client, charlie_client, imap_account
):
    from rapport.activity.mail.imap.services import mailbox_create

    mailbox = mailbox_create(actor=bob, data=form(imap_account))
    assert alice_client.get(f"/mailboxes/{mailbox.pk}/").status_code == 404
    assert alice_client.post(f"/mailboxes/{mailbox.pk}/delete/").status_code == 404
    assert "Work" not in alice_client.get("/mailboxes/").content.decode()
    assert charlie_client.get("/mailboxes/").status_code == 403  # read-only users have none
    assert Mailbox.objects.filter(pk=mailbox.pk).exists()


def test_the_api_creates_a_mailbox_without_ever_returning_its_password_and_syncs_it(
    bob, ada, imap_account, django_capture_on_commit_callbacks
):
    imap_account.append("INBOX", make_message(subject="Contract"))
    client = Client(**bearer(bob))
    body = {
        "name": "Work",
        "host": "127.0.0.1",
        "port": imap_account.server.port,
        "security": "none",
        "username": imap_account.username,
        "password": imap_account.password,
        "folders": ["INBOX"],
    }

    tested = client.post("/api/v1/mailboxes/test", body, content_type="application/json")
    assert tested.status_code == 200
    assert tested.json() | {"message": ""} == {
        "ok": True,
        "message": "",
        "folders": ["INBOX", "Sent"],
        "sent_folder": "Sent",
        "condstore": True,
    }
    refused = client.post(
        "/api/v1/mailboxes/test", body | {"password": "wrong"}, content_type="application/json"
    )
    assert refused.json()["ok"] is False
    assert "refused the user name or password" in refused.json()["message"]

    created = client.post("/api/v1/mailboxes", body, content_type="application/json")

    assert created.status_code == 201, created.content
    data = created.json()
    assert "password" not in data and imap_account.password not in created.content.decode()
    assert data["status"] == "ok" and data["folders"] == ["INBOX"]
    mailbox_id = data["id"]
    assert created["Location"] == f"/api/v1/mailboxes/{mailbox_id}"

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(f"/api/v1/mailboxes/{mailbox_id}/sync")
    assert started.status_code == 202
    read = client.get(f"/api/v1/mailboxes/{mailbox_id}").json()
    assert read["status"] == "ok" and read["last_sync_at"]
    assert read["folder_states"][0]["stored"] == 1
    assert Interaction.objects.filter(subject="Contract", source="mailbox").exists()

    listed = client.get("/api/v1/mailboxes").json()
    assert [m["name"] for m in listed["items"]] == ["Work"]
    paused = client.patch(
        f"/api/v1/mailboxes/{mailbox_id}", {"enabled": False}, content_type="application/json"
    )
    assert paused.json()["status"] == "disabled"
    assert client.post(f"/api/v1/mailboxes/{mailbox_id}/sync").status_code == 409
    assert client.delete(f"/api/v1/mailboxes/{mailbox_id}").status_code == 204
    assert not Mailbox.objects.exists()


def test_the_api_names_each_invalid_field(bob):
    client = Client(**bearer(bob))
    response = client.post(
        "/api/v1/mailboxes",
        {"name": "x", "host": "imap.example.com", "port": 0, "security": "tls"},
        content_type="application/json",
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert "security" in fields
    response = client.post(
        "/api/v1/mailboxes",
        {"name": "x", "host": "imap.example.com", "port": 0, "username": "u"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"port", "password"}
    assert not Mailbox.objects.exists()


def test_another_users_mailbox_is_not_found_through_the_api(bob, alice, imap_account):
    from rapport.activity.mail.imap.services import mailbox_create

    mailbox = mailbox_create(actor=bob, data=form(imap_account))
    client = Client(**bearer(alice))
    assert client.get(f"/api/v1/mailboxes/{mailbox.pk}").status_code == 404
    assert client.post(f"/api/v1/mailboxes/{mailbox.pk}/sync").status_code == 404
    assert client.get("/api/v1/mailboxes").json() == {"items": []}


def test_a_mailbox_whose_sync_process_died_says_so_and_sync_now_takes_it_over(
    bob_client, bob, ada, imap_account, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    imap_account.append("INBOX", make_message(subject="Quarterly numbers"))
    with django_capture_on_commit_callbacks(execute=False):
        bob_client.post("/mailboxes/add/", form(imap_account, action="save", folders="INBOX"))
    mailbox = Mailbox.objects.get(owner=bob)
    # what a sync killed half-way leaves: "syncing", and a heartbeat that stopped
    Mailbox.objects.filter(pk=mailbox.pk).update(status="syncing", heartbeat_at=timezone.now())
    client = Client()
    client.force_login(bob)
    assert client.post(f"/api/v1/mailboxes/{mailbox.pk}/sync").status_code == 409  # alive
    Mailbox.objects.filter(pk=mailbox.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))

    page = bob_client.get(f"/mailboxes/{mailbox.pk}/").content.decode()
    assert "Sync stopped" in page and "Syncing…" not in page
    assert client.get(f"/api/v1/mailboxes/{mailbox.pk}").json()["status_text"] == "Sync stopped"
    with django_capture_on_commit_callbacks(execute=True):
        response = bob_client.post(f"/mailboxes/{mailbox.pk}/sync/", follow=True)

    assert "A sync was started" in response.content.decode()
    mailbox.refresh_from_db()
    assert mailbox.status == "ok" and not mailbox.sync_stopped
    assert Interaction.objects.filter(subject="Quarterly numbers").exists()
