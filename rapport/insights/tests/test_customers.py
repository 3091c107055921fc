"""The customers report: orders, revenue and the cohort table from the orders, and a
cohort's size opening exactly its customers."""

from __future__ import annotations

import datetime as dt

import pytest

from rapport.contacts.tests.factories import make_contact
from rapport.insights import services
from rapport.insights.metrics import today
from rapport.segments.selectors import query_matching
from rapport.segments.services import order_write, rfm_refresh

pytestmark = pytest.mark.django_db


def test_cohorts_orders_and_revenue_come_from_the_orders(alice, alice_client):
    this_month = today().replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    ann, bob, cy = (make_contact(given_name=n) for n in ("Ann", "Bob", "Cy"))
    at = lambda day: dt.datetime.combine(day, dt.time(0, 1), tzinfo=dt.UTC).isoformat()  # noqa: E731
    # Ann and Bob first ordered last month, Ann again this month; Cy first this month
    for contact, day, amount in ((ann, last_month, "100"), (bob, last_month, "50"),
                                 (ann, this_month, "30"), (cy, this_month, "20")):  # fmt: skip
        order_write(
            actor=alice, data={"contact": contact.pk, "ordered_at": at(day), "amount": amount}
        )
    order_write(actor=alice, data={"contact": cy.pk, "ordered_at": at(this_month), "amount": "999",
                                   "status": "cancelled"})  # fmt: skip
    rfm_refresh()
    services.snapshot()
    rows = {r["cohort"]: r for r in services.latest_report("cohorts").data["cohorts"]}
    previous = rows[last_month.strftime("%Y-%m")]
    assert previous["customers"] == 2 and previous["retention"] == [50.0]
    assert rows[this_month.strftime("%Y-%m")]["customers"] == 1
    assert services.value_over("orders", "", today(), 62) == 4  # the cancelled one left out
    assert services.value_over("revenue", "", today(), 62) == 200
    assert services.value_over("average_order_value", "", today(), 62) == 50
    html = alice_client.get("/insights/customers/?days=90").content.decode()
    assert f"q=first_order%3A{last_month:%Y-%m}" in html
    cohort = query_matching(alice, f"first_order:{last_month:%Y-%m}")
    assert set(cohort.values_list("given_name", flat=True)) == {"Ann", "Bob"}
