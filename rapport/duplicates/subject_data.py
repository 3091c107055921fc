"""The duplicate detection's part in privacy requests (see ``rapport.core.subjects``):
the person's matching keys, the pairs and clusters they were proposed in, the pairs
people said are different, and scans whose search text named them.

A cluster left with fewer than two people once the person's pairs are gone is deleted:
there is nothing left to review in it.
"""

from __future__ import annotations

from django.db.models import Count, Q

from rapport.core.subjects import Counts, DataCategory, Exported, Subject, SubjectProvider
from rapport.duplicates.models import (
    DuplicateCluster,
    DuplicatePair,
    DuplicateScan,
    MatchKey,
    NotDuplicate,
)


def _pairs(subject: Subject) -> object:
    ids = list(subject.contact_ids)
    return DuplicatePair.objects.filter(Q(contact_a_id__in=ids) | Q(contact_b_id__in=ids))


def _dismissed(subject: Subject) -> object:
    ids = list(subject.contact_ids)
    return NotDuplicate.objects.filter(Q(contact_a_id__in=ids) | Q(contact_b_id__in=ids))


def _scans(subject: Subject) -> list[DuplicateScan]:
    return [
        scan
        for scan in DuplicateScan.objects.exclude(scope_detail={}).only("id", "scope_detail")
        if subject.mentioned_in(str(scan.scope_detail))
    ]


def export(subject: Subject) -> Exported:
    ids = set(subject.contact_ids)
    pairs = _pairs(subject).select_related("cluster")  # type: ignore[attr-defined]
    return Exported(
        sections={
            "Matching keys": list(
                MatchKey.objects.filter(contact_id__in=ids).values_list("key", flat=True)
            ),
            "Proposed as possible duplicates": [
                {
                    "other contact": p.contact_b_id if p.contact_a_id in ids else p.contact_a_id,
                    "probability": round(p.probability, 4),
                    "why": p.explanation,
                    "review": p.cluster.get_status_display(),
                    "proposed at": p.cluster.created_at,
                }
                for p in pairs
            ],
            "Said to be a different person from": [
                {
                    "other contact": d.contact_b_id if d.contact_a_id in ids else d.contact_a_id,
                    "decided at": d.decided_at,
                }
                for d in _dismissed(subject)  # type: ignore[attr-defined]
            ],
        }
    )


def preview(subject: Subject) -> Counts:
    return {
        "matching keys": MatchKey.objects.filter(contact_id__in=subject.contact_ids).count(),
        "duplicate pairs": _pairs(subject).count(),  # type: ignore[attr-defined]
        "pairs marked as different people": _dismissed(subject).count(),  # type: ignore[attr-defined]
        "duplicate scans naming them": len(_scans(subject)),
    }


def erase(subject: Subject) -> Counts:
    counts = preview(subject)
    pairs = _pairs(subject)
    clusters = set(pairs.values_list("cluster_id", flat=True))  # type: ignore[attr-defined]
    pairs.delete()  # type: ignore[attr-defined]
    emptied = (
        DuplicateCluster.objects.filter(pk__in=clusters)
        .annotate(left=Count("pairs"))
        .filter(left=0)
        .values_list("pk", flat=True)
    )
    counts["duplicate clusters"] = DuplicateCluster.objects.filter(pk__in=list(emptied)).delete()[0]
    _dismissed(subject).delete()  # type: ignore[attr-defined]
    MatchKey.objects.filter(contact_id__in=subject.contact_ids).delete()
    for scan in _scans(subject):
        DuplicateScan.objects.filter(pk=scan.pk).update(scope_detail={"erased": True})
    return counts


PROVIDER = SubjectProvider(
    name="duplicates",
    label="Duplicate detection",
    export=export,
    preview=preview,
    erase=erase,
    order=400,
    categories=(
        DataCategory(
            "Matching keys and duplicate reviews",
            "keys derived from names, addresses and numbers; pairs proposed or dismissed",
            "duplicates_matchkey, duplicates_duplicatepair, duplicates_notduplicate",
        ),
    ),
)
