"""Demo purposes and consent history for the demo contacts, so a new installation's
consent boxes, the gate's consent step and the records of processing are not empty."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.access.models import User
from rapport.consent.models import Purpose
from rapport.consent.services.ledger import consent_record
from rapport.consent.services.purposes import purpose_create
from rapport.contacts.models import Contact

PURPOSES: list[dict[str, Any]] = [
    {
        "key": "newsletter",
        "name": "Newsletter",
        "lawful_basis": "consent",
        "description": "The monthly newsletter: product news, events and customer stories.",
        "retention_days": 730,
        "is_marketing": True,
        "data_categories": ["name", "email address", "language"],
        "signup_enabled": True,
        "text": "Yes, send me the monthly newsletter. I can unsubscribe at any time.",
    },
    {
        "key": "product-updates",
        "name": "Product updates",
        "lawful_basis": "legitimate_interest",
        "description": "Release notes and changes to the products a customer uses.",
        "is_marketing": False,
        "data_categories": ["name", "email address", "organization"],
    },
    {
        "key": "sales",
        "name": "Sales outreach",
        "lawful_basis": "legitimate_interest",
        "description": "Calls and mail from the sales team to people at prospects.",
        "is_marketing": True,
        "data_categories": ["name", "email address", "phone number", "job title"],
    },
    {
        "key": "support",
        "name": "Customer support",
        "lawful_basis": "contract",
        "description": "Answering support requests and keeping customers informed.",
        "data_categories": ["name", "email address", "phone number", "interactions"],
    },
]


def demo_consent_load(first_contact_id: int, *, seed: int = 5, people: int = 150) -> int:
    """Create the demo purposes (when none exist yet) and give up to ``people`` demo
    contacts (from ``first_contact_id`` on) a consent history; returns the number of
    ledger rows appended."""
    admin = User.objects.filter(is_superuser=True).order_by("id").first()
    if admin is None or Purpose.objects.exists():
        return 0
    rng = random.Random(seed)
    with transaction.atomic():
        for data in PURPOSES:
            if data.get("signup_enabled"):
                data = {**data, "signup_owner": admin.get_username()}
            purpose_create(actor=admin, data=data, via="cli")
        ids = list(
            Contact.objects.filter(pk__gte=first_contact_id)
            .order_by("id")
            .values_list("id", flat=True)[:people]
        )
        now = timezone.now()
        made = 0
        for contact_id in ids:
            roll = rng.random()
            given = now - dt.timedelta(days=rng.randint(20, 600))
            events: list[dict[str, Any]] = []
            if roll < 0.45:
                events.append({"action": "grant", "purpose": "newsletter", "method": "checkbox"})
                if rng.random() < 0.15:
                    events.append({"action": "withdraw", "purpose": "newsletter", "method": "link"})
            elif roll < 0.52:
                events.append({"action": "object", "purpose": "sales", "method": "verbal"})
            elif roll < 0.55:
                events.append({"action": "object_marketing", "method": "email"})
            for index, event in enumerate(events):
                at = given + dt.timedelta(days=30 * index)
                consent_record(
                    actor=admin,
                    contact_id=contact_id,
                    data={**event, "given_at": at.isoformat(), "note": "Demo data"},
                    via="cli",
                )
                made += 1
    return made
