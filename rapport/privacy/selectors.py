"""Reads of the privacy app: what Rapport holds about a contact, and the logs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rapport.contacts.models import Contact
from rapport.core import policy
from rapport.core.subjects import providers
from rapport.privacy.models import (
    ErasureLog,
    Readmission,
    RetentionPolicy,
    RetentionRun,
    SubjectExport,
)
from rapport.privacy.services.erasure import PartCounts
from rapport.privacy.services.subjects import subject_of


@dataclass
class ContactPrivacy:
    """A contact's privacy page: what each area holds, notes (restriction of
    processing, objection: from areas that keep them), and the exports made."""

    contact: Contact
    merged_ids: tuple[int, ...]
    parts: list[PartCounts]
    notes: list[str] = field(default_factory=list)
    exports: list[SubjectExport] = field(default_factory=list)
    anonymised: bool = False

    @property
    def total(self) -> int:
        return sum(p.total for p in self.parts)


def contact_privacy(*, actor: Any, contact_id: int) -> ContactPrivacy:
    """Raises NotPermitted unless the actor may export or erase, Contact.DoesNotExist,
    InvalidInput for a merged-away id."""
    if not (policy.can(actor, "privacy.export") or policy.can(actor, "privacy.erase")):
        policy.require(actor, "privacy.export")
    subject = subject_of(contact_id)
    from rapport.privacy.models import Anonymised

    notes = [
        line for part in providers() if part.notes is not None for line in part.notes(contact_id)
    ]
    return ContactPrivacy(
        contact=Contact.objects.get(pk=contact_id),
        merged_ids=subject.contact_ids[1:],
        parts=[PartCounts(p.name, p.label, p.preview(subject)) for p in providers()],
        notes=notes,
        exports=list(
            SubjectExport.objects.filter(contact_id__in=subject.contact_ids)
            .select_related("requested_by")
            .order_by("-created_at")[:20]
        ),
        anonymised=Anonymised.objects.filter(contact_id=contact_id).exists(),
    )


def _admin(actor: Any) -> None:
    if not any(
        policy.can(actor, a)
        for a in ("privacy.export", "privacy.erase", "privacy.retention", "privacy.readmit")
    ):
        policy.require(actor, "privacy.erase")


def erasure_list(*, actor: Any, limit: int = 50) -> list[ErasureLog]:
    _admin(actor)
    return list(ErasureLog.objects.select_related("actor", "retention_run")[:limit])


def export_list(*, actor: Any, limit: int = 50) -> list[SubjectExport]:
    _admin(actor)
    return list(SubjectExport.objects.select_related("requested_by")[:limit])


def readmission_list(*, actor: Any, limit: int = 50) -> list[Readmission]:
    _admin(actor)
    return list(Readmission.objects.select_related("actor")[:limit])


def retention_policy_list(*, actor: Any) -> list[RetentionPolicy]:
    policy.require(actor, "privacy.retention")
    return list(RetentionPolicy.objects.select_related("created_by"))


def retention_policy_get(*, actor: Any, policy_id: int) -> RetentionPolicy:
    policy.require(actor, "privacy.retention")
    return RetentionPolicy.objects.select_related("created_by").get(pk=policy_id)


def retention_run_list(
    *, actor: Any, retention: RetentionPolicy | None = None, limit: int = 50
) -> list[RetentionRun]:
    policy.require(actor, "privacy.retention")
    runs = RetentionRun.objects.select_related("triggered_by")
    if retention is not None:
        runs = runs.filter(policy=retention)
    return list(runs[:limit])


def contact_names(ids: list[int]) -> dict[int, str]:
    """Current names of a dry run's sample (shown, never stored)."""
    return dict(Contact.objects.filter(pk__in=ids).values_list("pk", "display_name"))
