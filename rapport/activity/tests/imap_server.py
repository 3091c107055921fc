"""A private Dovecot IMAP server for the mailbox tests (and the IMAP benchmark).

Started as the current user on free loopback ports, with its own configuration, state
and maildirs under a temporary directory: plain IMAP (with STARTTLS) on one port, IMAPS
on another, both with a self-signed certificate made here, passwd-file accounts and
CONDSTORE. Test messages arrive by IMAP APPEND, as a mail client would file them.

Without Dovecot installed (Debian: ``apt-get install dovecot-imapd``) the tests that need
it are skipped with a message saying so, except under ``CI=true``, where it is a failure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import grp
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

ACCOUNTS = 500
DOVECOT_SEARCH = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")


def dovecot_binary() -> str | None:
    found = shutil.which("dovecot")
    if found:
        return found
    return next((path for path in DOVECOT_SEARCH if Path(path).exists()), None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login_user}
first_valid_uid = 0
first_valid_gid = 0
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
mail_location = maildir:{root}/mail/%u
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # no authentication penalty: tests fail sign-ins on purpose, and the ones after
  # would each wait seconds
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service auth {{
  user = {user}
}}
service auth-worker {{
  user = {user}
}}
service stats {{
  chroot =
}}
"""


@dataclass
class ImapAccount:
    """One mail account on the test server."""

    server: DovecotServer
    username: str
    password: str

    def client(self):  # -> imapclient.IMAPClient
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.server.port, ssl=False, timeout=10)
        client.login(self.username, self.password)
        return client

    def append(self, folder: str, *messages: bytes) -> None:
        """File ``messages`` into ``folder`` (created when missing), as a client would."""
        client = self.client()
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            if len(messages) > 1 and client.has_capability("MULTIAPPEND"):
                for start in range(0, len(messages), 500):
                    client.multiappend(folder, list(messages[start : start + 500]))
            else:
                for message in messages:
                    client.append(folder, message)
        finally:
            client.logout()


@dataclass
class DovecotServer:
    """A running private Dovecot; ``account()`` adds a fresh user to it."""

    root: Path
    port: int
    ssl_port: int
    cert_path: Path
    process: subprocess.Popen[bytes]
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def account(self) -> ImapAccount:
        """A user nobody used before (from the accounts made at start: Dovecot looks at
        its passwd-file at most once a second, so users added later may go unseen)."""
        number = next(self._numbers)
        if number > ACCOUNTS:
            raise RuntimeError(f"The test server has only {ACCOUNTS} accounts")
        return ImapAccount(self, f"user{number}@example.test", f"app password {number}")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_for(port: int, process: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (
                (root / "dovecot.log").read_text(errors="replace")
                if (root / "dovecot.log").exists()
                else ""
            )
            raise RuntimeError(f"Dovecot stopped at start (exit {process.returncode}):\n{log}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5) as s:
            if s.recv(100).startswith(b"* OK"):
                return
        time.sleep(0.05)
    raise RuntimeError(f"Dovecot did not answer on 127.0.0.1:{port} within 15 s")


def _first_user(*names: str) -> str:
    for name in names:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name).pw_name
    raise RuntimeError(f"None of the users {', '.join(names)} exists")


def dovecot_start(root: Path) -> DovecotServer:
    """Start a private Dovecot in ``root`` (which it owns from now on)."""
    binary = dovecot_binary()
    if binary is None:
        raise FileNotFoundError("dovecot is not installed")
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "passwd").write_text(
        "".join(f"user{n}@example.test:{{PLAIN}}app password {n}\n" for n in range(1, ACCOUNTS + 1))
    )
    cert_path, _ = self_signed_certificate(root)
    port, ssl_port = free_port(), free_port()
    uid, gid = os.getuid(), os.getgid()
    user, group = pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name
    login_user = user
    if uid == 0:
        # as root (CI), Dovecot wants its login and internal processes unprivileged:
        # the Debian package's own users
        login_user = _first_user("dovenull", "nobody")
        user = _first_user("dovecot", "nobody")
        uid, gid = pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid
        group = grp.getgrgid(gid).gr_name
        root.chmod(0o755)
        for sub in ("mail", "home"):  # mail is never read or written as root
            os.chown(root / sub, uid, gid)
    config = _CONFIG.format(
        root=root,
        user=user,
        login_user=login_user,
        group=group,
        uid=uid,
        gid=gid,
        port=port,
        ssl_port=ssl_port,
    )
    (root / "dovecot.conf").write_text(config)
    process = subprocess.Popen(
        [binary, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=(root / "dovecot.stderr").open("wb"),
    )
    try:
        _wait_for(port, process, root)
    except Exception:
        process.kill()
        process.wait()
        raise
    return DovecotServer(root, port, ssl_port, cert_path, process)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """A Dovecot for the whole test session; skipped (failed under CI) when missing."""
    if dovecot_binary() is None:
        message = (
            "Dovecot is not installed: install Debian's dovecot-imapd "
            "(apt-get install dovecot-imapd) to run the IMAP mailbox tests."
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="rapport-dovecot-"))
    server = dovecot_start(root)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_account(dovecot: DovecotServer) -> ImapAccount:
    """A fresh, empty account on the test server."""
    return dovecot.account()


def make_message(
    *,
    sender: str = "Ada Lovelace <ada@example.com>",
    to: str = "Me <me@example.test>",
    subject: str = "Hello",
    body: str = "Just checking in.",
    message_id: str | None = None,
    date: dt.datetime | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    """An ordinary plain-text message, with a file (name, bytes) when given."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(date or dt.datetime(2025, 3, 4, 10, 30, tzinfo=dt.UTC))
    message["Message-ID"] = message_id or make_msgid(domain="example.com")
    message.set_content(body)
    if attachment is not None:
        name, content = attachment
        message.add_attachment(
            content, maintype="application", subtype="octet-stream", filename=name
        )
    return bytes(message)
