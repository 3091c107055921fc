"""/api/v1/scores: admin-defined scores (CRUD with ETag / If-Match, computed again on
request), their top contacts, and one contact's values. Rules are sent and read as a
list in order, each ``{kind, label, points, …its settings}`` (docs/segments.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from rapport.contacts.api._http import (
    READ_ERRORS,
    VIA,
    WRITE_ERRORS,
    ObjectId,
    actor,
    expected_version,
)
from rapport.contacts.schemas import InputSchema
from rapport.segments import selectors, services
from rapport.segments.models import Score

router = Router(tags=["scores"])


class ScoreIn(InputSchema):
    name: Any = None
    key: Any = Field(None, description="Used in queries as score.KEY; made from the name if left out; never changes.")  # fmt: skip
    description: Any = None
    rules: Any = Field(
        None,
        description="The whole list of rules, in order: {kind: match|activity|recency, label, "
        "points, …}; match takes query; activity takes interaction, direction, window_days, "
        "half_life_days, cap; recency takes of (contacted|ordered), half_life_days, within_days.",
    )


class ScoreRuleOut(BaseModel):
    position: int
    kind: str
    label: str
    points: int
    summary: str
    query: str | None = None
    interaction: str | None = None
    direction: str | None = None
    window_days: int | None = None
    half_life_days: float | None = None
    cap: int | None = None
    of: str | None = None
    within_days: int | None = None


class ScoreOut(BaseModel):
    id: int
    name: str
    key: str
    description: str
    rules: list[ScoreRuleOut]
    computed_at: dt.datetime | None
    stale: bool
    problem: str
    created_at: dt.datetime
    updated_at: dt.datetime


class ScoredOut(BaseModel):
    contact: int
    name: str
    value: int


class ScoreTopParams(Schema):
    limit: int = Field(20, ge=1, le=selectors.MAX_PAGE)
    lowest: bool = False


class ContactScoreOut(BaseModel):
    score: int
    key: str
    name: str
    value: int
    computed_at: dt.datetime | None


def _score_out(score: Score) -> dict[str, Any]:
    return {
        "id": score.pk,
        "name": score.name,
        "key": score.key,
        "description": score.description,
        "rules": [
            {
                "position": r.position,
                "kind": r.kind,
                "label": r.label,
                "points": r.points,
                "summary": r.summary,
                **r.parameters,
            }
            for r in score.rules.all()
        ],  # fmt: skip
        "computed_at": score.computed_at,
        "stale": score.stale,
        "problem": score.problem,
        "created_at": score.created_at,
        "updated_at": score.updated_at,
    }


def _visible(request: HttpRequest, pk: int) -> Score:
    return get_object_or_404(selectors.scores_visible(actor(request)), pk=pk)


def _with_etag(response: HttpResponse, score: Score) -> dict[str, Any]:
    response["ETag"] = score.etag
    return _score_out(score)


@router.get("", response={200: list[ScoreOut], **READ_ERRORS}, summary="Every score")
def score_list(request: HttpRequest) -> list[dict[str, Any]]:
    scores = selectors.scores_visible(actor(request)).prefetch_related("rules")
    return [_score_out(s) for s in scores]


@router.post("", response={201: ScoreOut, **WRITE_ERRORS}, summary="Define a score (admins)")
def score_create(request: HttpRequest, response: HttpResponse, payload: ScoreIn) -> Status:
    """The worker computes it within a minute or so (``computed_at``)."""
    score = services.score_create(
        actor=actor(request), data=payload.model_dump(exclude_unset=True), via=VIA
    )
    return Status(201, _with_etag(response, score))


@router.get("/of/{contact_id}", response={200: list[ContactScoreOut], **READ_ERRORS})
def contact_values(request: HttpRequest, contact_id: ObjectId) -> list[dict[str, Any]]:
    """One contact's value of every score (0 when it has none), as last computed."""
    from rapport.contacts.models import Contact

    found = selectors.contact_scores(actor(request), contact_id)
    get_object_or_404(Contact, pk=contact_id)  # an unknown contact is a 404, not zeros
    return [
        {"score": v.score.pk, "key": v.score.key, "name": v.score.name, "value": v.value,
         "computed_at": v.score.computed_at}
        for v in found
    ]  # fmt: skip


@router.get("/{score_id}", response={200: ScoreOut, **READ_ERRORS})
def score_get(request: HttpRequest, response: HttpResponse, score_id: ObjectId) -> dict[str, Any]:
    return _with_etag(response, _visible(request, score_id))


@router.patch("/{score_id}", response={200: ScoreOut, **WRITE_ERRORS})
def score_update(
    request: HttpRequest, response: HttpResponse, score_id: ObjectId, payload: ScoreIn
) -> dict[str, Any]:
    """Change the name, description or rules (``rules``: the whole new list). With
    If-Match: 412 when someone changed it since."""
    score = _visible(request, score_id)
    updated = services.score_update(
        actor=actor(request), score=score, data=payload.model_dump(exclude_unset=True),
        expected_version=expected_version(request, score), via=VIA,
    )  # fmt: skip
    return _with_etag(response, updated)


@router.delete("/{score_id}", response={204: None, **WRITE_ERRORS})
def score_delete(request: HttpRequest, score_id: ObjectId) -> Status:
    """Refused (422) while a segment's query uses the score."""
    score = _visible(request, score_id)
    services.score_delete(
        actor=actor(request), score=score, expected_version=expected_version(request, score),
        via=VIA,
    )  # fmt: skip
    return Status(204, None)


@router.post("/{score_id}/refresh", response={202: ScoreOut, **WRITE_ERRORS})
def score_refresh(request: HttpRequest, score_id: ObjectId) -> Status:
    """Compute the score again now, in the background: ``computed_at`` moves when done."""
    score = _visible(request, score_id)
    services.score_refresh_request(actor=actor(request), score=score)
    score.refresh_from_db()
    return Status(202, _score_out(score))


@router.get("/{score_id}/top", response={200: list[ScoredOut], **READ_ERRORS})
def score_top(
    request: HttpRequest, score_id: ObjectId, params: Query[ScoreTopParams]
) -> list[dict[str, Any]]:
    """The contacts with the highest values (``lowest``: the lowest), as last computed.
    For every contact of a query by score, see the segments' members with ``sort``."""
    score = _visible(request, score_id)
    return [
        {"contact": s.contact_id, "name": s.name, "value": s.value}
        for s in selectors.score_top(score, limit=params.limit, lowest=params.lowest)
    ]
