"""The list of past bulk sends: the page /outreach/bulk/ (with "Load more" and filters),
GET /api/v1/messages/bulk and `rapport outreach bulk-list`. Each user finds the sends
they started, an admin everyone's, newest first, with each job's recipients by outcome;
paging reaches every send once; bad filters and cursors are refused naming the field."""

from __future__ import annotations

import datetime as dt
import json
import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from rapport.activity.tests.tasks_support import Inbox, smtp_fixture  # noqa: F401
from rapport.conftest import bearer
from rapport.consent.tests.support import make_purpose, record
from rapport.core.cursor import encode_cursor
from rapport.outreach.models import BulkSend, OutboundMessage
from rapport.outreach.services.bulk import bulk_send_start
from rapport.outreach.tests.test_bulk_send import make_user
from rapport.outreach.tests.test_sending import window_later

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
ROW = re.compile(r'<tr id="bulk-send-(\d+)">(.*?)</tr>', re.S)
CELL = re.compile(r'<td data-label="([^"]+)"[^>]*>(.*?)</td>', re.S)
MORE = re.compile(r'hx-get="([^"]+)"')


def _rows(html: str) -> dict[int, dict[str, str]]:
    """Each bulk send row's cells by column, as text."""
    return {
        int(pk): {
            label: " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for label, cell in CELL.findall(body)
        }
        for pk, body in ROW.findall(html)
    }


def _ids(html: str) -> list[int]:
    return [int(pk) for pk, _ in ROW.findall(html)]


def _more(html: str) -> str | None:
    row = html.split('class="load-more-row"', 1)
    found = MORE.search(row[1]) if len(row) == 2 else None
    return found.group(1).replace("&amp;", "&") if found else None


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _cli(user: str, *args: str) -> str:
    out = StringIO()
    call_command("outreach", "bulk-list", *args, "--as", user, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def bulletin(alice):
    return make_purpose(alice, "bulletin", is_marketing=True)


@pytest.fixture
def sent(
    alice, bob, make_contact, bulletin, smtp: Inbox, django_capture_on_commit_callbacks
) -> dict[str, BulkSend]:
    """Two bulk sends run by the worker to a real SMTP server: bob's to four people
    (one sent, one blocked without consent, one queued until their hours, one skipped
    without an address) and alice's to one."""
    hours, _ = window_later()
    ann = make_contact("Ann Lee", email="ann@example.com")
    ben = make_contact("Ben Ode", email="ben@example.com")
    cat = make_contact("Cat Roe", email="cat@example.com", time_zone="UTC", hours=hours)
    dan = make_contact("Dan Poe")
    for person in (ann, cat, dan):
        record(alice, person, "grant", purpose="bulletin", method="checkbox")
    with django_capture_on_commit_callbacks(execute=True):
        bobs = bulk_send_start(
            actor=bob,
            purpose="bulletin",
            ids=[ann.pk, ben.pk, cat.pk, dan.pk],
            subject="Spring bulletin",
            body_text="Hello {{ contact.given_name }}",
            when="next_allowed",
        )
    with django_capture_on_commit_callbacks(execute=True):
        alices = bulk_send_start(
            actor=alice, purpose="news", ids=[ann.pk], subject="Company news", body_text="x"
        )
    return {"bob": BulkSend.objects.get(pk=bobs.pk), "alice": BulkSend.objects.get(pk=alices.pk)}


def _jobs(user: Any, count: int, *, status: str = "done", purpose: str = "news") -> list[int]:
    """``count`` finished sends by ``user``, each with one recipient of every outcome,
    several started in the same instant; their ids newest first."""
    base = timezone.now() - dt.timedelta(days=1)
    ids: list[int] = []
    for n in range(count):
        job = BulkSend.objects.create(
            purpose=purpose,
            subject=f"Letter {n}",
            body_text="x",
            ids=[1, 2, 3, 4, 5, 6],
            total=6,
            done=6,
            status=status,
            started_by=user,
            skipped=[{"id": 6, "name": "Pat", "message": "This contact has no email address."}],
        )
        # three at a time share their moment: the id decides between them
        BulkSend.objects.filter(pk=job.pk).update(created_at=base + dt.timedelta(minutes=n // 3))
        OutboundMessage.objects.bulk_create(
            OutboundMessage(purpose=purpose, kind="bulk", bulk_job_id=job.pk, status=s)
            for s in ("sent", "queued", "sending", "blocked", "failed")
        )
        ids.append(job.pk)
    return _newest_first(ids)


def _newest_first(ids: list[int]) -> list[int]:
    moments = dict(BulkSend.objects.filter(pk__in=ids).values_list("pk", "created_at"))
    return sorted(ids, key=lambda pk: (moments[pk], pk), reverse=True)


# -- the page --------------------------------------------------------------------------


def test_a_member_sees_their_own_sends_with_counts_and_an_admin_sees_everyones(sent, alice, bob):
    bobs, alices = sent["bob"], sent["alice"]
    page = _client(bob).get("/outreach/bulk/")
    assert page.status_code == 200
    html = page.content.decode()
    rows = _rows(html)
    assert list(rows) == [bobs.pk]
    row = rows[bobs.pk]
    assert row["Message"] == f"Spring bulletin #{bobs.pk}"
    assert row["Purpose"] == "Bulletin"
    assert row["Status"] == "Done"
    assert (row["Total"], row["Sent"], row["Queued"], row["Blocked"]) == ("4", "1", "1", "1")
    assert (row["Failed"], row["Skipped"]) == ("0", "1")
    assert "By" not in row  # a member sees only their own: no need to say whose
    assert f'href="/outreach/bulk/{bobs.pk}/"' in html

    admin = _rows(_client(alice).get("/outreach/bulk/").content.decode())
    assert list(admin) == [alices.pk, bobs.pk]  # newest first
    assert admin[bobs.pk]["By"] == "bob" and admin[alices.pk]["By"] == "alice"
    assert admin[alices.pk]["Message"] == f"Company news #{alices.pk}"
    assert (admin[alices.pk]["Total"], admin[alices.pk]["Sent"]) == ("1", "1")
    assert admin[bobs.pk]["Sent"] == "1" and admin[bobs.pk]["Blocked"] == "1"

    # the job's page leads back to the list; someone else's job is not theirs to see
    detail = _client(bob).get(f"/outreach/bulk/{bobs.pk}/").content.decode()
    assert '<a href="/outreach/bulk/">All bulk sends</a>' in detail
    assert "<h1>Spring bulletin</h1>" in detail
    assert _client(bob).get(f"/outreach/bulk/{alices.pk}/").status_code == 404


def test_someone_who_sent_nothing_is_told_how_to_start_a_bulk_send(sent):
    html = _client(make_user("dora")).get("/outreach/bulk/").content.decode()
    assert _rows(html) == {}
    assert "No bulk sends yet." in html
    assert "Send email…" in html and 'href="/contacts/"' in html


def test_load_more_walks_every_send_once_newest_first_in_a_fixed_number_of_queries(
    bob, alice, django_assert_num_queries
):
    expected = _jobs(bob, 120)
    _jobs(alice, 5)  # not bob's
    client = _client(bob)
    # the session and its user, the page of sends, their counts, the purposes, the
    # unread notifications badge
    with django_assert_num_queries(6):
        page = client.get("/outreach/bulk/")
    html = page.content.decode()
    seen = _ids(html)
    assert len(seen) == 50
    first = _rows(html)[expected[0]]
    assert (first["Sent"], first["Queued"], first["Blocked"]) == ("1", "2", "1")
    assert (first["Failed"], first["Skipped"], first["Total"]) == ("1", "1", "6")
    more = _more(html)
    loads = 0
    while more:
        with django_assert_num_queries(5):  # the rows alone: no badge
            rows = client.get(more, **HTMX)
        assert rows.status_code == 200
        fragment = rows.content.decode()
        assert fragment.lstrip().startswith("<tr")
        assert "<html" not in fragment
        seen += _ids(fragment)
        more = _more(fragment)
        loads += 1
    assert loads == 2
    assert seen == expected


def test_the_page_reads_as_many_queries_for_one_send_as_for_fifty(bob, django_assert_num_queries):
    _jobs(bob, 1)
    client = _client(bob)
    with django_assert_num_queries(6):
        assert len(_ids(client.get("/outreach/bulk/").content.decode())) == 1
    _jobs(bob, 60)
    with django_assert_num_queries(6):
        assert len(_ids(client.get("/outreach/bulk/").content.decode())) == 50


def test_the_page_filters_by_status_and_purpose_and_load_more_keeps_them(bob, bulletin):
    news = _jobs(bob, 3, purpose="news")
    letters = _jobs(bob, 55, purpose="bulletin")
    running = _jobs(bob, 2, status="running", purpose="bulletin")
    client = _client(bob)
    html = client.get("/outreach/bulk/?status=running").content.decode()
    assert _ids(html) == running
    assert '<option value="running" selected>' in html
    html = client.get("/outreach/bulk/?purpose=news").content.decode()
    assert _ids(html) == news
    html = client.get("/outreach/bulk/?purpose=bulletin&status=done").content.decode()
    more = _more(html)
    assert more is not None and "purpose=bulletin" in more and "status=done" in more
    rest = client.get(more, **HTMX).content.decode()
    assert _ids(html) + _ids(rest) == letters
    html = client.get("/outreach/bulk/?status=failed").content.decode()
    assert _ids(html) == [] and "No bulk sends match these filters." in html


def test_a_bad_filter_or_cursor_on_the_page_is_named_not_a_crash(bob):
    _jobs(bob, 2)
    client = _client(bob)
    page = client.get("/outreach/bulk/?status=lost")
    assert page.status_code == 422
    assert "Status: Must be one of queued, running, done, failed." in page.content.decode()
    page = client.get("/outreach/bulk/?purpose=nothing-like-it")
    assert page.status_code == 422
    assert "Purpose: There is no purpose" in page.content.decode()
    page = client.get("/outreach/bulk/?cursor=not-ours")
    assert page.status_code == 422
    assert "Cursor: This cursor is not valid." in page.content.decode()
    assert client.get("/outreach/bulk/?cursor=not-ours", **HTMX).status_code == 422


def test_the_navigation_offers_bulk_sends_to_those_who_may_send(bob, charlie):
    html = _client(bob).get("/outreach/bulk/").content.decode()
    nav = html.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    assert re.search(r'<a [^>]*href="/outreach/bulk/"[^>]*aria-current="page"', nav)
    activity = nav.split(">Activity", 1)[1].split("</details>", 1)[0]
    assert ">Bulk sends</a>" in activity
    viewer = _client(charlie).get("/contacts/").content.decode()
    assert ">Bulk sends</a>" not in viewer.split('aria-label="Main"', 1)[1].split("</nav>")[0]


# -- the API ---------------------------------------------------------------------------


def _api(user: Any, query: str = "") -> Any:
    return Client().get(f"/api/v1/messages/bulk{query}", **bearer(user))


def test_the_api_lists_ones_own_sends_with_counts_and_an_admin_everyones(sent, alice, bob):
    bobs, alices = sent["bob"], sent["alice"]
    response = _api(bob)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next_cursor"] is None
    [item] = body["items"]
    assert item["id"] == bobs.pk and item["started_by"] == "bob"
    assert item["subject"] == "Spring bulletin" and item["purpose"] == "bulletin"
    assert item["counts"] == {
        "sent": 1,
        "queued": 1,
        "blocked": 1,
        "failed": 0,
        "skipped": 1,
        "pending": 0,
    }
    # the same as the job's own endpoint says
    assert item == Client().get(f"/api/v1/messages/bulk/{bobs.pk}", **bearer(bob)).json()
    everyone = _api(alice).json()["items"]
    assert [i["id"] for i in everyone] == [alices.pk, bobs.pk]
    assert everyone[0]["counts"]["sent"] == 1 and everyone[0]["total"] == 1


def test_the_api_pages_through_every_send_once_and_filters(bob, alice, bulletin):
    expected = _jobs(bob, 23)
    letters = _jobs(bob, 4, purpose="bulletin", status="failed")
    _jobs(alice, 3)
    everything = _newest_first(expected + letters)
    seen: list[int] = []
    cursor = ""
    pages = 0
    while True:
        body = _api(bob, f"?limit=7{'&cursor=' + cursor if cursor else ''}").json()
        seen += [item["id"] for item in body["items"]]
        assert all(item["counts"]["failed"] == 1 for item in body["items"])
        pages += 1
        if not body["next_cursor"]:
            break
        cursor = body["next_cursor"]
    assert pages == 4
    assert seen == everything
    assert [i["id"] for i in _api(bob, "?status=failed").json()["items"]] == letters
    assert [i["id"] for i in _api(bob, "?purpose=bulletin").json()["items"]] == letters
    assert _api(bob, "?purpose=bulletin&status=done").json()["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?status=lost", "status"),
        ("?purpose=nothing-like-it", "purpose"),
        ("?purpose=not%20a%20key", "purpose"),
        ("?cursor=not-ours", "cursor"),
        ("?cursor=" + encode_cursor(["yesterday", 5]), "cursor"),
        ("?cursor=" + encode_cursor(["2026-03-01T10:00:00", 5]), "cursor"),
        ("?cursor=" + encode_cursor(["0001-01-01T00:00:00+05:00", 5]), "cursor"),
        ("?cursor=" + encode_cursor(["2026-03-01T10:00:00+00:00", "5"]), "cursor"),
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?limit=many", "limit"),
    ],
)
def test_the_api_refuses_bad_parameters_naming_them(bob, query, field):
    _jobs(bob, 2)
    response = _api(bob, query)
    assert response.status_code == 422, response.content
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_the_api_list_needs_a_token(db):
    assert Client().get("/api/v1/messages/bulk").status_code == 401


# -- the command line ------------------------------------------------------------------


def test_the_command_line_lists_the_actors_sends_one_line_each(sent, alice, bob):
    bobs, alices = sent["bob"], sent["alice"]
    [line] = _cli("bob").splitlines()
    assert line.startswith(f"#{bobs.pk} ")
    assert "done" in line and "bulletin" in line
    assert "total 4" in line and "sent 1" in line and "blocked 1" in line and "failed 0" in line
    lines = _cli("alice").splitlines()
    assert [int(line.split()[0].lstrip("#")) for line in lines] == [alices.pk, bobs.pk]
    assert _cli("alice", "--purpose", "news").splitlines() == lines[:1]
    assert _cli("alice", "--status", "running").strip() == "No bulk sends."
    body = json.loads(_cli("bob", "--json"))
    assert [i["id"] for i in body["items"]] == [bobs.pk]
    assert body["items"][0]["counts"]["skipped"] == 1 and body["next_cursor"] is None


def test_the_command_line_pages_with_limit_and_refuses_a_bad_status(bob):
    expected = _jobs(bob, 5)
    out, err = StringIO(), StringIO()
    call_command("outreach", "bulk-list", "--limit", "3", "--as", "bob", stdout=out, stderr=err)
    assert [int(line.split()[0].lstrip("#")) for line in out.getvalue().splitlines()] == (
        expected[:3]
    )
    cursor = err.getvalue().split("--cursor ", 1)[1].strip()
    rest = _cli("bob", "--limit", "3", "--cursor", cursor)
    assert [int(line.split()[0].lstrip("#")) for line in rest.splitlines()] == expected[3:]
    with pytest.raises(CommandError, match="Status: Must be one of"):
        _cli("bob", "--status", "lost")
    with pytest.raises(CommandError, match="Limit: Must be between 1 and 200"):
        _cli("bob", "--limit", "0")
