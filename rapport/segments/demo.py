"""Demo orders and segments for a new installation: two years of purchases by some of the
demo customers (so customer value, RFM groups and the customers report have figures) and
a few shared segments (so their pages and sizes over time are not empty)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from rapport.access.models import User
from rapport.contacts.models import Contact
from rapport.segments.models import Order, Segment
from rapport.segments.services import order_fields, rfm_refresh, segment_create, segment_refresh

PRODUCTS = (
    ("Starter plan", "Subscriptions", 49), ("Team plan", "Subscriptions", 190),
    ("Onboarding workshop", "Services", 900), ("Support hours", "Services", 120),
    ("Reporting add-on", "Add-ons", 35), ("Integration kit", "Add-ons", 260),
)  # fmt: skip
SEGMENTS = (
    ("Champions to thank", "Customers in the best RFM group, reached in the last 90 days.",
     "rfm:champions AND last_contacted:<90d"),
    ("Customers gone quiet", "Customers not contacted for 90 days or more.",
     "stage:customer AND (last_contacted:>90d OR last_contacted:never)"),
    ("Newsletter readers in Germany", "Who may get the newsletter, with an address in Germany.",
     "consent:newsletter AND country:DE"),
)  # fmt: skip


def demo_orders_load(first_contact_id: int, *, seed: int = 11, customers: int = 180) -> int:
    """Give up to ``customers`` demo contacts a history of orders over two years, then
    compute customer value and save the demo segments; returns the orders made."""
    admin = User.objects.filter(is_superuser=True).order_by("id").first()
    if admin is None or Order.objects.exists():
        return 0
    rng = random.Random(seed)
    now = timezone.now()
    ids = list(
        Contact.objects.filter(pk__gte=first_contact_id).order_by("id").values_list("id", flat=True)
    )
    rng.shuffle(ids)
    rows = []
    for n, contact_id in enumerate(ids[:customers]):
        first = now - dt.timedelta(days=rng.randint(5, 720))
        count = 1 + min(int(rng.expovariate(0.5)), 12)
        moments = sorted(first + (now - first) * rng.random() for _ in range(count - 1))
        for k, moment in enumerate([first, *moments]):
            product, category, price = rng.choice(PRODUCTS)
            amount = Decimal(price * rng.choice((1, 1, 1, 2, 3))).quantize(Decimal("0.01"))
            status = (
                "refunded" if rng.random() < 0.03 else "fulfilled" if rng.random() < 0.6 else "paid"
            )
            rows.append(Order(**order_fields({
                "contact": contact_id, "external_id": f"DEMO-{n:04d}-{k:02d}",
                "ordered_at": moment.isoformat(), "amount": str(amount), "currency": "EUR",
                "status": status, "products": [product], "categories": [category],
            })))  # fmt: skip
    with transaction.atomic():
        Order.objects.bulk_create(rows, batch_size=500)
    rfm_refresh()
    if not Segment.objects.exists():
        for name, description, query in SEGMENTS:
            segment = segment_create(
                actor=admin, data={"name": name, "description": description, "query": query, "shared": True},
                via="cli",
            )  # fmt: skip
            segment_refresh(segment_id=segment.pk)
    return len(rows)
