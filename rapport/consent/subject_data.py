"""The consent ledger's part in privacy requests (see ``rapport.core.subjects``).

Export: what ``consent_subject_export`` gives — the current state per purpose and
channel, contact-wide states (restriction, objection to direct marketing) and the full
history with its texts and the decrypted contact points, evidence, references and
notes. Erasure: ``consent_subject_forget`` — the ledger rows cannot be deleted (the
database refuses, and the hash chain needs them), so the person's data keys go
instead, leaving every personal part of their rows unreadable for good, and their
derived state goes with them. Counts only, never the data.

It runs before the contact record goes (``order`` below the contacts provider's 1000),
while the merge redirects still name every contact merged into the person, though
nothing here depends on the contact row: the ledger knows people by plain ids.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import formats, timezone

from rapport.consent.models import ConsentContactState, ConsentEvent, ConsentState, ConsentSubject
from rapport.consent.services.upkeep import consent_subject_export, consent_subject_forget
from rapport.core.subjects import Counts, DataCategory, Exported, Subject, SubjectProvider

# the phrases shared by the preview and the erasure log, per key of
# ``consent_subject_forget``'s answer
PHRASES = {
    "data_keys": "consent data keys destroyed",
    "ledger_rows_unreadable": "consent ledger rows made unreadable (kept, as the law requires)",
    "states": "current consent states",
}


def _subjects(subject: Subject) -> Any:
    ids = list(subject.contact_ids)
    return ConsentSubject.objects.filter(Q(current_contact_id__in=ids) | Q(contact_id__in=ids))


def export(subject: Subject) -> Exported:
    sections: dict[str, Any] = {}
    data = consent_subject_export(subject.contact_id)
    # a contact merged into the person whose ledger rows did not follow (they count
    # for it still): its history too
    strays = (
        ConsentSubject.objects.filter(current_contact_id__in=subject.contact_ids)
        .exclude(current_contact_id=subject.contact_id)
        .values_list("current_contact_id", flat=True)
        .distinct()
    )
    extra = [consent_subject_export(contact_id) for contact_id in sorted(strays)]
    sections["Current consent"] = data["current"] + [row for e in extra for row in e["current"]]
    sections["Restriction of processing and objection to direct marketing"] = {
        "restricted_since": data["restricted_since"],
        "marketing_objection_since": data["marketing_objection_since"],
    }
    events = data["events"] + [row for e in extra for row in e["events"]]
    sections["Consent history"] = sorted(events, key=lambda row: row["seq"])
    return Exported(sections=sections)


def preview(subject: Subject) -> Counts:
    ids = list(subject.contact_ids)
    ledger_ids = list(_subjects(subject).values_list("contact_id", flat=True))
    states = ConsentState.objects.filter(contact_id__in=ids).count()
    states += ConsentContactState.objects.filter(contact_id__in=ids).count()
    return {
        PHRASES["data_keys"]: len(ledger_ids),
        PHRASES["ledger_rows_unreadable"]: ConsentEvent.objects.filter(
            contact_id__in=ledger_ids
        ).count(),
        PHRASES["states"]: states,
    }


def erase(subject: Subject) -> Counts:
    counts = dict.fromkeys(PHRASES.values(), 0)
    # the named contact first: it takes the subjects merged into it; then any id whose
    # rows still count for itself
    for contact_id in (subject.contact_id, *subject.contact_ids):
        for key, number in consent_subject_forget(contact_id).items():
            counts[PHRASES[key]] += number
    return counts


def _day(moment: Any) -> str:
    return formats.date_format(timezone.localtime(moment), "j M Y")


def notes(contact_id: int) -> list[str]:
    """Restriction of processing and objection to direct marketing, for the contact's
    privacy page."""
    wide = ConsentContactState.objects.filter(contact_id=contact_id).first()
    if wide is None:
        return []
    lines = []
    if wide.restricted_since:
        lines.append(
            f"Processing restricted since {_day(wide.restricted_since)}: "
            "nothing may be done with this person's data but keeping it (every purpose is blocked)."
        )
    if wide.marketing_objection_since:
        lines.append(
            "Objects to direct marketing since "
            f"{_day(wide.marketing_objection_since)}: "
            "every marketing purpose is blocked."
        )
    return lines


PROVIDER = SubjectProvider(
    name="consent",
    label="Consent",
    export=export,
    preview=preview,
    erase=erase,
    order=500,
    notes=notes,
    categories=(
        DataCategory(
            "Consent records",
            "consents given, withdrawn and objected to per purpose and channel, the text "
            "shown, the contact point, IP address and user agent as evidence, references "
            "and notes (encrypted with a key per person), restriction of processing",
            "consent_consentevent, consent_consentsubject, consent_consentstate, "
            "consent_consentcontactstate",
        ),
    ),
)
