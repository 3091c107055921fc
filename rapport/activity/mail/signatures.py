"""A known contact's signature as enrichment suggestions: a phone, job title or company
their record lacks is proposed through the data-quality review (quality.Suggestion),
never written directly."""

from __future__ import annotations

from rapport.activity.mail.quotes import signature_facts
from rapport.activity.services.participants import e164_of
from rapport.contacts.models import Affiliation, Contact, Organization, Phone
from rapport.core.text import fold

PROVIDER = "mail_signature"


def signature_suggest(*, contact_id: int, signature: str, sender_name: str, subject: str) -> int:
    """Propose what the signature adds to the contact; returns how many proposals were
    new (one made before, even rejected, is not made again)."""
    from rapport.quality.models import Suggestion

    facts = signature_facts(signature, sender_name=sender_name)
    if not (facts.phone or facts.title or facts.company):
        return 0
    contact = Contact.objects.filter(pk=contact_id).values("job_title").first()
    if contact is None:
        return 0
    reason = f"From their email signature (“{subject[:120]}”)."
    rows = []
    if facts.phone and e164_of(facts.phone) and not Phone.objects.filter(contact_id=contact_id).exists():
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
    if facts.company and not Affiliation.objects.filter(contact_id=contact_id, is_current=True).exists():
        wanted = fold(facts.company)
        found = next(
            (
                (pk, name)
                for pk, name in Organization.objects.filter(name__iexact=facts.company).values_list("id", "name")
                if fold(name) == wanted
            ),
            None,
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
    if not rows:
        return 0
    before = Suggestion.objects.filter(contact_id=contact_id, provider=PROVIDER).count()
    Suggestion.objects.bulk_create(rows, ignore_conflicts=True)
    return Suggestion.objects.filter(contact_id=contact_id, provider=PROVIDER).count() - before
