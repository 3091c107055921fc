"""Orders as a shop sends them and as a file brings them: idempotent by external id,
bad values refused by name, a file's bad rows reported by number and column while the
good ones are saved, an import undone; customer value (RFM) with its documented tie
rule; orders in segment queries; the box on the contact's page."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from rapport.contacts.tests.factories import make_contact
from rapport.segments import services
from rapport.segments.models import CustomerValue, Order
from rapport.segments.selectors import query_matching

pytestmark = pytest.mark.django_db


def post(client, body):
    return client.post("/api/v1/orders", json.dumps(body), content_type="application/json")


def test_an_order_sent_twice_is_one_order_and_bad_values_are_named(alice_client):
    ada = make_contact(
        given_name="Ada", family_name="Lovelace", emails=[{"address": "ada@example.com"}]
    )
    body = {"external_id": "A-1", "email": "Ada@Example.com", "ordered_at": "2026-11-01",
            "amount": "120.50", "currency": "eur", "products": ["Engine"]}  # fmt: skip
    first = post(alice_client, body)
    assert first.status_code == 201 and first.json()["contact"] == ada.pk
    again = post(alice_client, body)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1
    changed = post(alice_client, {**body, "status": "refunded", "amount": "-120.50"})
    assert changed.json()["status"] == "refunded" and Order.objects.get().amount == Decimal(
        "-120.50"
    )

    bad = post(alice_client, {"email": "ada@example.com", "ordered_at": "yesterday-ish",
                              "amount": "-5", "currency": "XYZ"})  # fmt: skip
    assert bad.status_code == 422
    errors = {e["field"]: e["message"] for e in bad.json()["errors"]}
    assert set(errors) == {"ordered_at", "amount", "currency"}
    assert "negative" in errors["amount"] and "ISO 4217" in errors["currency"]
    assert post(alice_client, {"email": "nobody@example.com", "ordered_at": "2026-01-01",
                               "amount": "1"}).status_code == 422  # fmt: skip
    assert Order.objects.count() == 1
    listed = alice_client.get(f"/api/v1/orders?contact={ada.pk}").json()
    assert [o["external_id"] for o in listed["items"]] == ["A-1"]


def test_a_file_of_orders_reports_bad_rows_saves_the_rest_and_can_be_undone(alice, tmp_path):
    make_contact(given_name="Ada", family_name="Lovelace", emails=[{"address": "ada@example.com"}])
    first = tmp_path / "orders.csv"
    first.write_text(
        "Order,Customer email,Date,Total,Currency,Category\n"
        "1001,ada@example.com,2026-10-01,100.00,EUR,Books\n"
        "1002,ada@example.com,2026-10-05,abc,EUR,Books\n"
        "1003,nobody@example.com,2026-10-06,20,EUR,\n"
        "1004,ada@example.com,2026-10-07,30,ZZZ,\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match="3 row"):
        call_command("orders", "import", str(first), "--as", "alice", stdout=(out := _Out()))
    text = out.text
    assert "1 created" in text and "3 refused" in text
    assert "Row 3, Total: “abc” is not an amount." in text
    assert "Row 4, Customer email: No contact has “nobody@example.com”." in text
    assert "Row 5, Currency: “ZZZ” is not an ISO 4217 currency code." in text
    batch = services.orders_import(
        actor=alice,
        path=_write(tmp_path, "1001,ada@example.com,2026-10-01,150.00,EUR,Books\n"),
        file_name="again.csv",
    )
    assert (batch.created, batch.changed) == (0, 1)
    assert Order.objects.get(external_id="1001").amount == Decimal("150.00")
    services.orders_import_undo(actor=alice, batch_id=batch.batch.pk)
    assert Order.objects.get(external_id="1001").amount == Decimal("100.00")  # back as it was


def _write(tmp_path, row: str):
    path = tmp_path / "again.csv"
    path.write_text("Order,Customer email,Date,Total,Currency,Category\n" + row, encoding="utf-8")
    return path


class _Out:
    def __init__(self) -> None:
        self.text = ""

    def write(self, value: str) -> None:
        self.text += value

    def flush(self) -> None:
        pass


def _order(contact, days_ago: int, amount: str, external: str, **extra) -> Order:
    return Order.objects.create(
        contact=contact, external_id=external, ordered_at=timezone.now() - dt.timedelta(days=days_ago),
        amount=Decimal(amount), currency=extra.pop("currency", "EUR"),
        status=extra.pop("status", "paid"), **extra,
    )  # fmt: skip


def test_customer_value_scores_by_quintile_with_ties_and_names_groups(alice):
    people = [make_contact(given_name=f"P{n}", family_name="Buyer") for n in range(10)]
    for n, person in enumerate(people):
        for k in range(n + 1):  # P9 buys most often, most recently, most
            _order(person, days_ago=100 - 10 * n + k, amount=str(10 * (n + 1)), external=f"{n}-{k}")
    _order(people[0], days_ago=1, amount="5", external="cancelled", status="cancelled")
    _order(people[0], days_ago=1, amount="5", external="usd", currency="USD")  # no rate: out
    result = services.rfm_refresh()
    assert result.customers == 10 and result.left_out_currencies == ["USD"]
    best = CustomerValue.objects.get(contact=people[9])
    worst = CustomerValue.objects.get(contact=people[0])
    assert (best.recency, best.frequency, best.monetary, best.group) == (5, 5, 5, "champions")
    assert (worst.recency, worst.frequency, worst.monetary, worst.group) == (1, 1, 1, "lost")
    assert worst.orders == 1 and worst.revenue == Decimal("10.00")  # cancelled, USD left out
    # ties: equal values get the same score, that of their first position
    assert services.orders._scores({1: 5, 2: 5, 3: 5, 4: 9, 5: 9}) == {1: 1, 2: 1, 3: 1, 4: 4, 5: 4}

    def ids(text: str) -> set[int]:
        return set(query_matching(alice, text).values_list("pk", flat=True))

    assert ids("rfm:champions") == {people[9].pk, people[8].pk}
    assert ids("orders()>=9") == {people[8].pk, people[9].pk}
    assert ids("orders(status:cancelled)>=1") == {people[0].pk}
    assert ids("revenue()>=800") == {people[9].pk, people[8].pk}  # 10×100, 9×90 (8×80 = 640)
    assert people[0].pk in ids("revenue(last:7d)=0")
    assert ids("monetary_score:5 AND frequency_score:>=5") == {people[9].pk, people[8].pk}


def test_customer_value_follows_the_rule_with_ties_rates_and_statuses(alice, settings):
    """What the database computes is what the documented rule gives, row for row: every
    score by ``_scores`` (ties included), the group by ``group_of``, USD and GBP converted,
    CHF (no rate) and uncounted statuses left out, a former customer's row removed; and
    order counts in queries agree."""
    settings.RAPPORT_EXCHANGE_RATES = "USD=0.9,GBP=1.2"
    rates = {"EUR": Decimal(1), "USD": Decimal("0.9"), "GBP": Decimal("1.2")}
    rng = random.Random(4)
    now = timezone.now().replace(microsecond=0)
    people = [make_contact(given_name=f"R{n}", family_name="Buyer") for n in range(30)]
    orders = [
        Order(
            contact=person,
            external_id=f"{n}-{k}",
            ordered_at=now - dt.timedelta(days=rng.choice([3, 30, 30, 200, 400])),
            amount=Decimal(rng.choice(["10.00", "19.90", "25.50", "100.00"])),
            currency=rng.choice(["EUR", "EUR", "USD", "GBP", "CHF"]),
            status=rng.choice(
                ["paid", "fulfilled", "fulfilled", "cancelled", "refunded", "pending"]
            ),
        )
        for n, person in enumerate(people[:27])  # three never buy
        for k in range(rng.choice([1, 1, 2, 3, 3, 5]))
    ]
    Order.objects.bulk_create(orders)
    result = services.rfm_refresh(now=now)

    counted = [o for o in orders if o.status in Order.COUNTED and o.currency in rates]
    buyers = {o.contact_id for o in counted}
    mine = {c: [o for o in counted if o.contact_id == c] for c in buyers}
    revenue = {c: sum(o.amount * rates[o.currency] for o in mine[c]) for c in buyers}
    recency = services.orders._scores({c: max(o.ordered_at for o in mine[c]) for c in buyers})
    frequency = services.orders._scores({c: len(mine[c]) for c in buyers})
    monetary = services.orders._scores(revenue)
    stored = {v.contact_id: v for v in CustomerValue.objects.all()}
    assert set(stored) == buyers and len(set(frequency.values())) > 1
    for c, value in stored.items():
        assert (value.orders, value.revenue) == (len(mine[c]), revenue[c])
        assert value.first_order_at == min(o.ordered_at for o in mine[c])
        assert value.last_order_at == max(o.ordered_at for o in mine[c])
        assert (value.recency, value.frequency, value.monetary) == (
            recency[c],
            frequency[c],
            monetary[c],
        )
        assert value.group == services.group_of(value.recency, value.frequency)
        assert value.computed_at == now
    assert result.customers == len(buyers) and result.left_out_currencies == ["CHF"]
    assert result.groups == dict(Counter(v.group for v in stored.values()))
    paid = Counter(o.contact_id for o in orders if o.status in Order.COUNTED)
    expected = {
        "orders()>=3": lambda n: n >= 3,
        "orders()=2": lambda n: n == 2,
        "orders()<2": lambda n: n < 2,
    }
    for text, holds in expected.items():
        found = set(
            query_matching(alice, text).filter(family_name="Buyer").values_list("pk", flat=True)
        )
        assert found == {p.pk for p in people if holds(paid[p.pk])}, text

    gone = next(iter(buyers))
    Order.objects.filter(contact_id=gone).update(status="cancelled")
    assert services.rfm_refresh(now=now).customers == len(buyers) - 1
    assert not CustomerValue.objects.filter(contact_id=gone).exists()


def test_orders_by_category_and_the_box_on_the_contact_page(alice, alice_client):
    ada = make_contact(
        given_name="Ada", family_name="Lovelace", emails=[{"address": "ada@example.com"}]
    )
    services.order_write(
        actor=alice,
        data={"email": "ada@example.com", "ordered_at": "2026-11-02", "amount": "42",
              "categories": ["Books"], "external_id": "B-1"},
    )  # fmt: skip
    assert set(query_matching(alice, "orders(category:books)>=1").values_list("pk", flat=True)) == {
        ada.pk
    }
    services.rfm_refresh()
    page = alice_client.get(f"/contacts/{ada.pk}/").content.decode()
    assert "Customer value" in page and "42.00 EUR" in page and "RFM" in page
