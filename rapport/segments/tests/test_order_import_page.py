"""Importing orders on the page: upload, confirm the columns, the worker's result with
every refused row, undo; a worker killed half-way is taken over where it stopped."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from rapport.contacts.tests.factories import make_contact
from rapport.core import jobs
from rapport.segments.models import Order, OrderImport

pytestmark = pytest.mark.django_db

FILE = (
    "Order,Customer email,Order date,Total,Currency,Notes\n"
    "A-1,ann@example.com,2026-11-02,120.50,EUR,first\n"
    "A-2,ann@example.com,2026-11-20,-5,EUR,negative\n"
    "A-3,nobody@example.com,2026-11-21,30,EUR,unknown customer\n"
    "A-4,ann@example.com,2026-11-22,80,ZZZ,bad currency\n"
    "A-5,ann@example.com,2026-11-23,99,EUR,good\n"
)


@pytest.fixture
def ann(alice):
    return make_contact(given_name="Ann", emails=[{"address": "ann@example.com"}])


@pytest.fixture
def posting(django_capture_on_commit_callbacks):
    def post(client, url, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data or {})

    return post


def _upload(client, text: str = FILE):
    return client.post(
        "/orders/import/", {"file": SimpleUploadedFile("shop.csv", text.encode(), "text/csv")}
    )


def test_an_order_file_is_mapped_imported_reported_and_undone_on_the_page(
    alice_client, ann, posting
):
    uploaded = _upload(alice_client)
    batch = OrderImport.objects.get()
    assert uploaded.status_code == 302 and uploaded["Location"] == f"/orders/import/{batch.pk}/"
    page = alice_client.get(uploaded["Location"]).content.decode()
    # columns matched by name, the unknown one left out
    assert 'value="external_id" selected' in page and 'value="email" selected' in page
    assert 'value="ordered_at" selected' in page and 'value="amount" selected' in page
    mapping = {
        f"map-{i}": v
        for i, v in enumerate(["external_id", "email", "ordered_at", "amount", "currency", ""])
    }
    posting(alice_client, f"/orders/import/{batch.pk}/", mapping)
    batch.refresh_from_db()
    assert batch.status == "done" and batch.counts == {
        "created": 2,
        "changed": 0,
        "unchanged": 0,
        "failed": 3,
    }
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["A-1", "A-5"]
    result = alice_client.get(f"/orders/import/{batch.pk}/").content.decode()
    assert (
        "Row 3, Total:" in result
        and "Row 4, Customer email:" in result
        and "Row 5, Currency:" in result
    )
    assert "Undo this import" in result
    alice_client.post(f"/orders/import/{batch.pk}/undo/")
    assert not Order.objects.exists() and OrderImport.objects.get().undone_at is not None


def test_a_mapping_without_an_amount_is_refused_and_nothing_starts(alice_client, ann, posting):
    _upload(alice_client)
    batch = OrderImport.objects.get()
    mapping = {
        f"map-{i}": v for i, v in enumerate(["external_id", "email", "ordered_at", "", "", ""])
    }
    refused = posting(alice_client, f"/orders/import/{batch.pk}/", mapping)
    assert refused.status_code == 422 and "No column for amount" in refused.content.decode()
    assert OrderImport.objects.get().status == "draft" and not Order.objects.exists()


def test_an_unreadable_or_empty_file_is_refused_and_nothing_is_kept(alice_client):
    empty = _upload(alice_client, "")
    assert empty.status_code == 422 and "The file is empty" in empty.content.decode()
    assert not OrderImport.objects.exists()


def test_members_import_and_read_only_users_may_not(charlie_client):
    assert charlie_client.get("/orders/import/").status_code == 403


def test_an_import_whose_worker_died_goes_on_from_the_last_written_group(
    alice, ann, settings, monkeypatch
):
    from rapport.segments.services import order_imports

    monkeypatch.setattr(order_imports, "CHUNK", 2)
    rows = "".join(f"B-{n},ann@example.com,2026-11-{n:02d},10,EUR,x\n" for n in range(1, 8))
    batch = order_imports.orders_upload(
        actor=alice,
        upload=io.BytesIO(FILE.split("\n")[0].encode() + b"\n" + rows.encode()),
        file_name="big.csv",
    )
    OrderImport.objects.filter(pk=batch.pk).update(
        status="queued", mapping=order_imports.proposed_mapping(batch.headers)
    )
    # a first worker wrote two groups (4 rows) and died
    claim = jobs.job_claim(OrderImport, batch.pk, startable=["queued"], running="running")
    batch.refresh_from_db()
    table = order_imports._table(__import__("pathlib").Path(batch.file.path), batch.file_name)
    targets = order_imports._targets(list(table.headers), batch.mapping)

    class Died(Exception):
        pass

    calls = {"n": 0}
    original = claim.update

    def update(**changes):
        calls["n"] += 1
        if calls["n"] == 5:  # the third group's start: two groups are written
            raise Died
        original(**changes)

    monkeypatch.setattr(type(claim), "update", lambda self, **c: update(**c))
    with pytest.raises(Died):
        order_imports._read(batch, table, targets, actor=alice, via="ui", claim=claim)
    monkeypatch.undo()
    assert OrderImport.objects.get().rows == 4 and Order.objects.count() == 4
    OrderImport.objects.filter(pk=batch.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(hours=1)
    )
    jobs.jobs_recover()  # queues it again; tasks run inline in tests
    done = OrderImport.objects.get()
    assert done.status == "done" and done.rows == 7 and done.counts["created"] == 7
    assert sorted(Order.objects.values_list("external_id", flat=True)) == [
        f"B-{n}" for n in range(1, 8)
    ]
