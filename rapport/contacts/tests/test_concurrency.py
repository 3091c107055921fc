"""Concurrent writes through the API on PostgreSQL: no deadlock surfaces as a 500, and an
If-Match precondition has exactly one winner.

SQLite serialises writers (immediate transactions), so these races cannot happen there.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client

from rapport.conftest import bearer
from rapport.contacts.models import Contact, CustomFieldDefinition, Tag
from rapport.contacts.tests.factories import make_contact

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite runs one writer at a time"
    ),
]

BASE = "/api/v1"


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, all released at once; each thread its own connection."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        try:
            barrier.wait()
            return call()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, call) for call in calls]]


def _send(headers: dict[str, str], method: str, path: str, body: Any = None, **extra: str):
    client = Client()
    if body is None:
        return getattr(client, method)(BASE + path, **headers, **extra)
    return getattr(client, method)(
        BASE + path, json.dumps(body), content_type="application/json", **headers, **extra
    )


@pytest.mark.parametrize("trial", range(3))
def test_deleting_a_tag_while_its_contacts_are_edited_never_fails(transactional_db, alice, trial):
    headers = bearer(alice)
    doomed = Tag.objects.create(name="Doomed", name_key="doomed")
    keep = Tag.objects.create(name="Keep", name_key="keep")
    contacts = [make_contact(given_name=f"P{i}", family_name="Racer") for i in range(6)]
    for contact in contacts:
        contact.tags.set([doomed, keep])
    # Each edit changes the contact's tags: some drop the doomed tag, some keep it.
    edits = [
        (
            lambda c=c, i=i: _send(
                headers,
                "patch",
                f"/contacts/{c.pk}",
                {"job_title": f"Editor {i}", "tags": ["Keep"] + (["Doomed"] if i % 2 else [])},
            )
        )
        for i, c in enumerate(contacts)
    ]
    delete = [lambda: _send(headers, "delete", f"/tags/{doomed.pk}")]
    responses = _race(delete + edits)
    assert [r.status_code for r in responses] == [204] + [200] * len(contacts), [
        r.content[:200] for r in responses
    ]
    for contact in Contact.objects.filter(pk__in=[c.pk for c in contacts]):
        assert contact.job_title.startswith("Editor")
        assert "Keep" in set(contact.tags.values_list("name", flat=True))


def _one_winner(headers: dict[str, str], path: str, changes: list[dict[str, Any]]) -> None:
    etag = _send(headers, "get", path)["ETag"]
    responses = _race(
        [
            (lambda change=change: _send(headers, "patch", path, change, HTTP_IF_MATCH=etag))
            for change in changes
        ]
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [412] * (len(changes) - 1), [r.content[:200] for r in responses]


def test_concurrent_tag_changes_with_one_etag_have_exactly_one_winner(transactional_db, alice):
    tag = Tag.objects.create(name="VIP", name_key="vip")
    colors = [f"#0000{i:02x}" for i in range(12)]
    _one_winner(bearer(alice), f"/tags/{tag.pk}", [{"color": c} for c in colors])


def test_concurrent_custom_field_changes_with_one_etag_have_exactly_one_winner(
    transactional_db, alice
):
    definition = CustomFieldDefinition.objects.create(
        target="contact", key="tier", label="Tier", field_type="text"
    )
    labels = [f"Tier {i}" for i in range(12)]
    _one_winner(bearer(alice), f"/custom-fields/{definition.pk}", [{"label": x} for x in labels])
