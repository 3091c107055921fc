"""Opening an IMAP session, and saying in words why it failed.

Every failure of the network, TLS or the server becomes a ``MailboxFault``: a message a
mailbox owner can act on, and whether it is ``lasting`` (a wrong password, a certificate
that cannot be verified, a folder that vanished: retrying alone will not fix it) or
passing (the server is down or slow; retrying later will do).

Configuration (environment): ``RAPPORT_MAILBOX_TIMEOUT`` seconds to wait for the server
(default 30); ``RAPPORT_MAILBOX_CA_FILE``, a PEM file of extra certificate authorities
to trust (a company CA, or a self-signed server certificate).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from rapport.env import env_int, env_str

SENT = b"\\Sent"
# What servers without SPECIAL-USE call the Sent folder, in several languages.
SENT_NAMES = (
    "sent", "sent items", "sent mail", "sent messages", "gesendet", "gesendete objekte",
    "gesendete elemente", "envoyés", "éléments envoyés", "enviados", "elementos enviados",
    "posta inviata", "inviati", "verzonden", "verzonden items", "skickat", "wysłane",
)  # fmt: skip


def sent_folder(client: IMAPClient) -> str | None:
    """The Sent folder: the one flagged \\Sent (SPECIAL-USE), else one with a usual name."""
    folders = client.list_folders()
    for flags, _sep, name in folders:
        if SENT in flags:
            return str(name)
    for _flags, separator, name in folders:
        leaf = str(name).rsplit(separator.decode() if separator else "/", 1)[-1]
        if leaf.casefold() in SENT_NAMES:
            return str(name)
    return None


class MailboxFault(Exception):
    """Something between Rapport and the mail server went wrong; ``str()`` says what."""

    def __init__(self, message: str, *, lasting: bool = False) -> None:
        super().__init__(message)
        self.lasting = lasting


class FolderVanished(MailboxFault):
    """A folder to sync is not on the server (deleted or renamed)."""

    def __init__(self, folder: str) -> None:
        super().__init__(
            f"The folder “{folder}” does not exist on the server (deleted or renamed?). "
            "Choose the folders to sync again.",
            lasting=True,
        )
        self.folder = folder


@dataclass(frozen=True)
class Server:
    """Where and how to reach a mailbox."""

    host: str
    port: int
    security: str  # ssl, starttls, none
    username: str
    password: str = field(repr=False)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def timeout_seconds() -> int:
    return max(1, env_int("RAPPORT_MAILBOX_TIMEOUT", 30))


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    extra = env_str("RAPPORT_MAILBOX_CA_FILE")
    if extra:
        context.load_verify_locations(cafile=extra)
    return context


def describe(exc: BaseException, server: Server) -> MailboxFault:
    """The fault, in words, behind an exception raised while talking to ``server``."""
    where = server.where
    if isinstance(exc, MailboxFault):
        return exc
    if isinstance(exc, LoginError):
        return MailboxFault(
            f"The server refused the user name or password for {server.username} "
            "(for Gmail, Outlook and iCloud use an app password). Enter it again.",
            lasting=True,
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailboxFault(
            f"The certificate of {where} could not be verified ({exc.verify_message}). "
            "Check the host name; a self-signed certificate must be trusted through "
            "RAPPORT_MAILBOX_CA_FILE.",
            lasting=True,
        )
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or str(exc)
        return MailboxFault(
            f"The secure connection to {where} failed ({reason}). Check the port and the "
            "security setting: SSL/TLS is usually port 993, STARTTLS port 143.",
            lasting=True,
        )
    if isinstance(exc, socket.gaierror):
        return MailboxFault(f"The server name {server.host} could not be found ({exc.strerror}).")
    if isinstance(exc, ConnectionRefusedError):
        return MailboxFault(
            f"{where} refused the connection: the server is down, or the port is wrong."
        )
    if isinstance(exc, TimeoutError):
        return MailboxFault(f"{where} did not answer within {timeout_seconds()} seconds.")
    if isinstance(exc, IMAPClientAbortError):
        return MailboxFault(f"{where} closed the connection unexpectedly ({exc}).")
    if isinstance(exc, IMAPClientError):
        return MailboxFault(f"{where} answered with an error: {exc}.")
    if isinstance(exc, OSError):
        return MailboxFault(f"The network connection to {where} failed ({exc.strerror or exc}).")
    return MailboxFault(f"Talking to {where} failed: {type(exc).__name__}: {exc}")


_NETWORK_ERRORS = (OSError, IMAPClientError)  # ssl.SSLError and socket errors are OSErrors


@contextmanager
def session(server: Server) -> Iterator[IMAPClient]:
    """A signed-in session; any network, TLS or protocol failure inside the block comes
    out as a MailboxFault. The session is logged out (or dropped) afterwards."""
    client: IMAPClient | None = None
    try:
        try:
            seconds = timeout_seconds()
            client = IMAPClient(
                server.host,
                port=server.port,
                ssl=server.security == "ssl",
                ssl_context=tls_context() if server.security == "ssl" else None,
                timeout=seconds,
            )
            if server.security == "starttls":
                if not client.has_capability("STARTTLS"):
                    raise MailboxFault(
                        f"{server.where} does not offer STARTTLS. Choose SSL/TLS (usually "
                        "port 993), or check the port.",
                        lasting=True,
                    )
                client.starttls(tls_context())
            client.login(server.username, server.password)
            yield client
        except _NETWORK_ERRORS as exc:
            raise describe(exc, server) from exc
    finally:
        if client is not None:
            try:
                client.logout()
            except Exception:  # noqa: BLE001 (the session is over either way)
                with contextlib.suppress(Exception):
                    client.shutdown()


@dataclass(frozen=True)
class ConnectionReport:
    """What a connection test found: ``ok`` and a message in words, the folders on the
    server, the Sent folder (found by its \\Sent flag or a common name) and whether the
    server reports changes cheaply (CONDSTORE)."""

    ok: bool
    message: str
    folders: list[str] = field(default_factory=list)
    sent_folder: str | None = None
    condstore: bool = False


def connection_test(server: Server) -> ConnectionReport:
    """Sign in to ``server`` and list its folders; never raises for what the server does."""
    try:
        with session(server) as client:
            names = sorted(str(name) for _flags, _sep, name in client.list_folders())
            sent = sent_folder(client)
            condstore = client.has_capability("CONDSTORE")
    except MailboxFault as fault:
        return ConnectionReport(False, str(fault))
    count = len(names)
    message = (
        f"Connected to {server.where} and signed in as {server.username}: "
        f"{count} folder{'s' if count != 1 else ''}"
        + (f", Sent folder “{sent}”." if sent else ", no Sent folder found.")
    )
    return ConnectionReport(True, message, names, sent, condstore)
