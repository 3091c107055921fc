"""A person's orders, customer value, scores, lists and segment stays in a privacy
request: all of it in their subject access export, all of it gone after an erasure or an
anonymisation through the API; order imports keep no file once they end, and an erasure
cleans the reports and undo records of the imports that touched the person."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.test import Client

from rapport.conftest import bearer
from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact
from rapport.segments import services
from rapport.segments.models import (
    CustomerValue,
    ListMember,
    Order,
    OrderImport,
    SegmentMember,
)
from rapport.segments.services import order_imports

pytestmark = pytest.mark.django_db

HEADER = "Order,Customer email,Order date,Total,Currency\n"


@pytest.fixture
def people(alice):
    zoe = make_contact(
        given_name="Zoe", family_name="Quist", lifecycle_stage="customer",
        emails=[{"address": "zoe@example.com"}],
    )  # fmt: skip
    max_ = make_contact(
        given_name="Max", family_name="Other", lifecycle_stage="customer",
        emails=[{"address": "max@example.com"}],
    )  # fmt: skip
    for who, ref in ((zoe, "Z"), (zoe, "Z2"), (max_, "M")):
        services.order_write(
            actor=alice,
            data={"external_id": ref, "contact": who.pk, "ordered_at": "2026-10-01",
                  "amount": "40.00", "currency": "EUR", "products": ["Kettle"]},
        )  # fmt: skip
    services.rfm_refresh()
    vip = services.list_create(actor=alice, data={"name": "Gala guests"})
    services.list_add(actor=alice, contact_list=vip, contact_ids=[zoe.pk, max_.pk])
    buyers = services.segment_create(
        actor=alice, data={"name": "Buyers", "query": "orders(last:5y)>=1"}
    )
    services.segment_refresh(segment_id=buyers.pk)
    return zoe, max_


def _import(alice, text: str) -> OrderImport:
    batch = order_imports.orders_upload(
        actor=alice, upload=io.BytesIO((HEADER + text).encode()), file_name="shop.csv"
    )
    OrderImport.objects.filter(pk=batch.pk).update(
        status="queued", mapping=order_imports.proposed_mapping(batch.headers)
    )
    order_imports.orders_import_run(batch_id=batch.pk)
    return OrderImport.objects.get(pk=batch.pk)


def test_the_export_holds_orders_value_lists_and_segment_stays(alice, people):
    zoe, _ = people
    response = Client().post(f"/api/v1/contacts/{zoe.pk}/subject-export", **bearer(alice))
    assert response.status_code == 200, response.content
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    sections = json.loads(archive.read("data/segments.json"))["sections"]
    assert [(o["external_id"], o["amount"], o["products"]) for o in sections["Orders"]] == [
        ("Z", "40.00", ["Kettle"]),
        ("Z2", "40.00", ["Kettle"]),
    ]
    [value] = sections["Customer value (profiling)"]
    assert value["orders"] == 2 and value["revenue"] == "80.00" and "quintile" in value["how"]
    assert [m["list"] for m in sections["Lists"]] == ["Gala guests"]
    [stay] = sections["Segment membership"]
    assert stay["segment"] == "Buyers" and stay["left_at"] is None


@pytest.mark.parametrize("mode", ["erase", "anonymise"])
def test_an_erasure_or_anonymisation_takes_all_of_it_and_leaves_others(
    alice, people, mode, django_capture_on_commit_callbacks
):
    zoe, max_ = people
    # an import changed one of her orders (its undo keeps the earlier values); once a
    # duplicate shared her address, another quoted it in its report; a third waits for
    # its columns with her row
    changed = _import(alice, "Z,zoe@example.com,2026-10-02,45,EUR\n")
    assert changed.previous
    make_contact(given_name="Zoe", emails=[{"address": "zoe@example.com"}])
    quoted = _import(alice, "X,zoe@example.com,2026-10-02,1,EUR\n")
    assert any("zoe@example.com" in e for e in quoted.errors)
    waiting = order_imports.orders_upload(
        actor=alice,
        upload=io.BytesIO((HEADER + "Y,zoe@example.com,2026-10-03,5,EUR\n").encode()),
        file_name="later.csv",
    )
    stored = waiting.file.path
    unrelated = order_imports.orders_upload(
        actor=alice,
        upload=io.BytesIO((HEADER + "W,max@example.com,2026-10-03,5,EUR\n").encode()),
        file_name="max.csv",
    )
    client, headers = Client(), bearer(alice)
    url = f"/api/v1/contacts/{zoe.pk}/erasure"
    body = client.get(url, {"mode": mode}, **headers).json()
    [area] = [a for a in body["areas"] if a["area"] == "segments"]
    assert area["counts"] == {  # what is none is left out
        "orders": 2,
        "customer value (RFM, predicted value)": 1,
        "list memberships": 1,
        "segment stays": 1,
        "order imports naming them": 2,
        "order files waiting for their columns (discarded)": 1,
    }
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            url,
            json.dumps({"confirmation": body["confirmation"], "mode": mode}),
            "application/json",
            **headers,
        )
    assert done.status_code == 200, done.content
    assert Contact.objects.filter(pk=zoe.pk).exists() == (mode == "anonymise")
    ids = [zoe.pk]
    for model in (Order, CustomerValue, ListMember):
        assert not model.objects.filter(contact_id__in=ids).exists(), model
    assert not SegmentMember.objects.filter(contact_id=zoe.pk).exists()
    changed.refresh_from_db()
    quoted.refresh_from_db()
    assert changed.previous == {}
    assert quoted.errors and not any("zoe@example.com" in e for e in quoted.errors)
    assert not OrderImport.objects.filter(pk=waiting.pk).exists()
    assert not __import__("os").path.exists(stored)
    # the other customer keeps everything
    assert Order.objects.filter(contact=max_).count() == 1
    assert CustomerValue.objects.filter(contact=max_).exists()
    assert ListMember.objects.filter(contact=max_).exists()
    assert SegmentMember.objects.filter(contact_id=max_.pk, left_at=None).exists()
    assert OrderImport.objects.filter(pk=unrelated.pk).exists()


def test_a_finished_import_keeps_no_copy_of_its_file(alice, people):
    batch = _import(alice, "N,max@example.com,2026-10-05,12,EUR\n")
    assert batch.status == "done" and batch.counts["created"] == 1
    assert not batch.file
    assert services.orders_import_undo(actor=alice, batch_id=batch.pk) == 1
