"""The relationship flow in a real Chromium: log a call from a contact's page with the
keyboard, see it on the timeline, create a follow-up task, complete it from My tasks
with one key and log the call it asked for."""

from __future__ import annotations

import pytest

from rapport.contacts.tests.test_browser import _sign_in, page  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser


def test_a_call_is_logged_followed_up_and_the_task_completed(page):  # noqa: F811
    from rapport.access.models import User
    from rapport.activity.models import Interaction, Task
    from rapport.contacts.tests.factories import make_contact

    _sign_in(page)
    alice = User.objects.get(username="alice")
    ann = make_contact(alice, given_name="Ann", family_name="Lee")
    page.goto(f"{page.base_url}/contacts/{ann.pk}/")

    # "c", type, Ctrl+Enter: a call, logged without the mouse
    page.keyboard.press("c")
    page.get_by_label("Outcome").select_option("connected")
    page.get_by_label("Minutes").fill("7")
    page.get_by_label("What happened").fill("Wants the renewal quote by Friday")
    page.get_by_label("What happened").press("Control+Enter")
    entry = page.locator(".timeline__entry--call").first
    entry.wait_for()
    assert "Wants the renewal quote by Friday" in entry.inner_text()
    assert "7 min" in entry.inner_text()
    assert Interaction.objects.get().kind == "call"

    # a follow-up task from the relationship box
    page.get_by_role("link", name="+ Follow-up task").click()
    page.get_by_label("Title").fill("Call back about the quote")
    page.get_by_label("Kind").select_option("call")
    page.get_by_role("button", name="Create task").click()
    task = Task.objects.get()
    assert list(task.contacts.values_list("pk", flat=True)) == [ann.pk]

    # My tasks: focus the row, "x" completes it, then log the call it was for
    page.goto(f"{page.base_url}/activity/tasks/")
    row = page.locator(f"#task-{task.pk}")
    row.focus()
    page.keyboard.press("x")
    page.get_by_role("link", name="Log the call").wait_for()
    task.refresh_from_db()
    assert task.status == "done"
    page.get_by_role("link", name="Log the call").click()
    page.get_by_label("What happened").fill("Called back: quote accepted")
    page.get_by_role("button", name="Log").click()
    page.get_by_text("Called back: quote accepted").wait_for()
    task.refresh_from_db()
    assert task.interaction is not None
    assert task.interaction.body == "Called back: quote accepted"
    assert page.locator(".timeline__entry--task").count() == 1
