"""The lists as users and clients see them: match counts, chosen columns, bulk actions."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django.utils import timezone

from rapport.access.models import ChangeRecord
from rapport.conftest import bearer
from rapport.contacts import services
from rapport.contacts.models import BulkJob, Contact, Tag
from rapport.contacts.selectors import COUNT_CAP
from rapport.contacts.services.bulk import BACKGROUND_ABOVE
from rapport.contacts.tests.factories import make_contact, make_organization
from rapport.contacts.tests.test_api import Api


@pytest.fixture
def people(bob) -> list[Contact]:
    """Four contacts; the first two tagged "Berlin"."""
    return [
        make_contact(bob, given_name="Ada", family_name="Lovelace", tags=["Berlin"]),
        make_contact(bob, given_name="Alan", family_name="Turing", tags=["Berlin"]),
        make_contact(bob, given_name="Grace", family_name="Hopper"),
        make_contact(bob, given_name="Edsger", family_name="Dijkstra"),
    ]


def _many(actor, count: int) -> list[int]:
    """``count`` contacts saved the way an import saves them (fast)."""
    drafts = [
        services.contact_draft(
            actor=actor, data={"given_name": f"Bulk{i}", "family_name": "Person"}
        )
        for i in range(count)
    ]
    return services.contacts_create(actor=actor, drafts=drafts, via="import")


def _tags(contact_id: int) -> list[str]:
    return sorted(Contact.objects.get(pk=contact_id).tags.values_list("name", flat=True))


# -- counts --------------------------------------------------------------------------


def test_the_api_says_how_many_contacts_match_when_asked(bob_api, people):
    body = bob_api.get("/contacts", {"tag": "berlin", "limit": 1, "with_count": True}).json()
    assert len(body["items"]) == 1
    assert (body["count"], body["count_capped"]) == (2, False)
    everyone = bob_api.get("/contacts", {"q": "lovelace", "with_count": True}).json()
    assert (everyone["count"], everyone["count_capped"]) == (1, False)
    uncounted = bob_api.get("/contacts", {"q": "lovelace"}).json()
    assert (uncounted["count"], len(uncounted["items"])) == (None, 1)
    short = bob_api.get("/contacts", {"q": "tu", "with_count": True}).json()
    assert [c["display_name"] for c in short["items"]] == ["Alan Turing"]
    assert short["count"] == 1


def test_the_api_says_how_many_organizations_match(bob_api, bob):
    make_organization(bob, name="Acme", industry="Robotics")
    make_organization(bob, name="Globex", industry="Robotics")
    make_organization(bob, name="Initech", industry="Software")
    body = bob_api.get(
        "/organizations", {"industry": "robotics", "limit": 1, "with_count": True}
    ).json()
    assert (body["count"], body["count_capped"]) == (2, False)


def test_past_ten_thousand_matches_the_count_says_so_instead_of_counting(bob_api, bob):
    Contact.objects.bulk_create(
        Contact(display_name=f"P {i}", sort_name=f"p {i}", owner=bob) for i in range(COUNT_CAP + 1)
    )
    body = bob_api.get("/contacts", {"limit": 1, "with_count": True}).json()
    assert (body["count"], body["count_capped"]) == (COUNT_CAP, True)
    Contact.objects.filter(pk=Contact.objects.order_by("pk").first().pk).delete()
    body = bob_api.get("/contacts", {"limit": 1, "with_count": True}).json()
    assert (body["count"], body["count_capped"]) == (COUNT_CAP, False)


def test_the_list_pages_show_the_count(bob_client, people, bob):
    page = bob_client.get("/contacts/", {"tag": "Berlin"})
    assert "<strong>2</strong> contacts match" in page.content.decode()
    make_organization(bob, name="Acme")
    page = bob_client.get("/organizations/")
    assert "<strong>1</strong> organization<" in page.content.decode()


def test_typing_a_search_shows_the_results_first_and_the_count_right_after(bob_client, people, bob):
    results = bob_client.get(
        "/contacts/", {"q": "lovelace", "tag": "Berlin"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "Ada Lovelace" in results and "<strong>" not in results.split("list-count")[1][:80]
    follow_up = re.search(r'hx-get="([^"]*fragment=count[^"]*)"', results).group(1)
    count = bob_client.get(follow_up.replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert "<strong>1</strong> contact match" in count.content.decode()
    make_organization(bob, name="Acme")
    orgs = bob_client.get("/organizations/", {"q": "acme"}, headers={"HX-Request": "true"})
    follow_up = re.search(r'hx-get="([^"]*fragment=count[^"]*)"', orgs.content.decode()).group(1)
    count = bob_client.get(follow_up.replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert "<strong>1</strong> organization<" in count.content.decode()


# -- columns -------------------------------------------------------------------------


def test_columns_chosen_by_a_user_stay_chosen_for_them_only(bob_client, alice_client, alice):
    services.custom_field_create(
        actor=alice,
        data={
            "target": "contact",
            "key": "shoe_size",
            "label": "Shoe size",
            "field_type": "number",
        },
    )
    make_contact(alice, given_name="Ada", family_name="Lovelace", custom_fields={"shoe_size": 38})
    answer = bob_client.post(
        "/lists/contacts/columns/",
        {"column": ["custom.shoe_size", "email"], "next": "/contacts/?q=ada"},
    )
    assert answer.status_code == 302 and answer["Location"] == "/contacts/?q=ada"
    html = bob_client.get("/contacts/").content.decode()
    head = html[html.index("<thead>") : html.index("</thead>")]
    assert head.index("Shoe size") < head.index("Email")
    assert "Phone" not in head
    assert ">38<" in html.replace("\n", "").replace(" ", "")
    # Alice still sees the default columns.
    other = alice_client.get("/contacts/").content.decode()
    assert "Shoe size</th>" not in other and "Phone</th>" in other
    # Back to the defaults.
    bob_client.post("/lists/contacts/columns/", {"reset": "1"})
    assert "Phone</th>" in bob_client.get("/contacts/").content.decode()


def test_an_unknown_column_is_refused_with_its_name(bob_client):
    answer = bob_client.post("/lists/organizations/columns/", {"column": ["salary"]}, follow=True)
    assert "There is no column “salary”." in answer.content.decode()


def test_organization_columns_include_custom_fields(alice_client, alice):
    services.custom_field_create(
        actor=alice,
        data={"target": "organization", "key": "tier", "label": "Tier", "field_type": "text"},
    )
    make_organization(alice, name="Acme", custom_fields={"tier": "Gold"})
    alice_client.post("/lists/organizations/columns/", {"column": ["custom.tier"]})
    html = alice_client.get("/organizations/").content.decode()
    assert "Tier</th>" in html and "Gold" in html and "Industry</th>" not in html


# -- bulk actions through the API ------------------------------------------------------


def test_bulk_tagging_by_ids_tags_each_contact_and_records_it_in_history(bob_api, people):
    ids = [people[2].pk, people[3].pk]
    answer = bob_api.post("/contacts/bulk", {"action": "tag", "value": "VIP", "ids": ids})
    assert answer.status_code == 200, answer.content
    job = answer.json()
    assert (job["status"], job["total"], job["done"], job["changed"]) == ("done", 2, 2, 2)
    assert _tags(people[2].pk) == ["VIP"]
    assert _tags(people[0].pk) == ["Berlin"]
    entry = ChangeRecord.objects.filter(object_id=people[3].pk, action="update").get()
    assert entry.via == "api" and entry.changes["tags"][1] == ["VIP"]


def test_bulk_changes_by_filter_reach_only_the_matching_contacts(bob_api, people):
    answer = bob_api.post(
        "/contacts/bulk",
        {"action": "set_stage", "value": "customer", "filter": {"tag": ["berlin"]}},
    )
    assert answer.json()["changed"] == 2
    stages = dict(Contact.objects.values_list("given_name", "lifecycle_stage"))
    assert stages == {"Ada": "customer", "Alan": "customer", "Grace": "lead", "Edsger": "lead"}


def test_bulk_untag_set_owner_and_delete(bob_api, people, alice):
    ids = [c.pk for c in people]
    untagged = bob_api.post("/contacts/bulk", {"action": "untag", "value": "BERLIN", "ids": ids})
    assert untagged.json()["changed"] == 2 and _tags(people[0].pk) == []
    owned = bob_api.post("/contacts/bulk", {"action": "set_owner", "value": "alice", "ids": ids})
    assert owned.json()["changed"] == 4
    assert set(Contact.objects.values_list("owner__username", flat=True)) == {"alice"}
    gone = bob_api.post("/contacts/bulk", {"action": "delete", "ids": ids[:3]})
    assert gone.json()["changed"] == 3
    assert list(Contact.objects.values_list("pk", flat=True)) == [ids[3]]
    assert ChangeRecord.objects.filter(action="delete", object_id__in=ids[:3]).count() == 3


def test_a_read_only_user_may_not_run_bulk_actions(charlie_api, people):
    for action, value in (("tag", "VIP"), ("delete", "")):
        answer = charlie_api.post(
            "/contacts/bulk", {"action": action, "value": value, "ids": [people[0].pk]}
        )
        assert answer.status_code == 403, answer.content
    assert Contact.objects.count() == 4 and _tags(people[0].pk) == ["Berlin"]
    assert not BulkJob.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"action": "tag", "value": "VIP"}, "ids", "Give either ids or filter."),
        ({"action": "set_stage", "value": "friend", "ids": [1]}, "value", "Must be one of"),
        ({"action": "untag", "value": "nope", "ids": [1]}, "value", "There is no tag “nope”."),
        ({"action": "set_owner", "value": "zed", "ids": [1]}, "value", "no active user"),
        ({"action": "tag", "value": "VIP", "ids": [999999]}, "ids", "No such contact: 999999."),
        ({"action": "tag", "value": "VIP", "ids": []}, "ids", "Select at least one contact."),
        ({"action": "tag", "value": "VIP", "ids": [0]}, "ids[0]", "Must be a contact id."),
        ({"action": "tag", "value": "VIP", "ids": [2**70]}, "ids[0]", "Must be a contact id."),
        ({"action": "tag", "value": "a\u0000b", "ids": [1]}, "value", ""),
        (
            {"action": "tag", "value": "VIP", "filter": {"custom": {"nope": "1"}}},
            "custom.nope",
            "There is no such custom field.",
        ),
        ({"action": "tag", "value": "VIP", "filter": {"owner": "zed"}}, "ids", "Select at least"),
    ],
)
def test_bad_bulk_requests_name_the_field_and_change_nothing(bob_api, people, body, field, message):
    if body.get("ids") == [1]:
        body["ids"] = [people[0].pk]
    answer = bob_api.post("/contacts/bulk", body)
    assert answer.status_code == 422, answer.content
    errors = answer.json()["errors"]
    assert errors[0]["field"] == field and message in errors[0]["message"], errors
    assert not BulkJob.objects.exists()


@pytest.mark.slow
def test_a_large_bulk_action_runs_in_the_background_and_reports_progress(
    bob_api, bob, alice, django_capture_on_commit_callbacks
):
    ids = _many(bob, BACKGROUND_ABOVE + 1)
    services.contact_update(
        actor=alice, contact=Contact.objects.get(pk=ids[0]), data={"tags": ["VIP"]}
    )
    with django_capture_on_commit_callbacks(execute=True):
        answer = bob_api.post("/contacts/bulk", {"action": "tag", "value": "VIP", "ids": ids})
        assert answer.status_code == 202, answer.content
        queued = answer.json()
        assert (queued["status"], queued["total"], queued["done"]) == ("queued", len(ids), 0)
        assert answer["Location"] == f"/api/v1/contacts/bulk/{queued['id']}"
        # The worker has not started yet: the job says so.
        assert bob_api.get(f"/contacts/bulk/{queued['id']}").json()["status"] == "queued"
    finished = bob_api.get(f"/contacts/bulk/{queued['id']}").json()
    assert finished["status"] == "done"
    assert (finished["done"], finished["changed"]) == (len(ids), len(ids) - 1)
    assert finished["finished_at"] is not None
    assert Tag.objects.get(name="VIP").contacts.count() == len(ids)
    assert ChangeRecord.objects.filter(action="update", object_id__in=ids).count() == len(ids)


def test_only_who_started_a_bulk_action_or_an_admin_sees_it(bob_api, charlie_api, people, alice):
    job = bob_api.post("/contacts/bulk", {"action": "tag", "value": "x", "ids": [people[0].pk]})
    path = f"/contacts/bulk/{job.json()['id']}"
    assert charlie_api.get(path).status_code == 404
    assert Api(Client(), bearer(alice)).get(path).status_code == 200


def test_a_contact_that_refuses_the_change_is_reported_and_the_others_change(bob, people):
    from rapport.contacts.services.bulk import bulk_run

    job = BulkJob.objects.create(
        action="set_stage", value="customer", ids=[people[0].pk, 999999], total=2, started_by=bob
    )
    done = bulk_run(job_id=job.pk)
    assert (done.status, done.done, done.changed) == ("done", 2, 1)
    assert done.failures == [
        {"id": 999999, "name": "", "message": "This contact no longer exists."}
    ]
    assert done.failed == 1


def test_a_bulk_action_where_everything_fails_keeps_the_count_and_the_first_reasons(bob):
    from rapport.contacts.services.bulk import FAILURES_KEPT, bulk_job_summary, bulk_run

    missing = list(range(900_000, 900_000 + FAILURES_KEPT + 50))
    job = BulkJob.objects.create(
        action="tag", value="x", ids=missing, total=len(missing), started_by=bob
    )
    done = bulk_run(job_id=job.pk)
    assert (done.failed, len(done.failures)) == (FAILURES_KEPT + 50, FAILURES_KEPT)
    assert f"{FAILURES_KEPT + 50} could not be changed" in bulk_job_summary(done)


def _running_job(bob, ids: list[int], *, done: int, beat_seconds_ago: float) -> BulkJob:
    beat = timezone.now() - timedelta(seconds=beat_seconds_ago)
    return BulkJob.objects.create(
        action="tag",
        value="Lapsed",
        ids=ids,
        total=len(ids),
        done=done,
        status="running",
        started_by=bob,
        started_at=beat,
        heartbeat_at=beat,
    )


def test_a_bulk_action_whose_worker_died_is_marked_failed_by_the_next_worker(
    bob_api, bob, people, settings
):
    from rapport.core.management.commands.worker import recover_dead_jobs

    settings.RAPPORT_JOB_STALE_SECONDS = 60
    ids = [p.pk for p in people]
    dead = _running_job(bob, ids, done=2, beat_seconds_ago=120)
    live = _running_job(bob, ids, done=2, beat_seconds_ago=5)
    recover_dead_jobs()  # what `rapport worker` does at its start and then periodically
    answer = bob_api.get(f"/contacts/bulk/{dead.pk}").json()
    assert answer["status"] == "failed"
    assert answer["finished_at"] is not None
    assert answer["error"].startswith("The process running this action stopped after 2 of 4 (")
    assert answer["error"].endswith("the rest were not changed: select them and apply it again.")
    assert bob_api.get(f"/contacts/bulk/{live.pk}").json()["status"] == "running"


def test_a_bulk_action_left_by_a_dead_worker_is_taken_over_where_it_stopped(bob, people, settings):
    from rapport.contacts.services.bulk import CHUNK, bulk_run

    settings.RAPPORT_JOB_STALE_SECONDS = 60
    ids = [p.pk for p in people]
    live = _running_job(bob, ids, done=0, beat_seconds_ago=5)
    assert bulk_run(job_id=live.pk).status == "running"  # its worker still reports
    assert not Tag.objects.filter(name="Lapsed").exists()
    ids = [*ids, *_many(bob, CHUNK)]
    dead = _running_job(bob, ids, done=CHUNK, beat_seconds_ago=120)
    job = bulk_run(job_id=dead.pk)
    assert (job.status, job.done, job.changed) == ("done", len(ids), len(ids) - CHUNK)
    tagged = set(Tag.objects.get(name="Lapsed").contacts.values_list("pk", flat=True))
    assert tagged == set(ids[CHUNK:])  # the first chunk was saved as done before the worker died


# -- bulk actions on the list page -----------------------------------------------------


def test_a_bulk_action_taken_over_from_a_paused_worker_is_left_to_the_new_one(
    bob, people, settings
):
    from rapport.contacts.services import bulk
    from rapport.core import jobs

    settings.RAPPORT_JOB_STALE_SECONDS = 60
    ids = [*(p.pk for p in people), *_many(bob, bulk.CHUNK)]
    queued = BulkJob.objects.create(
        action="tag", value="Lapsed", ids=ids, total=len(ids), started_by=bob
    )
    # The first worker claims the job as bulk_run does, then stops for an hour.
    first = jobs.job_claim(BulkJob, queued.pk, startable=["queued"], running="running")
    assert first is not None
    job_as_first_saw_it = BulkJob.objects.get(pk=queued.pk)
    BulkJob.objects.filter(pk=queued.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    second = bulk.bulk_run(job_id=queued.pk)  # a second worker takes it over and finishes
    assert (second.status, second.done, second.changed) == ("done", len(ids), len(ids))

    with pytest.raises(jobs.ClaimLost):  # the first wakes up and goes on with its run
        bulk._run_claimed(first, bulk.KINDS["contacts"], job_as_first_saw_it, bob)
    job = BulkJob.objects.get(pk=queued.pk)
    assert (job.status, job.done, job.changed, job.failed) == ("done", len(ids), len(ids), 0)
    assert job.finished_at == second.finished_at
    assert job_as_first_saw_it.done == bulk.CHUNK, "it stopped at its first save"


def test_tagging_ticked_contacts_from_the_list_page(bob_client, people):
    answer = bob_client.post(
        "/contacts/bulk/",
        {
            "action": "tag",
            "value_tag": "Speaker",
            "id": [people[2].pk, people[3].pk],
            "query": "q=&sort=-created",
        },
        follow=True,
    )
    assert answer.redirect_chain[-1][0] == "/contacts/?q=&sort=-created"
    assert "Tag “Speaker” added to 2 contacts." in answer.content.decode()
    assert _tags(people[3].pk) == ["Speaker"]


def test_all_matching_contacts_change_when_the_whole_filter_is_chosen(bob_client, people):
    bob_client.post(
        "/contacts/bulk/",
        {
            "action": "set_stage",
            "value_set_stage": "prospect",
            "scope": "all",
            "query": "tag=Berlin",
        },
    )
    assert sorted(
        Contact.objects.filter(lifecycle_stage="prospect").values_list("pk", flat=True)
    ) == [
        people[0].pk,
        people[1].pk,
    ]


def test_bulk_delete_asks_first_and_deletes_only_when_confirmed(bob_client, people):
    ids = [people[0].pk, people[1].pk]
    ask = bob_client.post("/contacts/bulk/", {"action": "delete", "id": ids, "query": ""})
    html = ask.content.decode()
    assert ask.status_code == 200 and "Delete 2 contacts?" in html and "Ada Lovelace" in html
    assert Contact.objects.count() == 4
    done = bob_client.post(
        "/contacts/bulk/",
        {"action": "delete", "id": ids, "query": "", "confirmed": "yes"},
        follow=True,
    )
    assert "2 contacts deleted." in done.content.decode()
    assert not Contact.objects.filter(pk__in=ids).exists()


def test_a_read_only_user_may_only_export_a_selection(charlie_client, people):
    html = charlie_client.get("/contacts/").content.decode()
    actions = html[
        html.index('name="action"') : html.index("</select>", html.index('name="action"'))
    ]
    assert 'value="export"' in actions and 'value="tag"' not in actions
    assert (
        charlie_client.post(
            "/contacts/bulk/", {"action": "tag", "value_tag": "x", "id": [people[0].pk]}
        ).status_code
        == 403
    )


def test_merging_ticked_contacts_opens_the_merge_comparison(bob_client, people):
    answer = bob_client.post(
        "/contacts/bulk/", {"action": "merge", "id": [people[0].pk, people[1].pk], "query": ""}
    )
    target = urlparse(answer["Location"])
    assert target.path == "/merges/contacts/new/"
    assert parse_qs(target.query)["ids"] == [str(people[0].pk), str(people[1].pk)]
    comparison = bob_client.get(answer["Location"]).content.decode()
    assert "Ada Lovelace" in comparison and "Alan Turing" in comparison
    assert Contact.objects.count() == 4, "nothing is merged before the user confirms"
    one = bob_client.post(
        "/contacts/bulk/", {"action": "merge", "id": [people[0].pk], "query": ""}, follow=True
    )
    assert "Tick between 2 and" in one.content.decode()


def test_exporting_ticked_contacts_downloads_only_them(bob_client, people):
    answer = bob_client.post(
        "/contacts/bulk/",
        {"action": "export", "value_export": "csv", "id": [people[2].pk], "query": "q=a"},
    )
    assert answer["Content-Disposition"].startswith("attachment;")
    text = b"".join(answer.streaming_content).decode("utf-8-sig")
    assert "Grace" in text and "Ada" not in text and "Alan" not in text


def test_exporting_every_match_of_the_list(bob_client, people):
    answer = bob_client.post(
        "/contacts/bulk/",
        {"action": "export", "value_export": "json", "scope": "all", "query": "tag=Berlin"},
    )
    text = b"".join(answer.streaming_content).decode()
    assert "Ada" in text and "Alan" in text and "Grace" not in text


def test_exporting_many_ticked_contacts_needs_no_long_address(bob_client, bob):
    ids = _many(bob, 600)
    answer = bob_client.post(
        "/contacts/bulk/", {"action": "export", "value_export": "csv", "id": ids, "query": ""}
    )
    lines = b"".join(answer.streaming_content).decode("utf-8-sig").splitlines()
    assert len(lines) == 601


def test_the_progress_page_polls_until_the_job_ends(bob_client, bob, people):
    job = BulkJob.objects.create(action="tag", value="VIP", ids=[1, 2, 3], total=3, started_by=bob)
    BulkJob.objects.filter(pk=job.pk).update(status="running", done=1)
    html = bob_client.get(f"/contacts/bulk/{job.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in html and "1 of 3 contacts" in html
    BulkJob.objects.filter(pk=job.pk).update(status="done", done=3, changed=3)
    fragment = bob_client.get(f"/contacts/bulk/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in fragment
    assert "Tag “VIP” added to 3 contacts." in fragment


def test_the_list_page_reads_as_many_queries_for_many_rows_as_for_few(bob_client, bob):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert bob_client.get("/contacts/").status_code == 200
        return len(captured)

    make_contact(bob, tags=["A"])
    few = queries()
    for i in range(6):
        make_contact(bob, tags=[f"T{i}"], phones=[{"number": "+44 20 7946 0018"}])
    assert queries() == few
