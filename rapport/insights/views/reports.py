"""The dashboard and the report pages: charts from the daily snapshots, each with its
table and CSV; the drill-down to the records behind a figure."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.insights import metrics as registry
from rapport.insights import services
from rapport.insights.models import SummarySubscription
from rapport.insights.views.charts import PERIODS, Chart, as_csv, build, period, visible_segments

REPORTS: dict[str, tuple[str, str, tuple[Chart, ...]]] = {
    "growth": ("Growth and data", "Contacts and organizations over time, where new contacts come "
               "from, the data audit's trend, duplicates found and merged.", (
        Chart("contacts"), Chart("new_contacts", "source:", "New contacts by source", total=True),
        Chart("organizations"), Chart("quality_score"), Chart("duplicates_found"),
        Chart("duplicates_merged"),
    )),
    "activity": ("Activity", "Interactions by kind and by user, tasks done and overdue.", (
        Chart("interactions", "kind:", "Interactions by kind", total=True),
        Chart("interactions", "user:", "Interactions by user"),
        Chart("tasks_overdue"), Chart("tasks_completed"),
    )),
    "relationships": ("Relationship health", "Key accounts reached lately, accounts that hang on "
                      "one person, champions gone quiet.", (
        Chart("key_accounts_contacted"), Chart("single_contact_accounts"),
        Chart("champions_not_contacted"),
    )),
    "consent": ("Reachability and consent", "Who may be contacted, for each purpose, over time.", (
        Chart("reachable", "purpose:", "Reachable by email, by purpose"),
        Chart("consent_coverage", "purpose:", "Consent coverage, by purpose"),
    )),
    "segments": ("Segments", "The size of each segment over time, from who entered and left.", (
        Chart("segment_size", "segment:", "Segment sizes"),
    )),
    "customers": ("Customers", "Orders, revenue and average order value; repeat purchases; RFM "
                  "groups; retention by cohort; the spread of customer value.", (
        Chart("customers"), Chart("orders"), Chart("revenue"), Chart("average_order_value"),
        Chart("repeat_purchase_rate"), Chart("rfm_groups", "group:", "Customers by RFM group"),
    )),
}  # fmt: skip

# the dashboard's figures: metric, key, window in days for flows, and what it says
HEADLINES = (
    ("contacts", "", 1, "Contacts"),
    ("new_contacts", "", 30, "New contacts, last 30 days"),
    ("interactions", "", 7, "Interactions, last 7 days"),
    ("tasks_overdue", "", 1, "Overdue tasks"),
    ("key_accounts_contacted", "", 1, "Key accounts contacted in 30 days"),
    ("champions_not_contacted", "", 1, "Champions not contacted in 30 days"),
    ("customers", "", 1, "Customers"),
    ("revenue", "", 30, "Revenue, last 30 days"),
)
DASHBOARD_CHARTS = (
    Chart("new_contacts", "source:", "New contacts by source", total=True),
    Chart("interactions", "kind:", "Interactions by kind", total=True),
)


def _csv_or_page(
    request: HttpRequest, charts: list[dict[str, Any]], template: str, context: dict[str, Any]
) -> HttpResponse:
    wanted = request.GET.get("csv")
    if wanted:
        for chart in charts:
            if chart["id"] == wanted:
                response = HttpResponse(as_csv(chart), content_type="text/csv; charset=utf-8")
                name = f"{wanted}-{registry.today().isoformat()}.csv"
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                return response
        raise Http404("There is no such chart on this page.")
    return render(request, template, {**context, "charts": charts})


def headline(metric: str, key: str, days: int, label: str) -> dict[str, Any]:
    found = registry.get(metric)
    assert found is not None
    day = registry.today()
    value = services.value_over(metric, key, day, days)
    start = day - dt.timedelta(days=days - 1)
    from rapport.insights.views.charts import drill_url

    return {
        "label": label, "value": value, "unit": found.unit, "metric": metric,
        "url": drill_url(metric, key, start, day) if found.drill and value else "",
    }  # fmt: skip


def home(request: HttpRequest) -> HttpResponse:
    """The home page: the dashboard for those who may see it, else the contacts."""
    return redirect(
        "insights:dashboard" if policy.can(request.user, "insights.view") else "contacts:list"
    )


@page
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    policy.require(request.user, "insights.view")
    days = period(request)
    charts = [build(c, days=days, actor=request.user) for c in DASHBOARD_CHARTS]
    context = {
        "days": days, "periods": PERIODS, "reports": REPORTS,
        "headlines": [headline(*h) for h in HEADLINES],
        "kpis": services.kpi_statuses(),
        "can_manage": policy.can(request.user, "kpis.manage"),
        "subscribed": SummarySubscription.objects.filter(user=request.user).exists(),
        "last_snapshot": _last_snapshot(),
    }  # fmt: skip
    return _csv_or_page(request, charts, "insights/dashboard.html", context)


def _last_snapshot() -> Any:
    from rapport.insights.models import MetricPoint

    return (
        MetricPoint.objects.order_by("-computed_at").values_list("computed_at", flat=True).first()
    )


@page
@require_GET
def report(request: HttpRequest, name: str) -> HttpResponse:
    policy.require(request.user, "insights.view")
    if name not in REPORTS:
        raise Http404("There is no such report.")
    title, intro, specs = REPORTS[name]
    days = period(request)
    charts = [build(c, days=days, actor=request.user) for c in specs]
    context: dict[str, Any] = {
        "name": name, "title": title, "intro": intro, "days": days, "periods": PERIODS,
        "reports": REPORTS, "last_snapshot": _last_snapshot(),
    }  # fmt: skip
    if name == "customers":
        context["cohorts"] = services.latest_report("cohorts")
        context["values"] = _values(services.latest_report("value_distribution"))
    return _csv_or_page(request, charts, "insights/report.html", context)


def _values(snapshot: Any) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    data = snapshot.data
    rows = []
    for i, band in enumerate(data.get("bands", [])):
        low, high = band["low"], band["high"]
        label = f"{low:,}–{high:,}" if high is not None else f"{low:,} and more"
        query = f"customer_value:>={low}" + (
            f" AND customer_value:<{high}" if high is not None else ""
        )
        rows.append({
            "label": label, "query": query,
            "revenue": (data.get("revenue") or [None] * 99)[i],
            "predicted": (data.get("predicted_value") or [None] * 99)[i] if "predicted_value" in data else None,
        })  # fmt: skip
    return {"date": snapshot.date, "rows": rows, "predicted": "predicted_value" in data}


DRILL_PAGE = 50


def _day(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput.single(name, "Give a day as YYYY-MM-DD.") from None


@page
@require_GET
def drill(request: HttpRequest, metric: str) -> HttpResponse:
    """The records behind one figure: contacts (by a segment query, as the viewer may see
    them), organizations, or the page that holds them."""
    policy.require(request.user, "insights.view")
    found = registry.get(metric)
    if found is None or found.drill is None:
        raise Http404("This figure has no records to show.")
    key = request.GET.get("key", "")[:120]
    if key.startswith("segment:") and key not in visible_segments(request.user):
        raise Http404("This figure has no records to show.")  # another user's private segment
    try:
        end = _day(request.GET.get("end", "") or registry.today().isoformat(), "end")
        start = _day(request.GET.get("start", "") or end.isoformat(), "start")
    except InvalidInput as exc:
        return render(
            request,
            "insights/drill.html",
            {"metric": found, "error": exc.errors[0].message},
            status=400,
        )
    target = found.drill(key, start, end)
    if target is None:
        raise Http404("This figure has no records to show.")
    if target.url:
        return redirect(target.url)
    context: dict[str, Any] = {"metric": found, "key": key, "start": start, "end": end}
    if target.organizations is not None:
        policy.require(request.user, "organizations.view")
        rows = target.organizations().order_by("sort_name", "pk")
        context["organizations"] = list(rows[:DRILL_PAGE])
        context["count"] = rows.count()
    else:
        from rapport.segments import selectors

        cursor = request.GET.get("cursor") or None
        try:
            members = selectors.query_members(
                request.user, target.query, cursor=cursor, limit=DRILL_PAGE
            )
            context["count"] = selectors.query_count(request.user, target.query)
        except InvalidInput as exc:
            context["error"] = exc.errors[0].message
            members = None
        context["query"] = target.query
        context["members"] = selectors.members_out(members.items) if members else []
        context["next_cursor"] = members.next_cursor if members else None
    return render(request, "insights/drill.html", context)
