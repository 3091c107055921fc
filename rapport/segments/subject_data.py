"""The segments area's part in privacy requests (see ``rapport.core.subjects``): the
person's values of the scores admins defined — profiling, so an export also says how
each was reached (the score's rules in words)."""

from __future__ import annotations

from rapport.core.subjects import Counts, DataCategory, Exported, Subject, SubjectProvider
from rapport.segments.models import ContactScore, ScoreRule


def export(subject: Subject) -> Exported:
    rows = list(
        ContactScore.objects.filter(contact_id__in=list(subject.contact_ids))
        .select_related("score")
        .order_by("score__name_key", "contact_id")
    )
    rules: dict[int, list[str]] = {}
    for rule in ScoreRule.objects.filter(score_id__in={r.score_id for r in rows}):
        rules.setdefault(rule.score_id, []).append(rule.summary)
    return Exported(
        sections={
            "Scores": [
                {
                    "score": r.score.name,
                    "value": r.value,
                    "computed_at": r.computed_at,
                    "rules": rules.get(r.score_id, []),
                }
                for r in rows
            ]  # fmt: skip
        }
    )


def preview(subject: Subject) -> Counts:
    ids = list(subject.contact_ids)
    return {"score values": ContactScore.objects.filter(contact_id__in=ids).count()}


def erase(subject: Subject) -> Counts:
    counts = preview(subject)
    ContactScore.objects.filter(contact_id__in=list(subject.contact_ids)).delete()
    return counts


PROVIDER = SubjectProvider(
    name="segments",
    label="Scores",
    export=export,
    preview=preview,
    erase=erase,
    order=450,
    categories=(
        DataCategory(
            "Scores (profiling)",
            "points per score from rules admins define: tags, stage, interactions, recency",
            "segments_contactscore",
        ),
    ),
)
