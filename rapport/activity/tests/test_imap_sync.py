"""Mailbox sync against a real Dovecot: initial and incremental sync, a renumbered
folder, faults with back-off, a sync killed half-way, reconcile, the CLI, and the
password at rest."""

from __future__ import annotations

import io
import socket
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from rapport.activity.mail.imap import services
from rapport.activity.mail.imap.commands import mailboxes_sync_cli
from rapport.activity.mail.imap.sync import mailbox_sync, retry_delay
from rapport.activity.models import (
    Interaction,
    Mailbox,
    MailboxFolder,
    MailboxMessage,
    Notification,
)
from rapport.activity.tests.imap_server import ImapAccount, make_message
from rapport.contacts import services as contacts

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(bob):
    """A contact bob knows."""
    return contacts.contact_create(
        actor=bob, data={"given_name": "Ada", "emails": [{"address": "ada@example.com"}]}
    )


def connect(owner, account: ImapAccount, **extra) -> Mailbox:
    data = {
        "name": "Work",
        "host": "127.0.0.1",
        "port": account.server.port,
        "security": "none",
        "username": account.username,
        "password": account.password,
        **extra,
    }
    return services.mailbox_create(actor=owner, data=data)


def known(n: int, *, start: int = 0, subject: str = "Note") -> list[bytes]:
    return [
        make_message(subject=f"{subject} {i}", message_id=f"<{subject.lower()}-{i}@example.com>")
        for i in range(start, start + n)
    ]


def folder(mailbox: Mailbox, name: str = "INBOX") -> MailboxFolder:
    return MailboxFolder.objects.get(mailbox=mailbox, name=name)


def test_the_first_sync_logs_the_inbox_and_sent_and_leaves_messages_unread(bob, ada, imap_account):
    imap_account.append("INBOX", *known(3))
    imap_account.append(
        "INBOX", make_message(sender="Stranger <who@nowhere.example>", subject="Unknown")
    )
    imap_account.append(
        "Sent",
        make_message(sender=f"Bob <{imap_account.username}>", to="ada@example.com", subject="Re"),
    )
    mailbox = connect(bob, imap_account)

    result = mailbox_sync(mailbox_id=mailbox.pk)

    mailbox.refresh_from_db()
    assert result.ran and mailbox.status == "ok" and mailbox.last_error == ""
    assert mailbox.folders == ["INBOX", "Sent"]
    assert Interaction.objects.filter(kind="email", source="mailbox").count() == 4
    inbox = folder(mailbox)
    assert (inbox.seen, inbox.stored, inbox.skipped, inbox.failed) == (4, 3, 1, 0)
    assert inbox.highest_uid == 4 and inbox.uidvalidity and inbox.highest_modseq
    skipped = MailboxMessage.objects.get(folder=inbox, outcome="skipped")
    assert skipped.reason == "no participant is a known contact"
    assert folder(mailbox, "Sent").stored == 1
    assert "the server has 4, all recorded" in inbox.reconcile_report
    client = imap_account.client()
    client.select_folder("INBOX", readonly=True)
    assert client.search(["UNSEEN"]) == [1, 2, 3, 4]  # BODY.PEEK: nothing marked read
    client.logout()


def test_an_incremental_sync_with_nothing_new_changes_nothing_and_then_picks_up_new_mail(
    bob, ada, imap_account
):
    imap_account.append("INBOX", *known(2))
    mailbox = connect(bob, imap_account, folders=["INBOX"])
    mailbox_sync(mailbox_id=mailbox.pk)

    quiet = mailbox_sync(mailbox_id=mailbox.pk)
    assert quiet.folders[0].unchanged
    assert quiet.folders[0].summary() == "INBOX: nothing new"
    assert MailboxMessage.objects.count() == 2

    imap_account.append("INBOX", *known(1, start=2))
    later = mailbox_sync(mailbox_id=mailbox.pk)
    assert (later.folders[0].seen, later.folders[0].stored) == (1, 1)
    assert Interaction.objects.count() == 3
    assert folder(mailbox).highest_uid == 3


def test_a_renumbered_folder_is_read_again_without_duplicates(bob, ada, imap_account):
    imap_account.append("Archive", *known(3, subject="Archived"))
    mailbox = connect(bob, imap_account, folders=["Archive"])
    mailbox_sync(mailbox_id=mailbox.pk)
    before = folder(mailbox, "Archive").uidvalidity
    client = imap_account.client()
    client.delete_folder("Archive")  # a restore from backup: same mail, new numbers
    client.logout()
    imap_account.append("Archive", *known(4, subject="Archived"))

    result = mailbox_sync(mailbox_id=mailbox.pk)

    archive = folder(mailbox, "Archive")
    assert archive.uidvalidity != before
    assert result.folders[0].rescanned
    assert (archive.seen, archive.stored, archive.joined) == (4, 1, 3)
    assert Interaction.objects.count() == 4
    assert "UIDVALIDITY changed" in archive.reconcile_report


def test_a_wrong_password_says_so_backs_off_and_notifies_the_owner_once(bob, imap_account):
    mailbox = connect(bob, imap_account, password="not the password")

    first = mailbox_sync(mailbox_id=mailbox.pk)

    mailbox.refresh_from_db()
    assert first.status == mailbox.status == "error"
    assert "refused the user name or password" in mailbox.last_error
    assert mailbox.consecutive_failures == 1
    wait = mailbox.next_attempt_at - timezone.now()
    assert timedelta(seconds=50) < wait <= timedelta(minutes=1)
    notes = Notification.objects.filter(user=bob, kind="mailbox")
    assert [n.title for n in notes] == ["Mailbox “Work” needs attention"]
    assert mailbox_sync(mailbox_id=mailbox.pk, due_only=True).ran is False  # not due yet

    mailbox_sync(mailbox_id=mailbox.pk)  # "sync now" while still wrong
    mailbox.refresh_from_db()
    assert mailbox.consecutive_failures == 2
    assert timedelta(seconds=110) < mailbox.next_attempt_at - timezone.now() <= timedelta(minutes=2)
    assert notes.count() == 1  # no flood

    services.mailbox_update(actor=bob, mailbox=mailbox, data={"password": imap_account.password})
    assert mailbox_sync(mailbox_id=mailbox.pk, due_only=True).status == "ok"
    mailbox.refresh_from_db()
    assert (mailbox.status, mailbox.consecutive_failures, mailbox.last_error) == ("ok", 0, "")


def test_the_back_off_doubles_from_a_minute_up_to_six_hours():
    assert [retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert retry_delay(9) == timedelta(hours=4, minutes=16)
    assert retry_delay(10) == retry_delay(500) == timedelta(hours=6)


def test_a_vanished_folder_is_named_while_the_others_still_sync(bob, ada, imap_account):
    imap_account.append("INBOX", *known(2))
    imap_account.append("Projects", *known(1, subject="Project"))
    mailbox = connect(bob, imap_account, folders=["INBOX", "Projects"])
    mailbox_sync(mailbox_id=mailbox.pk)
    client = imap_account.client()
    client.delete_folder("Projects")
    client.logout()
    imap_account.append("INBOX", *known(1, start=2))

    result = mailbox_sync(mailbox_id=mailbox.pk)

    mailbox.refresh_from_db()
    assert mailbox.status == "error"
    assert "The folder “Projects” does not exist on the server" in mailbox.last_error
    assert folder(mailbox, "Projects").error.startswith("The folder “Projects” does not exist")
    assert result.folders[0].stored == 1 and folder(mailbox).highest_uid == 3


def test_a_server_that_is_down_puts_the_mailbox_in_back_off_not_in_error(bob):
    port = free_closed_port()
    mailbox = services.mailbox_create(
        actor=bob,
        data={"name": "Down", "host": "127.0.0.1", "port": port, "security": "none"}
        | {"username": "me", "password": "pw"},
    )

    result = mailbox_sync(mailbox_id=mailbox.pk)

    mailbox.refresh_from_db()
    assert result.status == mailbox.status == "backing_off"
    assert f"127.0.0.1:{port} refused the connection: the server is down" in mailbox.last_error
    assert not Notification.objects.exists()
    for _ in range(4):  # the same fault, again and again: after five, the owner hears of it
        mailbox_sync(mailbox_id=mailbox.pk)
    mailbox.refresh_from_db()
    assert (mailbox.status, mailbox.consecutive_failures) == ("error", 5)
    assert Notification.objects.filter(user=bob, kind="mailbox").count() == 1


def test_a_server_that_never_answers_times_out_in_words(bob, monkeypatch):
    monkeypatch.setenv("RAPPORT_MAILBOX_TIMEOUT", "1")
    with silent_server() as port:
        mailbox = services.mailbox_create(
            actor=bob,
            data={"name": "Slow", "host": "127.0.0.1", "port": port, "security": "none"}
            | {"username": "me", "password": "pw"},
        )
        mailbox_sync(mailbox_id=mailbox.pk)
    mailbox.refresh_from_db()
    assert mailbox.status == "backing_off"
    assert f"127.0.0.1:{port} did not answer within 1 seconds" in mailbox.last_error


def test_a_certificate_that_cannot_be_verified_is_an_error_and_a_trusted_one_works(
    bob, ada, imap_account, monkeypatch
):
    imap_account.append("INBOX", *known(1))
    mailbox = connect(
        bob, imap_account, security="ssl", port=imap_account.server.ssl_port, folders=["INBOX"]
    )
    mailbox_sync(mailbox_id=mailbox.pk)
    mailbox.refresh_from_db()
    assert mailbox.status == "error"
    assert "could not be verified (self-signed certificate)" in mailbox.last_error

    monkeypatch.setenv("RAPPORT_MAILBOX_CA_FILE", str(imap_account.server.cert_path))
    assert mailbox_sync(mailbox_id=mailbox.pk).status == "ok"
    services.mailbox_update(
        actor=bob,
        mailbox=mailbox,
        data={"security": "starttls", "port": imap_account.server.port},
    )
    imap_account.append("INBOX", *known(1, start=1))
    assert mailbox_sync(mailbox_id=mailbox.pk).folders[0].stored == 1


class Killed(BaseException):
    """Stands for the worker process dying: nothing after it runs."""


def test_a_sync_killed_half_way_resumes_without_duplicates_or_gaps(bob, ada, imap_account):
    imap_account.append("INBOX", *known(10))
    mailbox = connect(bob, imap_account, folders=["INBOX"])
    read: list[int] = []

    def dies_at_the_seventh(folder_name: str, uid: int) -> None:
        read.append(uid)
        if len(read) == 7:
            raise Killed

    with pytest.raises(Killed):
        mailbox_sync(mailbox_id=mailbox.pk, progress=dies_at_the_seventh, batch_size=4)
    # the batch in flight (UIDs 5-8) was never committed; the first one was
    assert sorted(MailboxMessage.objects.values_list("uid", flat=True)) == [1, 2, 3, 4]
    assert Interaction.objects.count() == 4
    mailbox.refresh_from_db()
    assert mailbox.status == "syncing"
    assert mailbox_sync(mailbox_id=mailbox.pk).ran is False  # its worker still counts as alive
    Mailbox.objects.filter(pk=mailbox.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))

    resumed = mailbox_sync(mailbox_id=mailbox.pk, batch_size=4)

    assert resumed.status == "ok" and resumed.folders[0].seen == 6
    assert sorted(MailboxMessage.objects.values_list("uid", flat=True)) == list(range(1, 11))
    assert Interaction.objects.count() == 10
    assert folder(mailbox).stored == 10


def test_a_folder_renumbered_while_its_killed_first_sync_lay_dead_is_read_again_without_gaps(
    bob, ada, imap_account
):
    messages = known(8, subject="Archived")
    imap_account.append("Archive", *messages)
    mailbox = connect(bob, imap_account, folders=["Archive"])

    def dies_at_the_fifth(folder_name: str, uid: int) -> None:
        if uid == 5:
            raise Killed

    with pytest.raises(Killed):
        mailbox_sync(mailbox_id=mailbox.pk, progress=dies_at_the_fifth, batch_size=4)
    assert Interaction.objects.count() == 4  # the first batch, UIDs 1-4
    client = imap_account.client()
    client.delete_folder("Archive")  # restored from a backup, in another order
    client.logout()
    imap_account.append("Archive", *reversed(messages))
    Mailbox.objects.filter(pk=mailbox.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))

    resumed = mailbox_sync(mailbox_id=mailbox.pk, batch_size=4)

    assert resumed.status == "ok" and resumed.folders[0].rescanned
    assert sorted(Interaction.objects.values_list("message_id", flat=True)) == sorted(
        f"archived-{i}@example.com" for i in range(8)
    )
    archive = folder(mailbox, "Archive")
    assert (archive.seen, archive.stored, archive.joined) == (8, 4, 4)


def test_reconcile_reads_messages_that_were_never_recorded_and_reports_them(bob, ada, imap_account):
    imap_account.append("INBOX", *known(5))
    mailbox = connect(bob, imap_account, folders=["INBOX"])
    mailbox_sync(mailbox_id=mailbox.pk)
    inbox = folder(mailbox)
    MailboxMessage.objects.filter(folder=inbox, uid__in=[2, 4]).delete()  # a gap, somehow
    client = imap_account.client()  # and one message deleted on the server
    client.select_folder("INBOX")
    client.delete_messages([5])
    client.expunge()
    client.logout()

    result = mailbox_sync(mailbox_id=mailbox.pk)

    inbox.refresh_from_db()
    assert result.folders[0].joined == 2
    assert inbox.reconcile_report == (
        "Reconciled: the server has 4, all recorded (2 had not been recorded and were read "
        "now); 1 recorded earlier are no longer on the server."
    )
    assert sorted(MailboxMessage.objects.values_list("uid", flat=True)) == [1, 2, 3, 4, 5]
    assert Interaction.objects.count() == 5


def test_the_password_is_encrypted_at_rest_and_survives_a_key_rotation(
    bob, imap_account, monkeypatch
):
    mailbox = connect(bob, imap_account, password="Sekr1t app password")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM activity_mailbox WHERE id = %s", [mailbox.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert "Sekr1t" not in row
    stored = Mailbox.objects.get(pk=mailbox.pk).password_encrypted
    assert stored.startswith("gAAAA")  # a Fernet token

    from rapport.activity.mail.imap.passwords import key_generate, password_decrypt

    new_key = key_generate()
    monkeypatch.setenv("RAPPORT_MAILBOX_KEY", new_key)  # the SECRET_KEY one stays usable
    assert password_decrypt(stored) == "Sekr1t app password"
    services.mailbox_update(actor=bob, mailbox=mailbox, data={"password": imap_account.password})
    mailbox_sync(mailbox_id=mailbox.pk)
    rotated = Mailbox.objects.get(pk=mailbox.pk).password_encrypted
    monkeypatch.setenv("RAPPORT_MAILBOX_KEY", f"{key_generate()},{new_key}")
    assert password_decrypt(rotated) == imap_account.password
    monkeypatch.setenv("RAPPORT_MAILBOX_KEY", key_generate())
    monkeypatch.setattr("django.conf.settings.SECRET_KEY", "another secret key entirely")
    mailbox_sync(mailbox_id=mailbox.pk)
    mailbox.refresh_from_db()
    assert mailbox.status == "error"
    assert "cannot be decrypted with the configured key" in mailbox.last_error


def test_a_key_file_that_cannot_be_read_refuses_to_save_a_password_and_says_why(
    bob, monkeypatch, tmp_path
):
    from rapport.core.errors import InvalidInput

    monkeypatch.delenv("RAPPORT_MAILBOX_KEY", raising=False)
    monkeypatch.setenv("RAPPORT_MAILBOX_KEY_FILE", str(tmp_path / "gone"))
    data = {"name": "Work", "host": "127.0.0.1", "port": 993, "security": "ssl"}
    with pytest.raises(InvalidInput) as refused:
        services.mailbox_create(actor=bob, data=data | {"username": "me", "password": "pw"})
    [error] = refused.value.errors
    assert error.path == "password"
    assert f"RAPPORT_MAILBOX_KEY_FILE names {tmp_path / 'gone'}, which cannot be read" in (
        error.message
    )
    assert not Mailbox.objects.exists()


def test_the_cli_syncs_one_mailbox_by_name_and_prints_the_counts(bob, ada, imap_account):
    imap_account.append("INBOX", *known(2))
    imap_account.append("INBOX", make_message(sender="x@nowhere.example", subject="?"))
    mailbox = connect(bob, imap_account)
    out = io.StringIO()

    assert mailboxes_sync_cli("Work", out) == 0

    text = out.getvalue()
    assert f"Mailbox {mailbox.pk} “Work” (bob): Synced." in text
    assert "INBOX: 3 read, 2 logged, 0 already known, 1 skipped, 0 failed" in text
    assert "Sent: 0 read" in text
    out = io.StringIO()
    assert mailboxes_sync_cli(None, out) == 0
    assert out.getvalue() == "No mailbox is due for a sync.\n"
    out = io.StringIO()
    assert mailboxes_sync_cli("Nope", out) == 2
    assert "There is no mailbox with the id or name 'Nope'." in out.getvalue()


def test_the_cli_reports_a_failing_mailbox_and_exits_non_zero(bob, imap_account):
    connect(bob, imap_account, password="wrong")
    out = io.StringIO()
    assert mailboxes_sync_cli(None, out) == 1
    assert "refused the user name or password" in out.getvalue()


def test_the_background_duty_syncs_the_mailboxes_that_are_due(bob, ada, imap_account):
    from rapport.core.schedule import run_due_duties

    imap_account.append("INBOX", *known(1))
    mailbox = connect(bob, imap_account, folders=["INBOX"])

    assert "mailboxes.sync" in run_due_duties()

    mailbox.refresh_from_db()
    assert mailbox.status == "ok" and mailbox.last_sync_at is not None
    assert mailbox.next_attempt_at > timezone.now() + timedelta(minutes=4)
    assert Interaction.objects.count() == 1


def free_closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class silent_server:
    """Accepts connections and never says a word."""

    def __enter__(self) -> int:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        return int(self.sock.getsockname()[1])

    def _accept(self) -> None:
        try:
            while True:
                conn, _ = self.sock.accept()
                self.held.append(conn)
        except OSError:
            return

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()
