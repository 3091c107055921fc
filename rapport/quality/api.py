"""/api/v1/quality: the audit report, contacts by problem, trend, and enrichment suggestions.

Thin handlers: parse, call a selector or service, return what it gives.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from rapport.contacts.api._http import READ_ERRORS, WRITE_ERRORS, actor
from rapport.quality import rules, selectors, services
from rapport.quality.models import Suggestion

router = Router(tags=["quality"])
VIA = "api"


class ScopeParams(Schema):
    source: str | None = Field(None, description="Only contacts with this source.")
    batch: int | None = Field(None, ge=1, description="Only contacts an import batch touched.")


def _scope(params: ScopeParams) -> selectors.Scope:
    return selectors.scope_from(source=params.source or None, batch=params.batch)


@router.get("/report", response={200: dict[str, Any], **READ_ERRORS}, summary="Audit report")
def report(request: HttpRequest, params: Query[ScopeParams]) -> Any:
    """Counts, completeness per field, validity, stale records, score distribution and the
    problems with how many contacts each affects, for everything, a source or a batch."""
    result = selectors.audit_report(actor=actor(request), scope=_scope(params))
    body = result.metrics()
    for problem in body["problems"]:
        problem["contacts_url"] = f"/api/v1/quality/problems/{problem['code']}" + (
            f"?{'&'.join(f'{k}={v}' for k, v in result.scope.params().items())}"
            if result.scope.params()
            else ""
        )
    return body


@router.get("/rules", response={200: list[dict[str, Any]], **READ_ERRORS}, summary="Scoring rules")
def rule_list(request: HttpRequest) -> Any:
    """The scoring rules: code, label, points lost and what they mean."""
    selectors.audit_trend(actor=actor(request), days=0)  # asks the policy
    return [
        {"code": r.code, "label": r.label, "points": r.points, "explanation": r.explain()}
        for r in rules.RULES
    ]


class TrendParams(ScopeParams):
    days: int = Field(90, ge=1, le=3660, description="How many days back.")


@router.get("/trend", response={200: list[dict[str, Any]], **READ_ERRORS}, summary="Daily trend")
def trend(request: HttpRequest, params: Query[TrendParams]) -> Any:
    """Daily snapshots (contacts, average score, stale) of the scope, oldest first."""
    return selectors.audit_trend(actor=actor(request), scope=_scope(params), days=params.days)


class ProblemParams(ScopeParams):
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=selectors.MAX_LIMIT)


@router.get(
    "/problems/{problem}",
    response={200: dict[str, Any], **READ_ERRORS},
    summary="Contacts with one problem",
)
def problem_contacts(request: HttpRequest, problem: str, params: Query[ProblemParams]) -> Any:
    """Contacts a rule applies to, with their score and problems; keyset pages."""
    page = selectors.contacts_with_problem(
        actor=actor(request),
        problem=problem,
        scope=_scope(params),
        cursor=params.cursor,
        limit=params.limit,
    )
    return {
        "items": [
            {
                "id": row.contact.pk,
                "display_name": row.contact.display_name,
                "score": row.score,
                "problems": [p.code for p in row.problems],
            }
            for row in page.items
        ],
        "next_cursor": page.next_cursor,
    }


@router.get(
    "/contacts/{contact_id}", response={200: dict[str, Any], **READ_ERRORS}, summary="Contact score"
)
def contact_score(request: HttpRequest, contact_id: int) -> Any:
    """One contact's score now and the problems that cost it points."""
    from rapport.contacts import selectors as contact_selectors

    contact = contact_selectors.contact_get(actor=actor(request), contact_id=contact_id)
    result = selectors.contact_score(actor=actor(request), contact=contact)
    return {
        "id": contact.pk,
        "score": result.score,
        "problems": [
            {"code": p.code, "label": p.label, "points": p.points} for p in result.problems
        ],
        "confirmed_at": result.verified_at.isoformat() if result.verified_at else None,
    }


# ------------------------------------------------------------------ suggestions


class SuggestionOut(Schema):
    id: int
    contact: int = Field(..., alias="contact_id")
    field: str
    current_value: str
    suggested_value: str
    provider: str
    reason: str
    status: str
    outcome: str


class SuggestionPage(Schema):
    items: list[SuggestionOut]
    next_cursor: str | None


class SuggestionParams(Schema):
    status: str = Field("pending", json_schema_extra={"enum": list(Suggestion.Status.values)})
    field: str | None = Field(None, json_schema_extra={"enum": list(Suggestion.Field.values)})
    provider: str | None = None
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=selectors.MAX_LIMIT)


@router.get("/suggestions", response={200: SuggestionPage, **READ_ERRORS}, summary="Suggestions")
def suggestion_list(request: HttpRequest, params: Query[SuggestionParams]) -> Any:
    filters = selectors.SuggestionFilters(
        status=params.status, field=params.field, provider=params.provider
    )
    return selectors.suggestion_list(
        actor=actor(request), filters=filters, cursor=params.cursor, limit=params.limit
    )


class GenerateIn(Schema):
    source: str | None = None
    batch: int | None = Field(None, ge=1)
    providers: list[str] | None = Field(
        None,
        max_length=20,
        description="Provider names (email_domain, phone, address, name_case); all by default.",
    )


@router.post(
    "/suggestions/generate",
    response={200: dict[str, int], **WRITE_ERRORS},
    summary="Find suggestions",
)
def suggestion_generate(request: HttpRequest, payload: GenerateIn) -> Any:
    """Run the providers over the contacts (all, a source or a batch); returns new counts."""
    scope = selectors.scope_from(source=payload.source or None, batch=payload.batch)
    return services.enrichment_generate(
        actor=actor(request), scope=scope, providers=payload.providers
    )


class DecisionIn(Schema):
    ids: list[int] = Field(..., min_length=1, max_length=10_000)


@router.post(
    "/suggestions/accept",
    response={200: dict[str, Any], **WRITE_ERRORS},
    summary="Accept suggestions",
)
def suggestion_accept(request: HttpRequest, payload: DecisionIn) -> Any:
    """Apply each suggestion through the contact services; failures are listed, not fatal."""
    return services.suggestion_accept_many(
        actor=actor(request), suggestion_ids=payload.ids, via=VIA
    )


@router.post(
    "/suggestions/reject",
    response={200: dict[str, int], **WRITE_ERRORS},
    summary="Reject suggestions",
)
def suggestion_reject(request: HttpRequest, payload: DecisionIn) -> Any:
    return {
        "rejected": services.suggestion_reject(actor=actor(request), suggestion_ids=payload.ids)
    }
