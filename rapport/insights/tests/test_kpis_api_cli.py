"""KPI goals through the API, the page and the command line; the metrics API; the
snapshot command; the monthly summary sent through a real SMTP server."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from rapport.activity.tests.tasks_support import Inbox, smtp_server
from rapport.conftest import bearer
from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact
from rapport.insights import services
from rapport.insights.metrics import today
from rapport.insights.models import Kpi, MetricPoint, SummarySent, SummarySubscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(alice):
    """Five contacts: two added 40 days ago, three today; the snapshot's history."""
    people = [make_contact(source="Referral") for _ in range(5)]
    old = timezone.now() - dt.timedelta(days=40)
    Contact.objects.filter(pk__in=[p.pk for p in people[:2]]).update(created_at=old)
    services.snapshot()
    return people


def test_a_kpi_reads_its_baseline_from_the_snapshot_and_shows_progress(client, alice, history):
    auth = bearer(alice)
    baseline_day = (today() - dt.timedelta(days=20)).isoformat()
    made = client.post(
        "/api/v1/metrics/kpis",
        {"name": "Contacts", "metric": "contacts", "baseline_date": baseline_day, "target_value": 8},
        content_type="application/json", **auth,
    )  # fmt: skip
    assert made.status_code == 201, made.content
    body = made.json()
    # two contacts existed on the baseline day; five now; the target is eight
    assert body["baseline_value"] == 2 and body["actual"] == 5 and body["progress"] == 50.0
    assert body["state"] == "improving" and len(body["trend"]) == 12
    etag = made["ETag"]
    stale = client.patch(
        f"/api/v1/metrics/kpis/{body['id']}", {"target_value": 6}, content_type="application/json",
        HTTP_IF_MATCH=f'"{body["id"]}-999"', **auth,
    )  # fmt: skip
    assert stale.status_code == 412 and Kpi.objects.get().target_value == 8
    changed = client.patch(
        f"/api/v1/metrics/kpis/{body['id']}", {"target_value": 5}, content_type="application/json",
        HTTP_IF_MATCH=etag, **auth,
    )  # fmt: skip
    assert changed.status_code == 200 and changed.json()["state"] == "met"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"metric": "nothing", "baseline_value": 1, "target_value": 2}, "metric"),
        ({"metric": "contacts", "target_value": 2}, "baseline_date"),
        ({"metric": "contacts", "baseline_value": "banana", "target_value": 2}, "baseline_value"),
        ({"metric": "contacts", "baseline_value": 1, "target_value": "1e999"}, "target_value"),
        ({"metric": "contacts", "baseline_date": "2001-01-01", "target_value": 2}, "baseline_date"),
        ({"metric": "contacts", "baseline_date": "2999-01-01", "target_value": 2}, "baseline_date"),
        ({"metric": "contacts", "baseline_value": 2, "target_value": 2}, "target_value"),
        (
            {"metric": "contacts", "baseline_value": 1, "target_value": 2, "cadence": "hourly"},
            "cadence",
        ),
    ],
)
def test_a_bad_kpi_is_refused_naming_the_field_and_nothing_is_saved(
    client, alice, history, data, field
):
    response = client.post(
        "/api/v1/metrics/kpis",
        {"name": "K", **data},
        content_type="application/json",
        **bearer(alice),
    )
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not Kpi.objects.exists()


def test_only_admins_set_kpis_and_everyone_signed_in_reads_them(client, alice, bob, history):
    data = {"name": "Contacts", "metric": "contacts", "baseline_value": 1, "target_value": 10}
    refused = client.post(
        "/api/v1/metrics/kpis", data, content_type="application/json", **bearer(bob)
    )
    assert refused.status_code == 403 and not Kpi.objects.exists()
    services.kpi_create(actor=alice, data=data)
    listed = client.get("/api/v1/metrics/kpis", **bearer(bob))
    assert listed.status_code == 200 and listed.json()[0]["actual"] == 5
    assert client.get("/api/v1/metrics/kpis").status_code == 401


def test_the_metrics_api_lists_metrics_and_serves_a_series_by_week(client, alice, history):
    auth = bearer(alice)
    listed = {m["name"]: m for m in client.get("/api/v1/metrics", **auth).json()}
    assert listed["contacts"]["latest"] == 5 and listed["new_contacts"]["kind"] == "flow"
    since = (today() - dt.timedelta(days=59)).isoformat()
    series = client.get(f"/api/v1/metrics/new_contacts?since={since}&grain=week", **auth).json()
    total = next(line for line in series["lines"] if line["key"] == "")
    assert series["grain"] == "week" and sum(p["value"] or 0 for p in total["points"]) == 5
    by_source = next(line for line in series["lines"] if line["key"] == "source:Referral")
    assert by_source["label"] == "Referral"
    assert client.get("/api/v1/metrics/nothing", **auth).status_code == 422
    bad = client.get("/api/v1/metrics/contacts?since=2001-01-01", **auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "since"
    assert client.get("/api/v1/metrics/contacts?grain=hour", **auth).status_code == 422
    assert client.get("/api/v1/metrics/reports/cohorts", **auth).json()["data"]["months"] == 12


def test_the_snapshot_command_recomputes_past_days_and_refuses_bad_days(alice, history):
    MetricPoint.objects.all().delete()
    out = StringIO()
    since = (today() - dt.timedelta(days=45)).isoformat()
    call_command("metrics", "snapshot", "--since", since, "--as", "alice", stdout=out)
    assert "Snapshot of" in out.getvalue()
    assert (
        MetricPoint.objects.get(
            metric="contacts", key="", date=today() - dt.timedelta(days=41)
        ).value
        == 0
    )
    assert (
        MetricPoint.objects.get(
            metric="contacts", key="", date=today() - dt.timedelta(days=40)
        ).value
        == 2
    )
    with pytest.raises(CommandError, match="not a day"):
        call_command("metrics", "snapshot", "--date", "someday", "--as", "alice")
    with pytest.raises(CommandError, match="day to come"):
        call_command(
            "metrics",
            "snapshot",
            "--date",
            (today() + dt.timedelta(days=1)).isoformat(),
            "--as",
            "alice",
        )
    shown = StringIO()
    call_command(
        "metrics",
        "show",
        "contacts",
        "--days",
        "60",
        "--grain",
        "month",
        "--json",
        "--as",
        "alice",
        stdout=shown,
    )
    values = [p["value"] for p in json.loads(shown.getvalue())[""]]
    assert values[-1] == 5


def test_the_kpis_command_and_a_read_only_user_cannot_take_a_snapshot(alice, charlie, history):
    services.kpi_create(
        actor=alice,
        data={"name": "Growth", "metric": "contacts", "baseline_value": 1, "target_value": 9},
    )
    out = StringIO()
    call_command("metrics", "kpis", "--as", "alice", stdout=out)
    assert "Growth: 5 (baseline 1, target 9) — Improving, 50.0 % of the way" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("metrics", "snapshot", "--as", "charlie")


def test_the_monthly_summary_goes_out_once_to_subscribers_through_smtp(
    settings, alice, bob, history
):
    alice.email, bob.email = "alice@example.com", "bob@example.com"
    alice.save()
    bob.save()
    services.kpi_create(
        actor=alice,
        data={"name": "Growth", "metric": "contacts", "baseline_value": 1, "target_value": 9},
    )
    services.summary_subscribe(actor=alice, on=True)
    assert SummarySubscription.objects.count() == 1
    with smtp_server(settings, Inbox()) as inbox:
        assert services.send_monthly_summary() == 1
        assert services.send_monthly_summary() == 0  # once a month
        [message] = inbox.to("alice@example.com")
        text = Inbox.text(message)
    assert "Growth:" in text and "baseline 1, target 9" in text and "New contacts" in text
    assert not inbox.to("bob@example.com")
    assert SummarySent.objects.get().recipients == 1


def test_kpis_are_set_on_the_page_and_errors_keep_what_was_typed(alice_client, history):
    page = alice_client.post("/insights/kpis/new/", {
        "name": "Growth", "metric": "contacts", "baseline_value": "x", "target_value": "9",
        "direction": "up", "cadence": "monthly",
    })  # fmt: skip
    assert page.status_code == 422 and "is not a number" in page.content.decode()
    assert 'value="Growth"' in page.content.decode() and not Kpi.objects.exists()
    page = alice_client.post("/insights/kpis/new/", {
        "name": "Growth", "metric": "contacts", "baseline_value": "1", "target_value": "9",
        "direction": "up", "cadence": "monthly",
    })  # fmt: skip
    assert page.status_code == 302
    dashboard = alice_client.get("/insights/").content.decode()
    assert "Growth" in dashboard and "Improving" in dashboard and "50.0 %" in dashboard
    kpi = Kpi.objects.get()
    assert alice_client.post(f"/insights/kpis/{kpi.pk}/delete/").status_code == 302
    assert not Kpi.objects.exists()


def test_members_cannot_open_the_kpi_form(bob_client):
    assert bob_client.get("/insights/kpis/new/").status_code == 403
