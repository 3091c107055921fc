"""API shapes of the duplicates area that other areas' responses include."""

from __future__ import annotations

from typing import Any

from ninja import Schema


class CandidateOut(Schema):
    """A saved contact that is likely the same person, and why."""

    contact_id: int
    display_name: str
    url: str
    probability: float
    explanation: list[dict[str, Any]]


class DuplicateConflictOut(Schema):
    """A write refused as a likely duplicate: the records it is likely to be."""

    detail: str
    duplicates: list[dict[str, Any]]


def candidates_out(found: list[Any]) -> list[dict[str, Any]]:
    """``services.Candidate`` objects as CandidateOut dicts."""
    return [
        {
            "contact_id": c.contact_id,
            "display_name": c.display_name,
            "url": f"/api/v1/contacts/{c.contact_id}",
            "probability": c.probability,
            "explanation": c.explanation,
        }
        for c in found
    ]


def organization_candidates_out(found: list[Any]) -> list[dict[str, Any]]:
    """``services.OrganizationCandidate`` objects as the API shows them."""
    return [
        {
            "organization_id": c.organization_id,
            "name": c.name,
            "url": f"/api/v1/organizations/{c.organization_id}",
            "probability": c.probability,
            "explanation": c.explanation,
        }
        for c in found
    ]
