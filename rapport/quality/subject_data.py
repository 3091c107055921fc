"""The data quality area's part in privacy requests (see ``rapport.core.subjects``):
the facts kept for audits, confirmations that the details were current, and
enrichment suggestions (which hold values such as a phone number or a name)."""

from __future__ import annotations

from rapport.core.subjects import Counts, DataCategory, Exported, Subject, SubjectProvider
from rapport.quality.models import ContactQuality, ContactVerification, Suggestion


def export(subject: Subject) -> Exported:
    ids = list(subject.contact_ids)
    return Exported(
        sections={
            "Details confirmed as current": list(
                ContactVerification.objects.filter(contact_id__in=ids).values("verified_at")
            ),
            "Suggested changes": list(
                Suggestion.objects.filter(contact_id__in=ids).values(
                    "field",
                    "current_value",
                    "suggested_value",
                    "provider",
                    "reason",
                    "status",
                    "created_at",
                    "decided_at",
                )
            ),
        }
    )


def preview(subject: Subject) -> Counts:
    ids = list(subject.contact_ids)
    return {
        "quality facts": ContactQuality.objects.filter(contact_id__in=ids).count(),
        "confirmations": ContactVerification.objects.filter(contact_id__in=ids).count(),
        "suggested changes": Suggestion.objects.filter(contact_id__in=ids).count(),
    }


def erase(subject: Subject) -> Counts:
    counts = preview(subject)
    ids = list(subject.contact_ids)
    for model in (ContactQuality, ContactVerification, Suggestion):
        model.objects.filter(contact_id__in=ids).delete()
    return counts


PROVIDER = SubjectProvider(
    name="quality",
    label="Data quality",
    export=export,
    preview=preview,
    erase=erase,
    order=400,
    categories=(
        DataCategory(
            "Data quality records",
            "when details were confirmed, enrichment suggestions with proposed values",
            "quality_contactverification, quality_suggestion, quality_contactquality",
        ),
    ),
)
