"""My tasks pages each section by its own keyset ("Load more"), so a long list is read
to its end with nothing left out, in a fixed number of queries per page; the CLI and
the API reach every task too."""

from __future__ import annotations

import datetime as dt
import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from rapport.activity.models import Task
from rapport.activity.services import tasks as services
from rapport.activity.tests.tasks_support import contact
from rapport.conftest import bearer
from rapport.contacts.models import Organization

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
ROW = re.compile(r'id="task-(\d+)"')
MORE = re.compile(r'hx-get="([^"]+)"')


def _overdue(user, count: int) -> list[int]:
    """``count`` overdue tasks of ``user`` in runs that share a due time and a priority
    (ties the cursor must get past), in the order My tasks lists them."""
    base = timezone.now() - dt.timedelta(days=30)
    tasks = []
    for i in range(count):
        due = base + dt.timedelta(hours=i // 10)
        tasks.append(
            Task(
                title=f"Late {i:03d}",
                due_at=due,
                due_key=due,
                priority=1 + (i // 3) % 4,
                assignee=user,
                created_by=user,
            )
        )
    Task.objects.bulk_create(tasks)
    rows = Task.objects.filter(assignee=user, title__startswith="Late ")
    return list(rows.order_by("due_key", "-priority", "id").values_list("id", flat=True))


def _section(html: str, key: str) -> str:
    start = html.index(f'aria-labelledby="h-{key}"')
    return html[start : html.index("</section>", start)]


def _ids(html: str) -> list[int]:
    return [int(pk) for pk in ROW.findall(html)]


def _more(html: str) -> str | None:
    found = MORE.search(html.split("data-task-more", 1)[1]) if "data-task-more" in html else None
    return found.group(1).replace("&amp;", "&") if found else None


def test_250_overdue_tasks_are_all_reached_through_load_more_with_fixed_queries(
    bob_client, bob, django_assert_num_queries
):
    expected = _overdue(bob, 250)
    services.task_create(actor=bob, data={"title": "Someday"})
    ann, acme = contact(bob), Organization.objects.create(name="Acme")
    for task in Task.objects.filter(pk__in=expected[::20]):  # on every page
        task.contacts.add(ann)
        task.organizations.add(acme)
    # the session and its user, the section totals, one query per section, the related
    # contacts and organizations of the tasks shown and their names, the unread badge,
    # the users to choose from
    with django_assert_num_queries(13):
        page = bob_client.get("/activity/tasks/").content.decode()
    overdue = _section(page, "overdue")
    assert '<span class="count-badge" title="250 in all">250</span>' in overdue
    seen = _ids(overdue)
    assert len(seen) == 50
    assert "Someday" in _section(page, "undated")
    more = _more(overdue)
    loads = 0
    while more:
        assert "section=overdue" in more
        # the session and its user, the page, its related records and their names
        with django_assert_num_queries(7):
            rows = bob_client.get(more, **HTMX)
        assert rows.status_code == 200
        html = rows.content.decode()
        assert html.lstrip().startswith("<li")
        seen += _ids(html)
        more = _more(html)
        loads += 1
    assert loads == 4
    assert seen == expected  # all 250, once each, the most pressing first


def test_load_more_keeps_related_names_and_the_assignee_chosen(bob_client, bob, alice):
    ann = contact(bob)
    _overdue(alice, 60)
    late = Task.objects.filter(assignee=alice).order_by("due_key", "-priority", "id").last()
    assert late is not None
    late.contacts.add(ann)
    page = bob_client.get("/activity/tasks/?assignee=alice").content.decode()
    more = _more(_section(page, "overdue"))
    assert more is not None and "assignee=alice" in more
    html = bob_client.get(more, **HTMX).content.decode()
    assert len(_ids(html)) == 10 and _more(html) is None
    assert f'href="/contacts/{ann.pk}/">Ann Lee</a>' in html


def test_without_javascript_load_more_is_a_page_of_its_own(bob_client, bob):
    expected = _overdue(bob, 70)
    first = bob_client.get("/activity/tasks/").content.decode()
    more = _more(_section(first, "overdue"))
    assert more is not None
    page = bob_client.get(more)
    html = page.content.decode()
    assert page.status_code == 200 and "<html" in html
    assert "Overdue <span" in html and "(continued)" in html
    assert _ids(_section(html, "overdue")) == expected[50:]
    assert "Back to every section" in html


def test_undated_tasks_page_past_ties_of_priority_and_creation_time(bob_client, bob):
    Task.objects.bulk_create(
        [Task(title=f"Open {i:02d}", priority=2 + i % 2, assignee=bob) for i in range(75)]
    )
    # half of them created in the same instant: the id decides
    same = timezone.now() - dt.timedelta(days=1)
    Task.objects.filter(title__lt="Open 40").update(created_at=same)
    expected = list(
        Task.objects.order_by("-priority", "created_at", "id").values_list("id", flat=True)
    )
    page = bob_client.get("/activity/tasks/").content.decode()
    undated = _section(page, "undated")
    seen = _ids(undated)
    more = _more(undated)
    while more:
        html = bob_client.get(more, **HTMX).content.decode()
        seen += _ids(html)
        more = _more(html)
    assert seen == expected


def test_a_bad_cursor_or_section_is_refused(bob_client, bob):
    assert bob_client.get("/activity/tasks/?section=overdue&cursor=garbage").status_code == 400
    assert bob_client.get("/activity/tasks/?section=later&cursor=").status_code == 400


def test_the_cli_lists_every_overdue_task(bob):
    expected = _overdue(bob, 250)
    out = StringIO()
    call_command("tasks", "list", "--overdue", "--json", "--as", "bob", stdout=out)
    assert [t["id"] for t in json.loads(out.getvalue())["overdue"]] == expected


def test_the_api_pages_through_every_task_with_its_cursor(client, bob):
    expected = sorted(_overdue(bob, 250))
    auth = bearer(bob)
    seen: list[int] = []
    url = "/api/v1/tasks?assignee=me&status=open&limit=100"
    pages = 0
    while url:
        body = client.get(url, **auth).json()
        seen += [t["id"] for t in body["items"]]
        pages += 1
        url = f"/api/v1/tasks?assignee=me&status=open&limit=100&cursor={body['next_cursor']}"
        url = url if body["next_cursor"] else ""
    assert pages == 3 and seen == expected
