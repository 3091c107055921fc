"""A known contact's signature as enrichment suggestions: a phone, job title or company
their record lacks is proposed through the data-quality review (quality.Suggestion),
never written directly."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from rapport.activity.mail.quotes import signature_facts
from rapport.activity.services.participants import e164_of
from rapport.contacts.models import Affiliation, Contact, Organization, Phone
from rapport.core.text import fold

PROVIDER = "mail_signature"


def signature_suggest(*, contact_id: int, signature: str, sender_name: str, subject: str) -> int:
    """Propose what the signature adds to the contact; returns how many proposals were
    offered (one made before, even rejected, is not made again)."""
    from rapport.quality.models import Suggestion

    facts = signature_facts(signature, sender_name=sender_name)
    if not (facts.phone or facts.title or facts.company):
        return 0
    contact = (
        Contact.objects.filter(pk=contact_id)
        .annotate(
            has_phone=Exists(Phone.objects.filter(contact_id=OuterRef("pk"))),
            has_organization=Exists(
                Affiliation.objects.filter(contact_id=OuterRef("pk"), is_current=True)
            ),
        )
        .values("job_title", "has_phone", "has_organization")
        .first()
    )
    if contact is None:
        return 0
    reason = f"From their email signature (“{subject[:120]}”)."
    rows = []
    if facts.phone and not contact["has_phone"] and e164_of(facts.phone):
        rows.append(
            Suggestion(
                contact_id=contact_id,
                field="phone",
                current_value="",
                suggested_value=facts.phone[:300],
                payload={"e164": e164_of(facts.phone)},
                provider=PROVIDER,
                reason=reason,
            )
        )
    if facts.title and not contact["job_title"]:
        rows.append(
            Suggestion(
                contact_id=contact_id,
                field="job_title",
                current_value="",
                suggested_value=facts.title[:200],
                provider=PROVIDER,
                reason=reason,
            )
        )
    if facts.company and not contact["has_organization"]:
        wanted = fold(facts.company)
        # sort_name is the folded name, and indexed
        found = (
            Organization.objects.filter(sort_name=wanted)
            .order_by("id")
            .values_list("id", "name")
            .first()
        )
        rows.append(
            Suggestion(
                contact_id=contact_id,
                field="organization",
                current_value="",
                suggested_value=(found[1] if found else facts.company)[:300],
                payload={"organization_id": found[0] if found else None, "name": facts.company},
                provider=PROVIDER,
                reason=reason,
            )
        )
    if rows:
        Suggestion.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
