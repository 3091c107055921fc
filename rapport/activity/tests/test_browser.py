"""The relationship flow in a real Chromium: log a call from a contact's page with the
keyboard, see it on the timeline, create a follow-up task (relating records through the
type-ahead), complete it from My tasks with one key and log the call it asked for."""

from __future__ import annotations

import re

import pytest

from rapport.contacts.tests.test_browser import _sign_in, page  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser


def test_a_call_is_logged_followed_up_and_the_task_completed(page):  # noqa: F811
    from playwright.sync_api import expect

    from rapport.access.models import User
    from rapport.activity.models import Interaction, Task
    from rapport.contacts.tests.factories import make_contact, make_organization

    _sign_in(page)
    alice = User.objects.get(username="alice")
    ann = make_contact(alice, given_name="Ann", family_name="Lee")
    make_contact(
        alice, given_name="Ben", family_name="Ortiz", emails=[{"address": "ben@x.example"}]
    )
    acme = make_organization(alice, name="Acme Renewals")
    page.goto(f"{page.base_url}/contacts/{ann.pk}/")

    # "c", type, Ctrl+Enter: a call, logged without the mouse
    page.keyboard.press("c")
    page.get_by_label("Outcome", exact=True).select_option("connected")
    page.get_by_label("Minutes").fill("7")
    page.get_by_label("What happened").fill("Wants the renewal quote by Friday")
    page.get_by_label("What happened").press("Control+Enter")
    entry = page.locator(".timeline__entry--call").first
    entry.wait_for()
    assert "Wants the renewal quote by Friday" in entry.inner_text()
    assert "7 min" in entry.inner_text()
    assert Interaction.objects.get().kind == "call"

    # a follow-up task from the relationship box: Ann is related already; the type-ahead
    # adds her company (arrow down, Enter) and a colleague (Enter in the box), whose chip
    # is then removed again with the keyboard
    page.get_by_role("link", name="+ Follow-up task").click()
    page.get_by_label("Title").fill("Call back about the quote")
    page.get_by_label("Kind").select_option("call")
    chips = page.locator("[data-picker-chip]")
    assert chips.all_inner_texts()[0].startswith("Ann Lee")
    related = page.get_by_label("Add a person or organization")
    related.press_sequentially("acme")
    page.get_by_role("option", name=re.compile("Acme Renewals")).wait_for()
    related.press("ArrowDown")
    page.keyboard.press("Enter")
    chips.filter(has_text="Acme Renewals").wait_for()
    expect(related).to_have_value("")  # the box is cleared for the next one
    related.press_sequentially("ben@")
    page.get_by_role("option", name=re.compile("Ben Ortiz")).wait_for()
    related.press("Enter")
    chips.filter(has_text="Ben Ortiz").wait_for()
    expect(chips).to_have_count(3)
    page.get_by_role("button", name="Remove Ben Ortiz").focus()
    page.keyboard.press("Enter")
    chips.filter(has_text="Ben Ortiz").wait_for(state="detached")
    page.get_by_role("button", name="Create task").click()
    page.get_by_text("Task “Call back about the quote” created.").wait_for()
    task = Task.objects.get()
    assert list(task.contacts.values_list("pk", flat=True)) == [ann.pk]
    assert list(task.organizations.values_list("pk", flat=True)) == [acme.pk]

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
