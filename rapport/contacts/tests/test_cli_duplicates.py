"""`rapport contacts add` checks for likely duplicates as the web form does."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact
from rapport.contacts.tests.test_cli import run
from rapport.duplicates.models import NotDuplicate
from rapport.merges.models import Merge

GRACE = ("--name", "Grace Hopper", "--email", "grace.hopper@navy.example")


@pytest.fixture
def grace(alice):
    return make_contact(alice, given_name="Grace", family_name="Hopper",
                        emails=[{"address": "grace.hopper@navy.example"}])  # fmt: skip


def test_adding_a_likely_duplicate_saves_it_and_warns(alice, grace):
    out, err = run("contacts", "add", "--as", "alice", *GRACE)
    assert Contact.objects.count() == 2
    assert "likely the same person" in err
    assert f"#{grace.pk} Grace Hopper" in err
    assert f"rapport merge contacts {grace.pk} {int(out)}" in err


def test_reject_saves_nothing_and_names_the_likely_duplicate(alice, grace):
    with pytest.raises(CommandError) as exc:
        run("contacts", "add", "--as", "alice", "--on-duplicate", "reject", *GRACE)
    assert f"#{grace.pk} Grace Hopper" in str(exc.value)
    assert Contact.objects.count() == 1


def test_create_saves_and_remembers_they_are_different_people(alice, grace):
    out, err = run("contacts", "add", "--as", "alice", "--on-duplicate", "create", *GRACE)
    assert "likely" not in err
    new = int(out)
    assert NotDuplicate.objects.filter(
        contact_a_id=min(grace.pk, new), contact_b_id=max(grace.pk, new)
    ).exists()


def test_merge_into_adds_the_details_to_the_existing_contact(alice, grace):
    out, err = run("contacts", "add", "--as", "alice", "--merge-into", str(grace.pk),
                   "--name", "Grace Hopper", "--phone", "+1 202 555 0143")  # fmt: skip
    assert int(out) == grace.pk
    assert Contact.objects.count() == 1
    assert grace.phones.get().e164 == "+12025550143"
    assert f"rapport unmerge {Merge.objects.get().pk}" in err


def test_no_warning_for_someone_new(alice, grace):
    _, err = run("contacts", "add", "--as", "alice", "--name", "Ada Lovelace")
    assert "likely" not in err


def test_create_anyway_in_the_form_after_the_shown_duplicate_was_deleted(alice, alice_client):
    response = alice_client.post(
        "/contacts/new/",
        {"full_name": "Grace Hopper", "shown_duplicates": ["999999"], "create_anyway": "1"},
    )
    assert response.status_code == 302
    assert Contact.objects.filter(family_name="Hopper").count() == 1
