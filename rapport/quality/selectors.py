"""Every read of the quality area: the audit report, contacts by problem, one contact's
score, the trend, and enrichment suggestions."""

from __future__ import annotations

import datetime as dt
from calendar import monthrange
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Case, Count, IntegerField, QuerySet, Sum, Value, When
from django.utils import timezone

from rapport.contacts.models import Contact
from rapport.core import policy
from rapport.core.cursor import decode_cursor, encode_cursor
from rapport.core.errors import InvalidInput
from rapport.quality import rules
from rapport.quality.models import AuditSnapshot, ContactQuality, ContactVerification, Suggestion

ALL = "all"
MAX_LIMIT = 200


def stale_months() -> int:
    return max(1, int(getattr(settings, "RAPPORT_STALE_MONTHS", 12)))


def stale_before(now: dt.datetime | None = None) -> dt.datetime:
    """The moment before which an untouched contact is stale (N calendar months ago)."""
    now = now or timezone.now()
    months = now.year * 12 + now.month - 1 - stale_months()
    year, month = divmod(months, 12)
    month += 1
    return now.replace(year=year, month=month, day=min(now.day, monthrange(year, month)[1]))


@dataclass(frozen=True)
class Scope:
    """What a report covers: everything, one source, or the contacts of one import batch."""

    source: str | None = None
    batch: int | None = None

    @property
    def key(self) -> str:
        if self.batch is not None:
            return f"batch:{self.batch}"
        if self.source is not None:
            return f"source:{self.source}"
        return ALL

    @property
    def label(self) -> str:
        if self.batch is not None:
            return f"Import batch {self.batch}"
        if self.source is not None:
            return f"Source “{self.source}”" if self.source else "Contacts without a source"
        return "All contacts"

    def params(self) -> dict[str, str]:
        if self.batch is not None:
            return {"batch": str(self.batch)}
        if self.source is not None:
            return {"source": self.source}
        return {}


def scope_from(*, source: str | None = None, batch: str | int | None = None) -> Scope:
    """Parse the ``source`` / ``batch`` filters; InvalidInput for an unknown batch."""
    from rapport.ingest.models import ImportBatch

    if batch not in (None, ""):
        try:
            batch_id = int(batch)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidInput.single("batch", "Must be an import batch id.") from None
        if not 0 < batch_id < 2**63 or not ImportBatch.objects.filter(pk=batch_id).exists():
            raise InvalidInput.single("batch", f"There is no import batch {batch}.")
        return Scope(batch=batch_id)
    if source is not None:
        return Scope(source=source.strip()[:100])
    return Scope()


def _scoped(qs: QuerySet[ContactQuality], scope: Scope) -> QuerySet[ContactQuality]:
    from rapport.ingest.models import ImportChange

    if scope.batch is not None:
        return qs.filter(
            contact_id__in=ImportChange.objects.filter(batch_id=scope.batch).values("contact_id")
        )
    if scope.source is not None:
        return qs.filter(source=scope.source)
    return qs


@dataclass
class Report:
    """The audit of one scope: counts, completeness, validity, problems, score distribution."""

    scope: Scope
    generated_at: dt.datetime
    stale_months: int
    total: int = 0
    score_sum: int = 0
    with_field: dict[str, int] = field(
        default_factory=lambda: {c: 0 for c, _, _ in rules.COMPLETENESS}
    )
    problem_counts: dict[str, int] = field(default_factory=lambda: {r.code: 0 for r in rules.RULES})
    buckets: list[int] = field(default_factory=lambda: [0] * len(rules.BUCKETS))
    stale: int = 0
    emails_valid: int = 0
    phones_valid: int = 0

    def add(self, facts: int, count: int) -> None:
        self.total += count
        value = rules.score(facts)
        self.score_sum += value * count
        self.buckets[rules.bucket_of(value)] += count
        for code, _, bit in rules.COMPLETENESS:
            if facts & bit:
                self.with_field[code] += count
        for rule in rules.problems(facts):
            self.problem_counts[rule.code] += count
        if facts & rules.Fact.STALE:
            self.stale += count
        if facts & rules.Fact.EMAIL and not facts & rules.Fact.INVALID_EMAIL:
            self.emails_valid += count
        if facts & rules.Fact.PHONE and not facts & rules.Fact.INVALID_PHONE:
            self.phones_valid += count

    @staticmethod
    def _pct(part: int, whole: int) -> float:
        return round(100 * part / whole, 1) if whole else 0.0

    @property
    def average_score(self) -> float:
        return round(self.score_sum / self.total, 1) if self.total else 0.0

    @property
    def completeness(self) -> list[dict[str, Any]]:
        return [
            {
                "field": code,
                "label": label,
                "count": self.with_field[code],
                "percent": self._pct(self.with_field[code], self.total),
            }
            for code, label, _ in rules.COMPLETENESS
        ]

    @property
    def validity(self) -> list[dict[str, Any]]:
        rows = []
        for code, label, valid, present in (
            ("email", "Emails", self.emails_valid, self.with_field["email"]),
            ("phone", "Phone numbers", self.phones_valid, self.with_field["phone"]),
        ):
            rows.append(
                {
                    "field": code,
                    "label": label,
                    "checked": present,
                    "valid": valid,
                    "percent": self._pct(valid, present) if present else 100.0,
                }
            )
        return rows

    @property
    def problems(self) -> list[dict[str, Any]]:
        """Every rule with the contacts it applies to, most frequent first."""
        rows = [
            {
                "code": rule.code,
                "label": rule.label,
                "points": rule.points,
                "explanation": rule.explain(),
                "count": self.problem_counts[rule.code],
                "percent": self._pct(self.problem_counts[rule.code], self.total),
            }
            for rule in rules.RULES
        ]
        return sorted(rows, key=lambda r: (-r["count"], r["code"]))

    @property
    def distribution(self) -> list[dict[str, Any]]:
        return [
            {"bucket": label, "low": low, "high": high, "count": self.buckets[i]}
            for i, (label, low, high) in enumerate(rules.BUCKETS)
        ]

    def metrics(self) -> dict[str, Any]:
        """The JSON form: what the API returns, the CLI prints and a snapshot stores."""
        return {
            "scope": self.scope.key,
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "stale_months": self.stale_months,
            "contacts": self.total,
            "average_score": self.average_score,
            "stale": self.stale,
            "completeness": self.completeness,
            "validity": self.validity,
            "distribution": self.distribution,
            "problems": self.problems,
        }


def _grouped(qs: QuerySet[ContactQuality], cutoff: dt.datetime, *extra: str) -> Iterable[Any]:
    """One pass over the stored rows: per combination of facts, how many contacts and how
    many of them stale. Grouping by stored columns only lets a covering index stream it."""
    stale = Sum(
        Case(When(last_touched__lt=cutoff, then=Value(1)), default=Value(0)),
        output_field=IntegerField(),
    )
    rows = (
        qs.order_by()
        .values(*extra, "facts")
        .annotate(q_n=Count("pk"), q_stale=stale)
        .values_list(*extra, "facts", "q_n", "q_stale")
    )
    for *keys, facts, count, stale_count in rows:
        stale_count = stale_count or 0
        if count - stale_count:
            yield (*keys, facts, count - stale_count)
        if stale_count:
            yield (*keys, facts | rules.Fact.STALE, stale_count)


def audit_report(*, actor: Any, scope: Scope | None = None, refresh: bool = True) -> Report:
    """The audit of ``scope`` (everything by default), from one aggregate query.

    ``refresh`` first brings the stored facts up to date (only contacts changed since
    they were last computed are recomputed). Raises NotPermitted without quality.view.
    """
    from rapport.quality.services import quality_refresh

    policy.require(actor, "quality.view")
    scope = scope or Scope()
    if refresh:
        quality_refresh()
    now = timezone.now()
    report = Report(scope=scope, generated_at=now, stale_months=stale_months())
    for facts, count in _grouped(_scoped(ContactQuality.objects.all(), scope), stale_before(now)):
        report.add(facts, count)
    return report


def audit_reports_by_source() -> dict[str, Report]:
    """The whole database and every source, from one aggregate query (for snapshots)."""
    now = timezone.now()
    reports: dict[str, Report] = {
        ALL: Report(scope=Scope(), generated_at=now, stale_months=stale_months())
    }
    for source, facts, count in _grouped(ContactQuality.objects.all(), stale_before(now), "source"):
        reports[ALL].add(facts, count)
        scope = Scope(source=source)
        if scope.key not in reports:
            reports[scope.key] = Report(scope=scope, generated_at=now, stale_months=stale_months())
        reports[scope.key].add(facts, count)
    return reports


def source_summary(*, actor: Any) -> list[dict[str, Any]]:
    """Each source with its contact count and average score, largest first."""
    policy.require(actor, "quality.view")
    reports = audit_reports_by_source()
    rows = [
        {"source": r.scope.source, "contacts": r.total, "average_score": r.average_score}
        for key, r in reports.items()
        if key != ALL
    ]
    return sorted(rows, key=lambda r: (-r["contacts"], r["source"]))


def recent_batches(*, actor: Any, limit: int = 20) -> list[Any]:
    from rapport.ingest.models import ImportBatch

    policy.require(actor, "quality.view")
    return list(ImportBatch.objects.order_by("-created_at", "-id")[:limit])


@dataclass
class ContactScore:
    """One contact's score and the problems that cost it points."""

    contact: Contact
    score: int
    problems: tuple[rules.Rule, ...]
    verified_at: dt.datetime | None = None


def _with_stale(facts: int, touched: dt.datetime, cutoff: dt.datetime) -> int:
    return facts | (rules.Fact.STALE if touched < cutoff else 0)


def contact_score(*, actor: Any, contact: Contact) -> ContactScore:
    """The contact's score as of now, computed by the same SQL as the bulk audit."""
    policy.require(actor, "quality.view")
    facts, touched = (
        Contact.objects.filter(pk=contact.pk)
        .annotate(q_facts=rules.facts_expression(), q_touched=rules.last_touched_expression())
        .values_list("q_facts", "q_touched")
        .get()
    )
    value = _with_stale(facts, touched, stale_before())
    verification = ContactVerification.objects.filter(contact=contact).first()
    return ContactScore(
        contact=contact,
        score=rules.score(value),
        problems=rules.problems(value),
        verified_at=verification.verified_at if verification else None,
    )


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None


def contacts_with_problem(
    *,
    actor: Any,
    problem: str,
    scope: Scope | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Contacts a rule applies to, in id order, one keyset page (of ContactScore) at a time.

    Reads the stored facts (the report refreshes them). Raises InvalidInput for an
    unknown problem, a bad cursor or limit.
    """
    policy.require(actor, "quality.view")
    rule = rules.RULES_BY_CODE.get(problem)
    if rule is None:
        raise InvalidInput.single("problem", f"Must be one of: {', '.join(rules.RULES_BY_CODE)}.")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.single("limit", f"Must be between 1 and {MAX_LIMIT}.")
    cutoff = stale_before()
    qs = (
        _scoped(ContactQuality.objects.all(), scope or Scope())
        .annotate(_masked=rules.masked(rule))
        .filter(rules.rule_q(rule, stale_before=cutoff))
        .select_related("contact")
        .order_by("contact_id")
    )
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        if not isinstance(after, int):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        qs = qs.filter(contact_id__gt=after)
    rows = list(qs[: limit + 1])
    items = []
    for row in rows[:limit]:
        value = _with_stale(row.facts, row.last_touched, cutoff)
        items.append(
            ContactScore(
                contact=row.contact, score=rules.score(value), problems=rules.problems(value)
            )
        )
    more = len(rows) > limit
    return Page(items, encode_cursor([rows[limit - 1].contact_id]) if more else None)


def audit_trend(*, actor: Any, scope: Scope | None = None, days: int = 90) -> list[dict[str, Any]]:
    """Daily snapshots of ``scope`` over the last ``days`` days, oldest first."""
    policy.require(actor, "quality.view")
    since = timezone.localdate() - dt.timedelta(days=days)
    rows = AuditSnapshot.objects.filter(scope=(scope or Scope()).key, date__gte=since).order_by(
        "date"
    )
    return [
        {
            "date": s.date.isoformat(),
            "contacts": s.metrics.get("contacts", 0),
            "average_score": s.metrics.get("average_score", 0),
            "stale": s.metrics.get("stale", 0),
        }
        for s in rows
    ]


# ------------------------------------------------------------------ suggestions


@dataclass
class SuggestionFilters:
    status: str = Suggestion.Status.PENDING
    field: str | None = None
    provider: str | None = None
    source: str | None = None


def suggestion_list(
    *,
    actor: Any,
    filters: SuggestionFilters | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Suggestions matching the filters, oldest first, one keyset page at a time."""
    policy.require(actor, "quality.view")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.single("limit", f"Must be between 1 and {MAX_LIMIT}.")
    filters = filters or SuggestionFilters()
    qs = _suggestions(filters).select_related("contact").order_by("id")
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        if not isinstance(after, int):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        qs = qs.filter(id__gt=after)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    return Page(rows[:limit], encode_cursor([rows[limit - 1].pk]) if more else None)


def _suggestions(filters: SuggestionFilters) -> QuerySet[Suggestion]:
    if filters.status and filters.status not in Suggestion.Status.values:
        raise InvalidInput.single(
            "status", f"Must be one of: {', '.join(Suggestion.Status.values)}."
        )
    if filters.field and filters.field not in Suggestion.Field.values:
        raise InvalidInput.single("field", f"Must be one of: {', '.join(Suggestion.Field.values)}.")
    qs = Suggestion.objects.all()
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.field:
        qs = qs.filter(field=filters.field)
    if filters.provider:
        qs = qs.filter(provider=filters.provider)
    if filters.source is not None:
        qs = qs.filter(contact__source=filters.source)
    return qs


def suggestion_ids(*, actor: Any, filters: SuggestionFilters) -> list[int]:
    """Every suggestion id matching the filters (for "apply all matching")."""
    policy.require(actor, "quality.view")
    return list(_suggestions(filters).order_by("id").values_list("pk", flat=True))


def suggestion_counts(*, actor: Any) -> dict[str, int]:
    """Pending suggestions per field."""
    policy.require(actor, "quality.view")
    rows = (
        Suggestion.objects.filter(status=Suggestion.Status.PENDING)
        .order_by()
        .values_list("field")
        .annotate(n=Count("pk"))
    )
    return dict(rows)
