"""The records of processing activities (GDPR Art. 30), generated from what Rapport knows.

The record is a list of ``ProcessingActivity`` entries gathered from sources registered
with ``register_processing_source``. The built-in source describes contact management
itself: the kinds of personal data every area declares (``SubjectProvider.categories``),
who can reach them (the users by role), and the retention policies. The consent app's
purposes (name, lawful basis, retention, data categories, recipients) are meant to come
in as another source (``consent_purposes`` below)::

    register_processing_source(consent_purposes)

The controller and its contact come from ``RAPPORT_PRIVACY_CONTROLLER`` and
``RAPPORT_PRIVACY_CONTACT``. The record can be read as a page, CSV, HTML or JSON.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from rapport.core import policy
from rapport.core.subjects import providers


@dataclass(frozen=True)
class ProcessingActivity:
    """One entry of the record (the fields of Art. 30(1))."""

    name: str
    purposes: str
    lawful_basis: str
    data_subjects: str
    data_categories: list[str] = field(default_factory=list)
    recipients: str = ""
    transfers: str = "None: Rapport is self-hosted and sends personal data nowhere by itself."
    retention: str = ""
    security: str = ""
    source: str = "Rapport"


@dataclass(frozen=True)
class ProcessingRecord:
    controller: str
    contact: str
    generated_at: datetime
    activities: list[ProcessingActivity]


ProcessingSource = Callable[[], list[ProcessingActivity]]
_sources: list[ProcessingSource] = []

SECURITY = (
    "Access by signed-in users only, each with a role (admin, member, read-only) that "
    "limits what they may do; private notes visible to their author and admins; API "
    "tokens and passwords stored as hashes; sign-in throttling; every change recorded "
    "with who made it; erased people kept only as keyed hashes on the suppression list."
)


def register_processing_source(source: ProcessingSource) -> None:
    """Add a source of entries (purposes, further processing) to the record."""
    if source not in _sources:
        _sources.append(source)


def _recipients() -> str:
    from rapport.access.models import User

    roles = dict(
        User.objects.filter(is_active=True)
        .values_list("role")
        .annotate(n=Count("id"))
        .values_list("role", "n")
    )
    labels = dict(User.Role.choices)
    people = ", ".join(f"{n} {labels.get(role, role).lower()}" for role, n in sorted(roles.items()))
    return f"Rapport's users ({people or 'none yet'}); nobody outside the organization."


def _retention_text() -> str:
    from rapport.privacy.models import RetentionPolicy

    rules = [
        f"{p.name}: contacts matching “{p.filters}” are {p.get_action_display().lower()}d daily"
        + ("" if p.enabled else " (paused)")
        for p in RetentionPolicy.objects.order_by("name")
    ]
    if not rules:
        return "No retention policy yet: kept until erased or deleted."
    return "; ".join(rules) + ". Everything else is kept until erased or deleted."


def contact_management() -> list[ProcessingActivity]:
    """The built-in entry: Rapport's own processing of contacts."""
    categories = [f"{c.name} ({c.examples})" for part in providers() for c in part.categories]
    return [
        ProcessingActivity(
            name="Contact and relationship management",
            purposes=(
                "Keeping track of the people and organizations the organization deals "
                "with, of what happened with them and of what is to be done."
            ),
            lawful_basis=(
                "Legitimate interest (Art. 6(1)(f)) unless a purpose below names another."
            ),
            data_subjects="Customers, prospects, partners and other contacts, and their colleagues.",
            data_categories=categories,
            recipients=_recipients(),
            retention=_retention_text(),
            security=SECURITY,
        )
    ]


register_processing_source(contact_management)


def _days(days: int | None) -> str:
    if not days:
        return "Until the person withdraws or objects (no retention period set)."
    years, rest = divmod(days, 365)
    spelled = f" (about {years} year{'s' if years > 1 else ''})" if years and not rest else ""
    return f"A grant lasts {days} days{spelled}, then lapses unless given again."


def consent_purposes() -> list[ProcessingActivity]:
    """One entry per purpose of the consent app (archived ones left out): its name,
    description, lawful basis, retention, data categories and recipients as the admins
    defined them."""
    from rapport.consent.models import Purpose
    from rapport.consent.vocabulary import LawfulBasis

    articles = {
        "consent": "a",
        "contract": "b",
        "legal_obligation": "c",
        "vital_interest": "d",
        "public_task": "e",
        "legitimate_interest": "f",
    }
    labels = dict(LawfulBasis.choices)
    entries = []
    for purpose in Purpose.objects.filter(archived_at__isnull=True).order_by("name", "id"):
        basis = purpose.lawful_basis
        entries.append(
            ProcessingActivity(
                name=purpose.name,
                purposes=purpose.description or purpose.name,
                lawful_basis=f"{labels.get(basis, basis)} (Art. 6(1)({articles.get(basis, '?')}))"
                + (" — direct marketing" if purpose.is_marketing else ""),
                data_subjects="Contacts whose consent or objection for it is recorded, "
                "and every contact it is used for.",
                data_categories=[str(c) for c in purpose.data_categories]
                or ["Contact details used for it; the consent ledger's records"],
                recipients="; ".join(str(r) for r in purpose.recipients) or _recipients(),
                retention=_days(purpose.retention_days),
                security=SECURITY,
                source=f"Purpose “{purpose.key}” (consent)",
            )
        )
    return entries


register_processing_source(consent_purposes)


def processing_record(*, actor: Any) -> ProcessingRecord:
    """The whole record as it stands now; raises NotPermitted."""
    policy.require(actor, "privacy.records")
    activities = [activity for source in _sources for activity in source()]
    return ProcessingRecord(
        controller=str(settings.RAPPORT_PRIVACY_CONTROLLER) or "(set RAPPORT_PRIVACY_CONTROLLER)",
        contact=str(settings.RAPPORT_PRIVACY_CONTACT) or "(set RAPPORT_PRIVACY_CONTACT)",
        generated_at=timezone.now(),
        activities=activities,
    )


COLUMNS = (
    ("name", "Processing activity"),
    ("purposes", "Purposes"),
    ("lawful_basis", "Lawful basis"),
    ("data_subjects", "Data subjects"),
    ("data_categories", "Categories of personal data"),
    ("recipients", "Recipients"),
    ("transfers", "Transfers to third countries"),
    ("retention", "Retention"),
    ("security", "Security measures"),
    ("source", "Source"),
)


def record_csv(record: ProcessingRecord) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Controller", record.controller])
    writer.writerow(["Contact", record.contact])
    writer.writerow(["Generated", record.generated_at.isoformat()])
    writer.writerow([])
    writer.writerow([label for _, label in COLUMNS])
    for activity in record.activities:
        values = asdict(activity)
        writer.writerow(
            [
                "; ".join(values[key]) if isinstance(values[key], list) else values[key]
                for key, _ in COLUMNS
            ]
        )
    return out.getvalue()


def record_html(record: ProcessingRecord) -> str:
    """A standalone page (no script, nothing loaded from elsewhere)."""
    from rapport.privacy.documents import render_document

    return render_document("records.html", {"record": record, "columns": COLUMNS})


def record_json(record: ProcessingRecord) -> dict[str, Any]:
    return {
        "controller": record.controller,
        "contact": record.contact,
        "generated_at": record.generated_at,
        "activities": [asdict(a) for a in record.activities],
    }
