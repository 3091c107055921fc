"""The metrics of growth, data quality, duplicates, activity, relationship health,
reachability and consent, and segments. Customers' metrics (orders) are in
``customers``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from rapport.activity.models import Interaction, Task
from rapport.contacts.models import Affiliation, Contact, Organization
from rapport.duplicates.models import DuplicateCluster
from rapport.insights.metrics import (
    Drill,
    Metric,
    Point,
    day_end,
    day_start,
    per_day,
    register,
    running_total,
    share,
    zone,
)
from rapport.merges.models import Merge
from rapport.quality.models import AuditSnapshot
from rapport.segments.models import Segment, SegmentMember
from rapport.segments.query.tree import quote as quote_value

QUIET_DAYS = 30


def created_between(start: dt.date, end: dt.date) -> str:
    """The query text of contacts created from ``start`` to ``end`` (days, inclusive)."""
    if start == end:
        return f"created:{start.isoformat()}"
    return f"created:>={start.isoformat()} AND created:<={end.isoformat()}"


# growth ---------------------------------------------------------------------------


def _contacts(days: list[dt.date]) -> Iterable[Point]:
    return running_total(Contact.objects.all(), "created_at", days)


register(Metric(
    "contacts", "Contacts", "growth", "level", "count",
    "Contacts in Rapport at the end of the day (those deleted since are not counted back).",
    _contacts, history=True,
    drill=lambda key, start, end: Drill(query=f"created:<={end.isoformat()}"),
))  # fmt: skip


def _organizations(days: list[dt.date]) -> Iterable[Point]:
    return running_total(Organization.objects.all(), "created_at", days)


def _organizations_until(end: dt.date) -> Drill:
    return Drill(organizations=lambda: Organization.objects.filter(created_at__lt=day_end(end)))


register(Metric(
    "organizations", "Organizations", "growth", "level", "count",
    "Organizations in Rapport at the end of the day.",
    _organizations, history=True, drill=lambda key, start, end: _organizations_until(end),
))  # fmt: skip

NO_SOURCE = "(none)"


def _new_contacts(days: list[dt.date]) -> Iterable[Point]:
    counted = per_day(Contact.objects.all(), "created_at", days, by="source")
    totals: dict[dt.date, int] = {}
    for (day, source), n in counted.items():
        totals[day] = totals.get(day, 0) + n
        yield day, f"source:{(source or NO_SOURCE)[:100]}", float(n)
    for day in days:
        yield day, "", float(totals.get(day, 0))


def _new_contacts_drill(key: str, start: dt.date, end: dt.date) -> Drill:
    text = created_between(start, end)
    if key.startswith("source:"):
        source = key.split(":", 1)[1]
        text += " AND source!=*" if source == NO_SOURCE else f" AND source:{quote_value(source)}"
    return Drill(query=text)


register(Metric(
    "new_contacts", "New contacts", "growth", "flow", "count",
    "Contacts added, by where they came from (the contact's source).",
    _new_contacts, history=True, drill=_new_contacts_drill, keys_label="source",
))  # fmt: skip


def _quality(days: list[dt.date]) -> Iterable[Point]:
    rows = AuditSnapshot.objects.filter(scope="all", date__gte=min(days), date__lte=max(days))
    for row in rows.only("date", "metrics"):
        score = row.metrics.get("average_score")
        if isinstance(score, (int, float)):
            yield row.date, "", float(score)


register(Metric(
    "quality_score", "Average data quality", "growth", "level", "score",
    "The data audit's average score (0–100), as its daily snapshot recorded it.",
    _quality, history=True, drill=lambda key, start, end: Drill(url=reverse("quality:audit")),
))  # fmt: skip


def _duplicates_found(days: list[dt.date]) -> Iterable[Point]:
    counted = per_day(DuplicateCluster.objects.all(), "created_at", days, by="kind")
    for (day, kind), n in counted.items():
        yield day, f"kind:{kind}", float(n)
    for day in days:
        yield day, "", float(sum(n for (d, _k), n in counted.items() if d == day))


register(Metric(
    "duplicates_found", "Duplicates found", "growth", "flow", "count",
    "Groups of likely duplicates put up for review (people and organizations).",
    _duplicates_found, history=True, keys_label="kind",
    drill=lambda key, start, end: Drill(url=reverse("duplicates:queue")),
))  # fmt: skip


def _merges(days: list[dt.date]) -> Iterable[Point]:
    counted = per_day(Merge.objects.filter(undone_at__isnull=True), "at", days)
    for day in days:
        yield day, "", float(counted.get((day, ""), 0))


register(Metric(
    "duplicates_merged", "Duplicates merged", "growth", "flow", "count",
    "Merges done (and not undone since).",
    _merges, history=True, drill=lambda key, start, end: Drill(url=reverse("merges:list")),
))  # fmt: skip

# activity -------------------------------------------------------------------------


def _interactions(days: list[dt.date]) -> Iterable[Point]:
    rows = Interaction.objects.filter(cancelled=False)
    by_kind = per_day(rows, "occurred_at", days, by="kind")
    by_user = per_day(rows.filter(author__isnull=False), "occurred_at", days, by="author_id")
    totals: dict[dt.date, int] = {}
    for (day, kind), n in by_kind.items():
        totals[day] = totals.get(day, 0) + n
        yield day, f"kind:{kind}", float(n)
    for (day, user), n in by_user.items():
        yield day, f"user:{user}", float(n)
    for day in days:
        yield day, "", float(totals.get(day, 0))


def _interactions_drill(key: str, start: dt.date, end: dt.date) -> Drill | None:
    window = f"since:{start.isoformat()}, until:{end.isoformat()}"
    if key.startswith("kind:"):
        return Drill(query=f"interactions(kind:{key[5:]}, {window})>=1")
    if key.startswith("user:"):
        return None
    return Drill(query=f"interactions({window})>=1")


def user_names(keys: list[str]) -> dict[str, str]:
    from rapport.access.models import User

    ids = [int(k[5:]) for k in keys if k.startswith("user:") and k[5:].isdecimal()]
    users = User.objects.filter(pk__in=ids)
    return {f"user:{u.pk}": (u.get_full_name() or u.username) for u in users}


register(Metric(
    "interactions", "Interactions", "activity", "flow", "count",
    "Notes, calls, meetings, emails and messages logged, by kind and by the user who logged them "
    "(cancelled meetings left out).",
    _interactions, history=True, drill=_interactions_drill, key_names=user_names,
    keys_label="kind or user",
))  # fmt: skip


def _overdue(days: list[dt.date]) -> Iterable[Point]:
    now = timezone.now()
    day = max(days)
    rows = Task.objects.filter(status=Task.Status.OPEN, due_key__lt=now)
    yield day, "", float(rows.count())
    for row in rows.values("assignee_id").annotate(n=Count("pk")).order_by():
        if row["assignee_id"]:
            yield day, f"user:{row['assignee_id']}", float(row["n"])


register(Metric(
    "tasks_overdue", "Overdue tasks", "activity", "level", "count",
    "Open tasks past their due time when the snapshot ran, in all and per assignee.",
    _overdue, key_names=user_names, keys_label="assignee",
    drill=lambda key, start, end: Drill(query="tasks(status:overdue)>0") if not key else None,
))  # fmt: skip


def _tasks_done(days: list[dt.date]) -> Iterable[Point]:
    counted = per_day(Task.objects.filter(status=Task.Status.DONE), "completed_at", days)
    for day in days:
        yield day, "", float(counted.get((day, ""), 0))


register(Metric(
    "tasks_completed", "Tasks completed", "activity", "flow", "count",
    "Tasks marked done.", _tasks_done, history=True,
))  # fmt: skip

# relationship health --------------------------------------------------------------


def key_account_tag() -> str:
    return str(getattr(settings, "RAPPORT_KEY_ACCOUNT_TAG", "Key account"))


def key_accounts():  # type: ignore[no-untyped-def]
    from rapport.core.text import fold

    return Organization.objects.filter(tags__name_key=fold(key_account_tag()))


def _quiet_since() -> dt.datetime:
    return timezone.now() - dt.timedelta(days=QUIET_DAYS)


def _contacted_accounts():  # type: ignore[no-untyped-def]
    recent = Affiliation.objects.filter(
        is_current=True, contact__last_contacted_at__gte=_quiet_since()
    ).values("organization_id")
    return key_accounts().filter(pk__in=recent)


def _key_accounts(days: list[dt.date]) -> Iterable[Point]:
    total = key_accounts().count()
    contacted = _contacted_accounts().count()
    yield max(days), "", share(contacted, total)


register(Metric(
    "key_accounts_contacted", "Key accounts contacted in 30 days", "relationships", "level",
    "percent",
    "The share of key accounts (organizations tagged with RAPPORT_KEY_ACCOUNT_TAG) with at least "
    "one current contact reached in the last 30 days.",
    _key_accounts,
    drill=lambda key, start, end: Drill(
        organizations=lambda: key_accounts().exclude(pk__in=_contacted_accounts().values("pk"))
    ),
))  # fmt: skip


def single_contact_accounts():  # type: ignore[no-untyped-def]
    return Organization.objects.annotate(
        people=Count("affiliations", filter=Q(affiliations__is_current=True))
    ).filter(people=1)


register(Metric(
    "single_contact_accounts", "Accounts with a single contact", "relationships", "level", "count",
    "Organizations where exactly one person currently works: one departure away from losing "
    "the relationship.",
    lambda days: [(max(days), "", float(single_contact_accounts().count()))],
    drill=lambda key, start, end: Drill(organizations=single_contact_accounts),
))  # fmt: skip

CHAMPIONS_QUIET = (
    f"buying_role:champion AND (last_contacted:>{QUIET_DAYS}d OR last_contacted:never)"
)


def query_count(text: str) -> int:
    """How many contacts a segment query selects, for the whole workspace."""
    from rapport.segments.query import parse
    from rapport.segments.query.compile import compile_tree
    from rapport.segments.selectors import context_for

    return Contact.objects.filter(compile_tree(parse(text), context_for(None))).count()


register(Metric(
    "champions_not_contacted", "Champions not contacted in 30 days", "relationships", "level",
    "count",
    "Contacts whose buying role at their current organization is champion, last reached more "
    "than 30 days ago or never.",
    lambda days: [(max(days), "", float(query_count(CHAMPIONS_QUIET)))],
    drill=lambda key, start, end: Drill(query=CHAMPIONS_QUIET),
))  # fmt: skip

# reachability and consent ---------------------------------------------------------


def _purposes() -> list[str]:
    from rapport.consent.models import Purpose

    return list(Purpose.objects.filter(archived_at__isnull=True).values_list("key", flat=True))


def purpose_names(keys: list[str]) -> dict[str, str]:
    from rapport.consent.models import Purpose

    found = dict(Purpose.objects.values_list("key", "name"))
    return {k: found.get(k[8:], k[8:]) for k in keys if k.startswith("purpose:")}


def _coverage(field: str, extra: str):  # type: ignore[no-untyped-def]
    def compute(days: list[dt.date]) -> Iterable[Point]:
        total = Contact.objects.count()
        for purpose in _purposes():
            found = query_count(f"{extra}{field}:{purpose}")
            yield max(days), f"purpose:{purpose}", share(found, total)

    return compute


def _coverage_drill(field: str, extra: str):  # type: ignore[no-untyped-def]
    def drill(key: str, start: dt.date, end: dt.date) -> Drill | None:
        if not key.startswith("purpose:"):
            return None
        return Drill(query=f"{extra}{field}:{key[8:]}")

    return drill


register(Metric(
    "reachable", "Reachable by email", "consent", "level", "percent",
    "The share of contacts with an email address whom the contact gate lets a message through "
    "to now, for each purpose (consent, preferences, suppression).",
    _coverage("reachable", "has:email AND "), drill=_coverage_drill("reachable", "has:email AND "),
    key_names=purpose_names, keys_label="purpose",
))  # fmt: skip
register(Metric(
    "consent_coverage", "Consent coverage", "consent", "level", "percent",
    "The share of contacts who may be contacted for each purpose now, as the consent ledger "
    "decides for a bulk send.",
    _coverage("consent", ""), drill=_coverage_drill("consent", ""),
    key_names=purpose_names, keys_label="purpose",
))  # fmt: skip

# segments -------------------------------------------------------------------------


def _segment_sizes(days: list[dt.date]) -> Iterable[Point]:
    first, last = min(days), max(days)
    for segment in Segment.objects.only("pk"):
        stays = SegmentMember.objects.filter(segment=segment)
        before = (
            stays.filter(entered_at__lt=day_start(first))
            .filter(Q(left_at__isnull=True) | Q(left_at__gte=day_start(first)))
            .count()
        )
        entered = _daily(stays, "entered_at", first, last)
        left = _daily(stays.filter(left_at__isnull=False), "left_at", first, last)
        size = before
        for day in sorted(days):
            size += entered.get(day, 0) - left.get(day, 0)
            yield day, f"segment:{segment.pk}", float(size)


def _daily(rows, column: str, first: dt.date, last: dt.date) -> dict[dt.date, int]:  # type: ignore[no-untyped-def]
    rows = rows.filter(**{f"{column}__gte": day_start(first), f"{column}__lt": day_end(last)})
    grouped = rows.annotate(day=TruncDate(column, tzinfo=zone())).values("day")
    return {r["day"]: r["n"] for r in grouped.annotate(n=Count("pk")).order_by()}


def segment_names(keys: list[str]) -> dict[str, str]:
    ids = [int(k[8:]) for k in keys if k.startswith("segment:") and k[8:].isdecimal()]
    return {
        f"segment:{pk}": name
        for pk, name in Segment.objects.filter(pk__in=ids).values_list("pk", "name")
    }


def _segment_drill(key: str, start: dt.date, end: dt.date) -> Drill | None:
    if not key.startswith("segment:") or not key[8:].isdecimal():
        return None
    name = Segment.objects.filter(pk=int(key[8:])).values_list("name", flat=True).first()
    return Drill(query=f"in:{quote_value(name)}") if name else None


register(Metric(
    "segment_size", "Segment sizes", "segments", "level", "count",
    "Members of each segment at the end of the day, from the record of who entered and left.",
    _segment_sizes, history=True, drill=_segment_drill, key_names=segment_names,
    keys_label="segment",
))  # fmt: skip
