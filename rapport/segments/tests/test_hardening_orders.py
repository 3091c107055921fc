"""Orders with values that are not ones: refused by name, and an import that keeps its
undo whatever a row holds."""

import json

import pytest
from django.test import Client

from rapport.contacts.tests.factories import make_contact
from rapport.segments import services
from rapport.segments.models import Order, OrderImport

pytestmark = pytest.mark.django_db


def loose(user):
    c = Client(raise_request_exception=False)
    c.force_login(user)
    return c


@pytest.mark.parametrize(
    "extra",
    [
        {"amount": "1e30"},
        {"amount": 1e30},
        {"ordered_at": "2024-02-30"},
        {"ordered_at": "2024-13-01T10:00:00"},
    ],
)
def test_order_api_bad_values_are_422(alice, extra):
    c = make_contact()
    body = {"contact": c.pk, "ordered_at": "2024-05-01", "amount": "10", **extra}
    r = loose(alice).post("/api/v1/orders", json.dumps(body), content_type="application/json")
    assert r.status_code == 422, (extra, r.status_code, r.content[:200])


def test_import_with_one_impossible_date_keeps_undo(alice, tmp_path):
    make_contact(emails=[{"address": "x@example.com"}])
    f = tmp_path / "o.csv"
    f.write_text(
        "order,email,date,amount\nA1,x@example.com,2024-05-01,10\nA2,x@example.com,2024-02-30,5\n"
    )
    result = services.orders_import(actor=alice, path=f, file_name="o.csv")
    assert (result.created, result.failed) == (1, 1)
    assert result.errors == ["Row 3, date: “2024-02-30” is not a date (2024-05-01 or ISO 8601)."]
    assert Order.objects.filter(external_id="A1").exists()
    assert OrderImport.objects.get().created_ids  # undo can take A1 back
