"""What the consent tests share: purposes made through the services, a switch that
takes the append-only triggers away for a tamper test, and a shorthand to record."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

from rapport.consent import services
from rapport.consent.models import Purpose
from rapport.consent.triggers import drop_sql, install_sql

NEWSLETTER_TEXT = "Yes, send me the monthly newsletter. I can unsubscribe at any time."


def make_purpose(actor: Any, key: str = "newsletter", **data: Any) -> Purpose:
    data.setdefault("name", key.replace("-", " ").title())
    data.setdefault("lawful_basis", "consent")
    data.setdefault("text", NEWSLETTER_TEXT)
    return services.purpose_create(actor=actor, data={"key": key, **data})


def record(actor: Any, contact: Any, action: str, purpose: str | None = "newsletter", **data: Any):
    payload = {"action": action, **data}
    if purpose is not None:
        payload["purpose"] = purpose
    payload.setdefault("method", "system" if action == "expire" else "verbal")
    contact_id = contact if isinstance(contact, int) else contact.pk
    return services.consent_record(actor=actor, contact_id=contact_id, data=payload)


@contextmanager
def triggers_dropped() -> Iterator[None]:
    """The append-only triggers removed (a person with direct access to the database
    going around Rapport), put back afterwards."""
    for statement in drop_sql(connection.vendor):
        with connection.cursor() as cursor:
            cursor.execute(statement)
    try:
        yield
    finally:
        for statement in install_sql(connection.vendor):
            with connection.cursor() as cursor:
                cursor.execute(statement)
