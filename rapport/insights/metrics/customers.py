"""Customers' metrics, from the orders and the customer value computed from them
(``segments.services.rfm_refresh``): customers, orders, revenue and average order value,
repeat purchase rate, RFM groups; and the day's reports: retention and churn by monthly
cohort, the distribution of customer value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate, TruncMonth

from rapport.insights.metrics import (
    Drill,
    Metric,
    Point,
    day_start,
    per_day,
    register,
    running_total,
    share,
    zone,
)
from rapport.segments.models import CustomerValue, Order
from rapport.segments.services.orders import GROUP_NAMES
from rapport.segments.services.orders import _rates as exchange_rates

COHORT_MONTHS = 12
ACTIVE_DAYS = 90
VALUE_BUCKETS = (0, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


def counted_orders():  # type: ignore[no-untyped-def]
    return Order.objects.filter(status__in=Order.COUNTED, contact__isnull=False)


def _customers(days: list[dt.date]) -> Iterable[Point]:
    return running_total(CustomerValue.objects.all(), "first_order_at", days)


register(Metric(
    "customers", "Customers", "customers", "level", "count",
    "Contacts with at least one paid or fulfilled order, by the day of their first order.",
    _customers, history=True,
    drill=lambda key, start, end: Drill(query=f"first_order:<={end.isoformat()}"),
))  # fmt: skip


def _orders(days: list[dt.date]) -> Iterable[Point]:
    counted = per_day(counted_orders(), "ordered_at", days)
    for day in days:
        yield day, "", float(counted.get((day, ""), 0))


def _order_window(start: dt.date, end: dt.date) -> str:
    return f"orders(since:{start.isoformat()}, until:{end.isoformat()})>=1"


register(Metric(
    "orders", "Orders", "customers", "flow", "count",
    "Paid and fulfilled orders placed that day (by contacts).",
    _orders, history=True, drill=lambda key, start, end: Drill(query=_order_window(start, end)),
))  # fmt: skip


def _revenue(days: list[dt.date]) -> Iterable[Point]:
    from rapport.insights.metrics import day_end

    rates = exchange_rates()
    rows = counted_orders().filter(
        ordered_at__gte=day_start(min(days)), ordered_at__lt=day_end(max(days))
    )
    grouped = rows.annotate(day=TruncDate("ordered_at", tzinfo=zone())).values("day", "currency")
    totals: dict[dt.date, Decimal] = {}
    for row in grouped.annotate(total=Sum("amount")).order_by():
        rate = rates.get(row["currency"])
        if rate is not None:
            totals[row["day"]] = totals.get(row["day"], Decimal(0)) + row["total"] * rate
    for day in days:
        yield day, "", float(round(totals.get(day, Decimal(0)), 2))


register(Metric(
    "revenue", "Revenue", "customers", "flow", "money",
    "The amounts of that day's paid and fulfilled orders in the base currency "
    "(RAPPORT_CURRENCY; other currencies converted with RAPPORT_EXCHANGE_RATES, left out "
    "without a rate).",
    _revenue, history=True, drill=lambda key, start, end: Drill(query=_order_window(start, end)),
))  # fmt: skip
register(Metric(
    "average_order_value", "Average order value", "customers", "ratio", "money",
    "Revenue divided by the number of orders over the period.",
    parts=("revenue", "orders"),
    drill=lambda key, start, end: Drill(query=_order_window(start, end)),
))  # fmt: skip


def _repeat(days: list[dt.date]) -> Iterable[Point]:
    found = CustomerValue.objects.aggregate(
        all=Count("pk"), repeat=Count("pk", filter=Q(orders__gte=2))
    )
    yield max(days), "", share(found["repeat"], found["all"])


register(Metric(
    "repeat_purchase_rate", "Repeat purchase rate", "customers", "level", "percent",
    "The share of customers with two orders or more, as customer value was last computed.",
    _repeat, drill=lambda key, start, end: Drill(query="orders(since:1970-01-01)>=2"),
))  # fmt: skip


def _groups(days: list[dt.date]) -> Iterable[Point]:
    day = max(days)
    found = dict(CustomerValue.objects.values_list("group").annotate(n=Count("pk")).order_by())
    for group in GROUP_NAMES:
        yield day, f"group:{group}", float(found.get(group, 0))


def group_names(keys: list[str]) -> dict[str, str]:
    return {k: k[6:].replace("_", " ").capitalize().replace("Cant", "Can't") for k in keys}


register(Metric(
    "rfm_groups", "Customers by RFM group", "customers", "level", "count",
    "How many customers each RFM group holds (champions, loyal, at risk…).",
    _groups, key_names=group_names, keys_label="group",
    drill=lambda key, start, end: Drill(query=f"rfm:{key[6:]}") if key.startswith("group:") else None,
))  # fmt: skip

# reports ---------------------------------------------------------------------------


def _month(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.astimezone(zone()).date()
    return value.replace(day=1)


def _add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def cohorts(day: dt.date) -> dict[str, Any]:
    """Retention by monthly cohort: customers grouped by the month of their first order;
    for each of the last ``COHORT_MONTHS`` cohorts, the share who ordered again in each
    following month, and how many are still active (an order in the last 90 days) — the
    rest have churned. Streams the (customer, month) pairs in customer order, so memory
    stays bounded at any number of orders."""
    this_month = day.replace(day=1)
    first_cohort = _add_months(this_month, -(COHORT_MONTHS - 1))
    active_since = day_start(day) - dt.timedelta(days=ACTIVE_DAYS)
    sizes: dict[dt.date, int] = {}
    active: dict[dt.date, int] = {}
    kept: dict[tuple[dt.date, int], int] = {}
    pairs = (
        counted_orders().filter(ordered_at__lt=day_start(day + dt.timedelta(days=1)))
        .annotate(month=TruncMonth("ordered_at", tzinfo=zone()))
        .values_list("contact_id", "month").distinct().order_by("contact_id", "month")
    )  # fmt: skip
    current: int | None = None
    cohort: dt.date | None = None
    for contact_id, month in pairs.iterator(chunk_size=20_000):
        month = _month(month)
        if contact_id != current:
            current, cohort = contact_id, month
            if cohort >= first_cohort:
                sizes[cohort] = sizes.get(cohort, 0) + 1
            continue
        if cohort is None or cohort < first_cohort:
            continue
        offset = (month.year - cohort.year) * 12 + month.month - cohort.month
        kept[(cohort, offset)] = kept.get((cohort, offset), 0) + 1
    recent = (
        counted_orders().filter(ordered_at__gte=active_since)
        .values_list("contact_id", flat=True).distinct()
    )  # fmt: skip
    firsts = CustomerValue.objects.filter(
        contact_id__in=recent, first_order_at__gte=day_start(first_cohort)
    ).values_list("first_order_at", flat=True)
    for first in firsts.iterator(chunk_size=20_000):
        month = _month(first)
        active[month] = active.get(month, 0) + 1
    rows = []
    for i in range(COHORT_MONTHS):
        month = _add_months(first_cohort, i)
        size = sizes.get(month, 0)
        ages = (this_month.year - month.year) * 12 + this_month.month - month.month
        retention = [share(kept.get((month, k), 0), size) for k in range(1, ages + 1)]
        rows.append({
            "cohort": month.strftime("%Y-%m"), "customers": size, "retention": retention,
            "active": share(active.get(month, 0), size),
            "churned": round(100.0 - share(active.get(month, 0), size), 2) if size else 0.0,
        })  # fmt: skip
    return {"months": COHORT_MONTHS, "active_days": ACTIVE_DAYS, "cohorts": rows}


def value_distribution(day: dt.date) -> dict[str, Any]:
    """How many customers' value falls in each band: historical revenue so far, and the
    predicted value where a prediction was made."""
    fields = {f.name for f in CustomerValue._meta.get_fields()}
    out: dict[str, Any] = {"bands": []}
    for column in ("revenue", "predicted_value"):
        if column not in fields:
            continue
        counts: dict[str, Any] = {}
        for i, low in enumerate(VALUE_BUCKETS):
            high = VALUE_BUCKETS[i + 1] if i + 1 < len(VALUE_BUCKETS) else None
            cond = Q(**{f"{column}__gte": low})
            if high is not None:
                cond &= Q(**{f"{column}__lt": high})
            counts[f"b{i}"] = Count("pk", filter=cond)
        found = CustomerValue.objects.aggregate(**counts)
        out[column] = [found[f"b{i}"] for i in range(len(VALUE_BUCKETS))]
    for i, low in enumerate(VALUE_BUCKETS):
        high = VALUE_BUCKETS[i + 1] if i + 1 < len(VALUE_BUCKETS) else None
        out["bands"].append({"low": low, "high": high})
    return out


REPORTS = {"cohorts": cohorts, "value_distribution": value_distribution}
