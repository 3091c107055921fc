"""Bulk actions on the organization list, through the page, the API and the CLI: the
same mechanism as contacts (see test_lists.py), with the organization services."""

from __future__ import annotations

from io import StringIO
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import CommandError, call_command

from rapport.access.models import ChangeRecord
from rapport.contacts import services
from rapport.contacts.models import Affiliation, BulkJob, Contact, Organization
from rapport.contacts.services.bulk import BACKGROUND_ABOVE
from rapport.contacts.tests.factories import employ, make_contact, make_organization


@pytest.fixture
def orgs(bob) -> list[Organization]:
    """Four organizations; the first two in robotics and tagged "Partner"."""
    return [
        make_organization(bob, name="Acme", industry="Robotics", tags=["Partner"]),
        make_organization(bob, name="Globex", industry="Robotics", tags=["Partner"]),
        make_organization(bob, name="Initech", industry="Software"),
        make_organization(bob, name="Umbrella", industry="Pharma"),
    ]


def _tags(org_id: int) -> list[str]:
    return sorted(Organization.objects.get(pk=org_id).tags.values_list("name", flat=True))


# -- API ------------------------------------------------------------------------------


def test_bulk_tagging_organizations_by_ids_records_each_in_history(bob_api, orgs):
    ids = [orgs[2].pk, orgs[3].pk]
    answer = bob_api.post("/organizations/bulk", {"action": "tag", "value": "VIP", "ids": ids})
    assert answer.status_code == 200, answer.content
    job = answer.json()
    assert (job["kind"], job["status"], job["done"], job["changed"]) == (
        "organizations",
        "done",
        2,
        2,
    )
    assert _tags(orgs[2].pk) == ["VIP"] and _tags(orgs[0].pk) == ["Partner"]
    entry = ChangeRecord.objects.get(
        object_type="organization", object_id=orgs[3].pk, action="update"
    )
    assert entry.via == "api" and entry.changes["tags"][1] == ["VIP"]
    assert bob_api.get(f"/organizations/bulk/{job['id']}").json()["changed"] == 2
    assert bob_api.get(f"/contacts/bulk/{job['id']}").status_code == 404


def test_bulk_actions_on_organizations_by_filter_untag_set_owner_and_delete(
    bob_api, bob, orgs, alice
):
    owned = bob_api.post(
        "/organizations/bulk",
        {"action": "set_owner", "value": "alice", "filter": {"industry": "robotics"}},
    )
    assert owned.json()["changed"] == 2
    owners = dict(Organization.objects.values_list("name", "owner__username"))
    assert owners == {"Acme": "alice", "Globex": "alice", "Initech": "bob", "Umbrella": "bob"}
    ids = [o.pk for o in orgs]
    untagged = bob_api.post(
        "/organizations/bulk", {"action": "untag", "value": "partner", "ids": ids}
    )
    assert untagged.json()["changed"] == 2 and _tags(orgs[0].pk) == []
    person = make_contact(bob, given_name="Wile", family_name="Coyote")
    employ(person, orgs[0])
    gone = bob_api.post("/organizations/bulk", {"action": "delete", "ids": ids[:2]})
    assert gone.json()["changed"] == 2
    assert sorted(Organization.objects.values_list("name", flat=True)) == ["Initech", "Umbrella"]
    deleted = ChangeRecord.objects.filter(object_type="organization", action="delete")
    assert sorted(deleted.values_list("object_id", flat=True)) == ids[:2]
    assert Contact.objects.filter(pk=person.pk).exists() and not Affiliation.objects.exists()


def test_a_read_only_user_may_not_run_bulk_actions_on_organizations(charlie_api, orgs):
    for action, value in (("tag", "VIP"), ("set_owner", ""), ("delete", "")):
        answer = charlie_api.post(
            "/organizations/bulk", {"action": action, "value": value, "ids": [orgs[0].pk]}
        )
        assert answer.status_code == 403, answer.content
    assert Organization.objects.count() == 4 and _tags(orgs[0].pk) == ["Partner"]
    assert not BulkJob.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"action": "set_stage", "value": "customer", "ids": [1]}, "action", ""),
        ({"action": "tag", "value": "VIP", "ids": [999999]}, "ids", "No such organization"),
        ({"action": "tag", "value": "VIP", "ids": [0]}, "ids[0]", "Must be an organization id."),
        ({"action": "tag", "value": "VIP", "filter": {"lifecycle_stage": "lead"}}, "", ""),
        ({"action": "tag", "value": "VIP", "filter": {"industry": "x"}}, "ids", "Select at least"),
    ],
)
def test_bad_organization_bulk_requests_name_the_field(bob_api, orgs, body, field, message):
    if body.get("ids") == [1]:
        body["ids"] = [orgs[0].pk]
    answer = bob_api.post("/organizations/bulk", body)
    assert answer.status_code == 422, answer.content
    errors = answer.json()["errors"]
    assert errors[0]["field"].startswith(field) and message in errors[0]["message"], errors
    assert not BulkJob.objects.exists()


def test_many_organizations_change_in_the_background(
    bob_api, bob, django_capture_on_commit_callbacks
):
    drafts = [
        services.organization_draft(actor=bob, data={"name": f"Firm {i}"})
        for i in range(BACKGROUND_ABOVE + 1)
    ]
    ids = [o.pk for o in services.organizations_create(actor=bob, drafts=drafts)]
    with django_capture_on_commit_callbacks(execute=True):
        answer = bob_api.post("/organizations/bulk", {"action": "tag", "value": "Big", "ids": ids})
        assert answer.status_code == 202, answer.content
        assert answer["Location"] == f"/api/v1/organizations/bulk/{answer.json()['id']}"
    finished = bob_api.get(f"/organizations/bulk/{answer.json()['id']}").json()
    assert (finished["status"], finished["changed"]) == ("done", len(ids))
    assert Organization.objects.filter(tags__name="Big").count() == len(ids)


# -- the list page --------------------------------------------------------------------


def _actions(html: str) -> list[str]:
    actions = html[
        html.index('name="action"') : html.index("</select>", html.index('name="action"'))
    ]
    return [v.split('"')[0] for v in actions.split('value="')[1:]]


def test_the_organization_list_offers_row_selection_for_what_each_may_do(
    bob_client, charlie_client, orgs
):
    html = bob_client.get("/organizations/").content.decode()
    assert html.count("data-bulk-row") == 4
    assert _actions(html) == ["tag", "untag", "set_owner", "export", "merge", "delete"]
    # read-only: a selection can be exported, nothing else
    readonly = charlie_client.get("/organizations/").content.decode()
    assert readonly.count("data-bulk-row") == 4
    assert _actions(readonly) == ["export"]


def test_tagging_ticked_organizations_from_the_list_page(bob_client, orgs):
    answer = bob_client.post(
        "/organizations/bulk/",
        {
            "action": "tag",
            "value_tag": "Key account",
            "id": [orgs[2].pk, orgs[3].pk],
            "query": "sort=-created",
        },
        follow=True,
    )
    assert answer.redirect_chain[-1][0] == "/organizations/?sort=-created"
    assert "Tag “Key account” added to 2 organizations." in answer.content.decode()
    assert _tags(orgs[3].pk) == ["Key account"]


def test_every_matching_organization_changes_when_all_matching_is_chosen(bob_client, orgs, alice):
    bob_client.post(
        "/organizations/bulk/",
        {
            "action": "set_owner",
            "value_set_owner": "alice",
            "scope": "all",
            "query": "industry=Robotics",
        },
    )
    assert sorted(
        Organization.objects.filter(owner__username="alice").values_list("name", flat=True)
    ) == [
        "Acme",
        "Globex",
    ]


def test_bulk_delete_of_organizations_asks_first(bob_client, orgs):
    ids = [orgs[0].pk, orgs[1].pk]
    ask = bob_client.post("/organizations/bulk/", {"action": "delete", "id": ids, "query": ""})
    html = ask.content.decode()
    assert ask.status_code == 200 and "Delete 2 organizations?" in html and "Globex" in html
    assert Organization.objects.count() == 4
    done = bob_client.post(
        "/organizations/bulk/",
        {"action": "delete", "id": ids, "query": "", "confirmed": "yes"},
        follow=True,
    )
    assert "2 organizations deleted." in done.content.decode()
    assert not Organization.objects.filter(pk__in=ids).exists()


def test_merging_ticked_organizations_opens_the_merge_comparison(bob_client, orgs):
    answer = bob_client.post(
        "/organizations/bulk/", {"action": "merge", "id": [orgs[0].pk, orgs[1].pk], "query": ""}
    )
    target = urlparse(answer["Location"])
    assert target.path == "/merges/organizations/new/"
    assert parse_qs(target.query)["ids"] == [str(orgs[0].pk), str(orgs[1].pk)]
    comparison = bob_client.get(answer["Location"]).content.decode()
    assert "Acme" in comparison and "Globex" in comparison
    assert Organization.objects.count() == 4


def test_the_progress_page_of_an_organization_action_names_organizations(bob_client, bob, orgs):
    job = BulkJob.objects.create(
        kind="organizations",
        action="tag",
        value="x",
        ids=[orgs[0].pk],
        total=1,
        started_by=bob,
        status="done",
        done=1,
        changed=1,
    )
    html = bob_client.get(f"/contacts/bulk/{job.pk}/").content.decode()
    assert "1 of 1 organization" in html and "Tag “x” added to 1 organization." in html
    assert 'href="/organizations/"' in html


# -- CLI ------------------------------------------------------------------------------


def test_the_cli_tags_organizations_by_id_and_refuses_a_delete_without_yes(orgs, bob):
    out, err = StringIO(), StringIO()
    call_command(
        "organizations",
        "bulk",
        "tag",
        "Renewal",
        "--id",
        str(orgs[2].pk),
        "--as",
        "bob",
        stdout=out,
        stderr=err,
    )
    assert "Tag “Renewal” added to 1 organization." in err.getvalue()
    assert _tags(orgs[2].pk) == ["Renewal"]
    assert ChangeRecord.objects.get(object_id=orgs[2].pk, action="update").via == "cli"
    with pytest.raises(CommandError, match="Deleting organizations needs --yes."):
        call_command(
            "organizations",
            "bulk",
            "delete",
            "--all-matching",
            "--industry",
            "pharma",
            "--as",
            "bob",
        )
    call_command(
        "organizations",
        "bulk",
        "delete",
        "--all-matching",
        "--industry",
        "pharma",
        "--yes",
        "--as",
        "bob",
        stdout=out,
        stderr=err,
    )
    assert not Organization.objects.filter(name="Umbrella").exists()
