"""The task form's Related field: a type-ahead over contacts and organizations (by name
or email, through the header search's selector) whose matches add chips that post the
ids; a chip removed is a record unrelated; an id that names nothing is a field error
and nothing is saved."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import AnonymousUser

from rapport.activity.models import Task
from rapport.activity.services import tasks as services
from rapport.contacts.tests.factories import make_contact, make_organization
from rapport.core.errors import InvalidInput

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
LOOKUP = "/activity/tasks/related/"
CHIP = "/activity/tasks/related/chip/"
OPTION = re.compile(r'hx-get="/activity/tasks/related/chip/\?(contact|organization)=(\d+)"')


def _options(html: str) -> list[tuple[str, int]]:
    return [(kind, int(pk)) for kind, pk in OPTION.findall(html)]


@pytest.fixture
def people(bob):
    ann = make_contact(
        bob, given_name="Ann", family_name="Lee", emails=[{"address": "ann@lee.example"}]
    )
    anna = make_contact(
        bob, given_name="Anna", family_name="Berg", emails=[{"address": "ab@acme.example"}]
    )
    carl = make_contact(
        bob, given_name="Carl", family_name="Moss", emails=[{"address": "carl@moss.example"}]
    )
    acme = make_organization(bob, name="Acme Annealing", industry="Metals")
    return ann, anna, carl, acme


def test_the_type_ahead_finds_people_by_name_or_email_and_organizations_by_name(
    bob_client, people, django_assert_num_queries
):
    ann, anna, carl, acme = people
    bob_client.get(f"{LOOKUP}?related_q=x", **HTMX)  # the session is read once
    # the session and its user, then the header search's own queries, however many
    # match: names and surnames starting with it, the text index, the contacts; the
    # organizations with their tags, phones and addresses
    with django_assert_num_queries(10):
        found = bob_client.get(f"{LOOKUP}?related_q=ann", **HTMX)
    html = found.content.decode()
    assert found.status_code == 200
    assert set(_options(html)) == {
        ("contact", ann.pk),
        ("contact", anna.pk),
        ("organization", acme.pk),
    }
    assert 'role="option"' in html and "ann@lee.example" in html and "Metals" in html
    by_email = bob_client.get(f"{LOOKUP}?related_q=carl@moss.example", **HTMX).content.decode()
    assert _options(by_email) == [("contact", carl.pk)]
    # what is already chosen is not offered again
    rest = bob_client.get(
        f"{LOOKUP}?related_q=ann&contact_ids={ann.pk}&organization_ids={acme.pk}", **HTMX
    ).content.decode()
    assert _options(rest) == [("contact", anna.pk)]
    nothing = bob_client.get(f"{LOOKUP}?related_q=zzzz", **HTMX).content.decode()
    assert _options(nothing) == [] and "Nothing matches “zzzz”" in nothing
    assert bob_client.get(f"{LOOKUP}?related_q=", **HTMX).content.decode().strip() == ""


def test_a_match_picked_becomes_a_chip_that_posts_its_id_and_a_removed_chip_unrelates(
    bob_client, bob, people
):
    ann, anna, _, acme = people
    chip = bob_client.get(f"{CHIP}?contact={ann.pk}", **HTMX).content.decode()
    assert f'name="contact_ids" value="{ann.pk}"' in chip and ">Ann Lee</label>" in chip
    assert 'aria-label="Remove Ann Lee"' in chip
    org_chip = bob_client.get(f"{CHIP}?organization={acme.pk}", **HTMX).content.decode()
    assert f'name="organization_ids" value="{acme.pk}"' in org_chip
    saved = bob_client.post(
        "/activity/tasks/new/",
        {
            "title": "Send the quote",
            "contact_ids": [str(ann.pk), str(anna.pk)],
            "organization_ids": [str(acme.pk)],
            "related_q": "",
        },
    )
    assert saved.status_code == 302
    task = Task.objects.get()
    assert sorted(task.contacts.values_list("pk", flat=True)) == sorted([ann.pk, anna.pk])
    assert list(task.organizations.values_list("pk", flat=True)) == [acme.pk]
    form = bob_client.get(f"/activity/tasks/{task.pk}/").content.decode()
    assert ">Anna Berg</label>" in form and ">Acme Annealing</label>" in form
    # Anna's chip removed: the form no longer posts her id
    edited = bob_client.post(
        f"/activity/tasks/{task.pk}/",
        {
            "title": "Send the quote",
            "version": str(task.version),
            "contact_ids": [str(ann.pk)],
            "related_q": "",
        },
    )
    assert edited.status_code == 302
    assert list(task.contacts.values_list("pk", flat=True)) == [ann.pk]
    assert not task.organizations.exists()


def test_an_unknown_or_malformed_id_is_a_clear_field_error_and_nothing_is_saved(
    bob_client, bob, people
):
    ann, _, _, acme = people
    response = bob_client.post(
        "/activity/tasks/new/",
        {"title": "Call", "contact_ids": [str(ann.pk), "999999"], "organization_ids": ["acme"]},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "nothing was saved" in html
    assert "Related: There is no contact 999999." in html
    assert "Related: Must be a record id." in html
    assert 'id="e-related">' in html and 'aria-invalid="true"' in html
    # the bad chips stay, marked, for the user to remove; the good one keeps its name
    assert ">Person 999999 (not found)</label>" in html
    assert ">“acme” (not found)</label>" in html
    assert ">Ann Lee</label>" in html
    assert not Task.objects.exists()
    task = services.task_create(actor=bob, data={"title": "Kept", "organization_ids": [acme.pk]})
    refused = bob_client.post(
        f"/activity/tasks/{task.pk}/",
        {"title": "Changed", "version": str(task.version), "organization_ids": ["424242"]},
    )
    assert refused.status_code == 422
    assert "There is no organization 424242." in refused.content.decode()
    task.refresh_from_db()
    assert task.title == "Kept"
    assert list(task.organizations.values_list("pk", flat=True)) == [acme.pk]


def test_without_javascript_a_typed_search_comes_back_as_matches_to_tick(bob_client, bob, people):
    ann, anna, _, _ = people
    typed = bob_client.post("/activity/tasks/new/", {"title": "Lunch", "related_q": "Ann Lee"})
    assert typed.status_code == 422
    html = typed.content.decode()
    assert "Tick the matches for “Ann Lee” you meant" in html
    assert f'<input type="checkbox" name="contact_ids" value="{ann.pk}"> Ann Lee' in html
    assert f'value="{anna.pk}"> Anna' not in html
    assert not Task.objects.exists()
    ticked = bob_client.post(
        "/activity/tasks/new/",
        {"title": "Lunch", "related_q": "", "contact_ids": [str(ann.pk)]},
    )
    assert ticked.status_code == 302
    assert list(Task.objects.get().contacts.values_list("pk", flat=True)) == [ann.pk]
    none = bob_client.post("/activity/tasks/new/", {"title": "Tea", "related_q": "qqqq"})
    assert none.status_code == 422
    assert "Nothing matches “qqqq”" in none.content.decode()


def test_the_picker_is_for_those_who_may_write_tasks_and_names_only_what_exists(
    bob_client, charlie_client, people
):
    ann, *_ = people
    assert charlie_client.get(f"{LOOKUP}?related_q=ann", **HTMX).status_code == 403
    assert charlie_client.get(f"{CHIP}?contact={ann.pk}", **HTMX).status_code == 403
    assert bob_client.get(f"{CHIP}?contact=999999", **HTMX).status_code == 404
    assert bob_client.get(f"{CHIP}?organization=x", **HTMX).status_code == 404


def test_the_service_relates_only_what_the_actor_may_see(people):
    ann, _, _, acme = people
    with pytest.raises(InvalidInput) as refused:
        services.task_validate(
            {"title": "T", "contact_ids": [ann.pk], "organization_ids": [acme.pk]},
            actor=AnonymousUser(),
        )
    assert [(e.path, e.message) for e in refused.value.errors] == [
        ("contact_ids", "You may not see contacts, so you cannot relate any."),
        ("organization_ids", "You may not see organizations, so you cannot relate any."),
    ]
