"""The dashboard and report pages: figures from the snapshot, each chart with its table
and CSV, each number linked to the records behind it; the drill-down itself."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from rapport.activity.models import Interaction
from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact, make_organization
from rapport.insights import services
from rapport.insights.metrics import today

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(alice):
    people = [
        make_contact(given_name=f"P{n}", source="Referral" if n < 2 else "") for n in range(3)
    ]
    # one contact added ten days ago
    Contact.objects.filter(pk=people[2].pk).update(
        created_at=timezone.now() - dt.timedelta(days=10)
    )
    services.snapshot()
    return people


def test_the_dashboard_shows_the_snapshot_figures_with_tables_and_drill_links(alice_client, world):
    page = alice_client.get("/insights/")
    assert page.status_code == 200
    html = page.content.decode()
    # the headline figure: three contacts, linked to the contacts behind it
    assert "Contacts</span>" in html and "/insights/drill/contacts/?key=" in html
    # the chart's data as a table, with a drill-down link per number, and its CSV
    assert "Data table" in html and '<canvas data-chart="new_contacts-source"' in html
    assert "?days=90&amp;csv=new_contacts-source" in html
    assert "vendor/chartjs/chart.umd.min.js" in html  # drawn by the vendored library


def test_a_chart_downloads_as_csv_with_the_same_figures(alice_client, world):
    response = alice_client.get("/insights/growth/?days=30&csv=new_contacts-source")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header = rows[0]
    assert header[:3] == ["from", "to", "New contacts"] and "Referral" in header
    by_day = {r[0]: r for r in rows[1:]}
    assert by_day[today().isoformat()][2] == "2.0"
    assert by_day[(today() - dt.timedelta(days=10)).isoformat()][2] == "1.0"
    assert sum(float(r[2] or 0) for r in rows[1:]) == 3
    assert alice_client.get("/insights/growth/?csv=nothing").status_code == 404


def test_drilling_into_a_figure_lists_exactly_the_contacts_behind_it(alice_client, world):
    day = today().isoformat()
    page = alice_client.get(
        f"/insights/drill/new_contacts/?key=source:Referral&start={day}&end={day}"
    )
    html = page.content.decode()
    assert page.status_code == 200 and "2 contacts" in html
    assert "P0 Example" in html and "P1 Example" in html and "P2 Example" not in html
    assert "Open as a segment" in html
    # a bad day is refused by name, never a 500
    assert alice_client.get("/insights/drill/new_contacts/?start=banana").status_code == 400
    assert alice_client.get("/insights/drill/nothing/").status_code == 404


def test_interactions_by_kind_drill_into_the_contacts_who_took_part(alice_client, alice, world):
    from rapport.activity.services.interactions import interaction_create

    interaction_create(actor=alice, data={
        "kind": "call", "outcome": "connected", "participants": [{"contact_id": world[0].pk}],
    })  # fmt: skip
    services.snapshot()
    html = alice_client.get("/insights/activity/?days=30").content.decode()
    assert "Interactions by kind" in html and "key=kind%3Acall" in html
    day = today().isoformat()
    drill = alice_client.get(f"/insights/drill/interactions/?key=kind:call&start={day}&end={day}")
    text = drill.content.decode()
    assert "1 contact" in text and "P0 Example" in text and "P1 Example" not in text
    assert Interaction.objects.count() == 1


def test_organizations_with_a_single_contact_are_listed_when_drilled(alice_client, alice):
    from rapport.contacts.services import affiliation_create

    lone, busy = make_organization(name="Lone Ltd"), make_organization(name="Busy GmbH")
    for org, n in ((lone, 1), (busy, 2)):
        for _ in range(n):
            affiliation_create(
                actor=alice, data={"contact": make_contact().pk, "organization": org.pk}
            )
    services.snapshot()
    html = alice_client.get("/insights/relationships/").content.decode()
    assert "Accounts with a single contact" in html
    drill = alice_client.get("/insights/drill/single_contact_accounts/").content.decode()
    assert "Lone Ltd" in drill and "Busy GmbH" not in drill


def test_every_report_page_opens_and_needs_a_login(alice_client, charlie_client, client, world):
    for name in ("growth", "activity", "relationships", "consent", "segments", "customers"):
        assert alice_client.get(f"/insights/{name}/?days=365").status_code == 200
        assert charlie_client.get(f"/insights/{name}/").status_code == 200  # read-only may look
    assert alice_client.get("/insights/nothing/").status_code == 404
    assert client.get("/insights/").status_code == 302  # to the login page


def test_the_home_page_is_the_dashboard(alice_client, client):
    assert alice_client.get("/").url == "/insights/"
    assert client.get("/").url.startswith("/login/")


def test_a_figure_recorded_on_one_day_so_far_is_shown_as_a_number_with_its_link(
    alice_client, world
):
    html = alice_client.get("/insights/relationships/?days=90").content.decode()
    assert "Accounts with a single contact" in html
    assert "its trend is drawn as the days add up" in html


def test_another_users_private_segment_is_neither_charted_nor_drilled(alice_client, bob, world):
    from rapport.segments.services import segment_create, segment_refresh

    secret = segment_create(
        actor=bob, data={"name": "Bob secret", "query": "source:Referral", "shared": False}
    )
    segment_refresh(segment_id=secret.pk)
    services.snapshot()
    assert "Bob secret" not in alice_client.get("/insights/segments/").content.decode()
    drill = alice_client.get(f"/insights/drill/segment_size/?key=segment:{secret.pk}")
    assert drill.status_code == 404 and "Bob secret" not in drill.content.decode()


def test_a_snapshot_of_a_past_day_leaves_out_what_cannot_be_known_for_it(world):
    from rapport.insights.models import MetricPoint

    past = today() - dt.timedelta(days=3)
    services.snapshot(day=past)
    assert MetricPoint.objects.filter(metric="contacts", date=past).exists()
    assert not MetricPoint.objects.filter(metric="tasks_overdue", date=past).exists()
