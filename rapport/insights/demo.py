"""Demo insights for a new installation: the demo contacts spread over the last year and
a half (so growth has a shape), key accounts and champions (so relationship health has
figures), two KPI goals, and the snapshot with its history."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from rapport.access.models import User
from rapport.contacts.models import Affiliation, Contact, Organization, Tag
from rapport.core.text import fold
from rapport.insights import services
from rapport.insights.metrics import today
from rapport.insights.metrics.catalogue import key_account_tag
from rapport.insights.models import Kpi


def demo_insights_load(first_contact_id: int, *, seed: int = 17) -> int:
    """Returns the figures the snapshot wrote."""
    admin = User.objects.filter(is_superuser=True).order_by("id").first()
    if admin is None or Kpi.objects.exists():
        return 0
    rng = random.Random(seed)
    now = timezone.now()
    with transaction.atomic():
        rows = Contact.objects.filter(pk__gte=first_contact_id).values_list("id", "updated_at")
        for contact_id, updated_at in rows:
            # more contacts in recent months: a business that grows (never added after
            # its last change)
            age = dt.timedelta(days=int(540 * rng.random() ** 1.6), minutes=rng.randint(0, 1440))
            created = min(now - age, updated_at)
            Contact.objects.filter(pk=contact_id).update(created_at=created)
        tag, _ = Tag.objects.get_or_create(
            name_key=fold(key_account_tag()), defaults={"name": key_account_tag()}
        )
        organizations = list(Organization.objects.order_by("id")[:12])
        for organization in organizations:
            organization.tags.add(tag)
        current = Affiliation.objects.filter(is_current=True, buying_role="").order_by("id")
        for affiliation in current[:: max(1, current.count() // 25)][:25]:
            Affiliation.objects.filter(pk=affiliation.pk).update(buying_role="champion")
    result = services.snapshot(since=today() - dt.timedelta(days=365))
    services.kpi_create(actor=admin, via="cli", data={
        "name": "New contacts per month", "metric": "new_contacts", "cadence": "monthly",
        "baseline_date": (today() - dt.timedelta(days=180)).isoformat(),
        "target_value": 150, "target_date": (today() + dt.timedelta(days=180)).isoformat(),
        "description": "Grow the database: more new people each month than before the campaign.",
    })  # fmt: skip
    services.kpi_create(actor=admin, via="cli", data={
        "name": "Champions not contacted", "metric": "champions_not_contacted", "direction": "down",
        "cadence": "weekly", "baseline_value": 70, "target_value": 10,
        "description": "Every champion hears from us at least once a month.",
    })  # fmt: skip
    return sum(result.points.values())
