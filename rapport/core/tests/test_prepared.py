"""Hot reads as prepared statements sent together (PostgreSQL) or one by one (SQLite):
same rows, the request's own transaction, Django's errors and query log."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from rapport.contacts.tests.factories import make_contact
from rapport.core.prepared import any_of, fetch_all, fetch_together, id_params

pytestmark = pytest.mark.django_db


def _names(ids: list[int]) -> str:
    return (
        f"SELECT id, display_name FROM contacts_contact WHERE {any_of('id', len(ids))} ORDER BY id"
    )


def test_reads_sent_together_see_the_transactions_own_writes_and_are_logged():
    ada = make_contact(given_name="Ada", family_name="Lovelace")
    bob = make_contact(given_name="Bob", family_name="Miller")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        make_contact(given_name="Cy", family_name="Young")  # not committed yet
        one, both, count = fetch_together(
            [
                (_names([ada.pk]), id_params([ada.pk])),
                (_names([ada.pk, bob.pk]), id_params([ada.pk, bob.pk])),
                ("SELECT count(*) FROM contacts_contact WHERE family_name = %s", ["Young"]),
            ]
        )
        # the same statement again, now prepared on PostgreSQL: same answer
        again = fetch_all(_names([bob.pk]), id_params([bob.pk]))
    assert one == [(ada.pk, "Ada Lovelace")]
    assert both == [(ada.pk, "Ada Lovelace"), (bob.pk, "Bob Miller")]
    assert count == [(1,)]
    assert again == [(bob.pk, "Bob Miller")]
    logged = [q["sql"] for q in queries.captured_queries]
    assert sum("FROM contacts_contact WHERE" in sql for sql in logged) == 4


def test_a_failing_read_raises_djangos_error_and_the_transaction_rolls_back():
    with pytest.raises(DatabaseError), transaction.atomic():
        make_contact(given_name="Dee", family_name="Gone")
        fetch_together([("SELECT 1", []), ("SELECT no_such_column FROM contacts_contact", [])])
    assert fetch_all("SELECT count(*) FROM contacts_contact WHERE family_name = %s", ["Gone"]) == [
        (0,)
    ]
