"""The import flow in a real Chromium: upload → mapping → preview → progress → result → undo."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rapport.contacts.tests.test_browser import CHROMIUM_ARGS, _chromium, _sign_in

# Playwright's sync API runs an event loop in this thread; the ORM calls made by
# fixtures in the same thread are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = pytest.mark.browser

PEOPLE = (
    "Name,E-mail,Phone,Company,Job\n"
    "Ada Lovelace,ada@example.org,+44 20 7946 0958,Analytical Engines,Analyst\n"
    "Grace Hopper,grace@navy.example,+1 202 555 0143,US Navy,Rear Admiral\n"
    "Broken Row,not-an-email,,,\n"
)


@pytest.fixture
def page(live_server, transactional_db, settings, tmp_path) -> Iterator[object]:
    settings.MEDIA_ROOT = tmp_path / "media"
    # Queued imports wait (no worker): the test plays the worker, to watch the progress.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        tab = context.new_page()
        tab.base_url = live_server.url  # type: ignore[attr-defined]
        try:
            yield tab
        finally:
            context.close()
            browser.close()
            # Queries made while Playwright's loop runs use their own connections;
            # close them so the test database can be dropped afterwards.
            from django.db import connections

            connections.close_all()


def test_a_user_uploads_maps_previews_watches_progress_reads_the_result_and_undoes(page, tmp_path):
    from django.utils import timezone
    from playwright.sync_api import expect

    from rapport.contacts.models import Contact
    from rapport.ingest import services
    from rapport.ingest.models import ImportBatch

    file = tmp_path / "people.csv"
    file.write_text(PEOPLE, encoding="utf-8")
    _sign_in(page)

    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_text("Data").click()
    nav.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import contacts")
    page.get_by_label("File", exact=True).set_input_files(str(file))
    page.get_by_label("Source name").fill("Old CRM")
    page.get_by_role("button", name="Upload").click()

    # The mapping step: what was detected, sample values, a select per column.
    expect(page.get_by_role("heading", level=1)).to_have_text("people.csv")
    expect(page.locator("main")).to_contain_text("commas")
    expect(page.locator(".mapping-table")).to_contain_text("grace@navy.example")
    page.get_by_label("Name", exact=True).select_option("full_name")
    page.get_by_label("E-mail", exact=True).select_option("emails[0].address")
    page.get_by_label("Phone", exact=True).select_option("phones[0].number")
    page.get_by_label("Company", exact=True).select_option("organization.name")
    page.get_by_label("Job", exact=True).select_option("job_title")

    page.set_viewport_size({"width": 1280, "height": 500})
    page.get_by_role("button", name="Preview").scroll_into_view_if_needed()
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Ada Lovelace")
    # swapped in place: the page stays where it was, and every row was checked
    assert page.evaluate("window.scrollY") >= scrolled, "the page jumped to the top"
    expect(page.locator("#row-check")).to_contain_text("Checking every row")
    from rapport.ingest import checking

    pending = ImportBatch.objects.get()
    checking.import_check_run(batch_id=pending.pk, actor_id=pending.created_by_id)  # the worker
    expect(page.locator("#row-check")).to_contain_text("2 rows will import, 1 will fail")
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(preview.locator(".preview-table tr.row-invalid")).to_contain_text("not-an-email")
    expect(page.get_by_label("Job", exact=True)).to_have_value("job_title")
    assert Contact.objects.count() == 0
    page.set_viewport_size({"width": 390, "height": 800})
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the mapping step scrolls sideways on a phone: {widths}"
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Start import").click()
    expect(page.locator("#batch-status")).to_contain_text("Waiting to start")
    expect(page.locator("#batch-status progress")).to_be_visible()
    batch = ImportBatch.objects.get()
    assert batch.status == "queued"

    # A worker picks it up: the page follows without a reload.
    ImportBatch.objects.filter(pk=batch.pk).update(
        status="running", started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    expect(page.locator("#batch-status")).to_contain_text("Importing")
    # The stand-in worker hands the batch back so the real run can claim it.
    ImportBatch.objects.filter(pk=batch.pk).update(status="queued")
    services.import_run(batch_id=batch.pk)

    status = page.locator("#batch-status")
    expect(status).to_contain_text("Done")
    expect(page.locator("#count-created")).to_have_text("2")
    expect(page.locator("#count-failed")).to_have_text("1")
    expect(status.locator(".failed-table")).to_contain_text("not-an-email")
    expect(status.get_by_role("link", name="Download all failed rows (CSV)")).to_be_visible()
    expect(status.get_by_role("link", name="Grace Hopper")).to_be_visible()
    assert page.locator("#batch-status[hx-trigger]").count() == 0, "polling stopped"

    with page.expect_download() as download:
        status.get_by_role("link", name="Download all failed rows (CSV)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "Broken Row" in text and "Import errors" in text

    status.get_by_role("button", name="Undo this import").click()
    page.get_by_role("button", name="Undo import").click()
    # The undo is queued; a worker runs it and the page follows without a reload.
    expect(page.locator("#batch-status")).to_contain_text("Undoing")
    services.import_undo_run(batch_id=batch.pk, claim=ImportBatch.objects.get(pk=batch.pk).claim)
    expect(page.locator("main")).to_contain_text("2 contacts removed")
    assert Contact.objects.count() == 0
