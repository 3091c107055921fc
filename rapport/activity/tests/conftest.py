"""Fixtures shared by the activity tests."""

# a private Dovecot IMAP server and fresh accounts on it (see imap_server.py)
from rapport.activity.tests.imap_server import dovecot, imap_account  # noqa: F401
