from __future__ import annotations

import io
import json
import sys

import pytest
from django.core.management import CommandError, call_command

from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact


def run(*args: str, stdin: str = "") -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    real_stdin, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        call_command(*args, stdout=out, stderr=err)
    finally:
        sys.stdin = real_stdin
    return out.getvalue(), err.getvalue()


def test_a_contact_added_from_the_terminal_is_validated_like_everywhere_else(bob):
    out, _ = run(
        "contacts",
        "add",
        "--as",
        "bob",
        "--name",
        "Grace Hopper",
        "--email",
        "Grace@Navy.EXAMPLE",
        "--phone",
        "202 555 0143",
        "--country",
        "US",
        "--tag",
        "Pioneer",
    )
    contact = Contact.objects.get(pk=int(out))
    assert contact.family_name == "Hopper"
    assert contact.emails.get().address == "Grace@navy.example"
    assert contact.phones.get().e164 == "+12025550143"
    assert contact.owner == bob


def test_bad_input_from_the_terminal_names_each_field_and_saves_nothing(bob):
    with pytest.raises(CommandError) as exc:
        run("contacts", "add", "--as", "bob", "--name", "X", "--email", "x@", "--phone", "12")
    message = str(exc.value)
    assert "Email 1 · address" in message
    assert "Phone 1 · number" in message
    assert Contact.objects.count() == 0


def test_the_terminal_respects_roles(charlie):
    with pytest.raises(CommandError, match="permission"):
        run("contacts", "add", "--as", "charlie", "--name", "Nope")


def test_json_in_and_out(bob):
    out, _ = run(
        "contacts",
        "add",
        "--as",
        "bob",
        "--json-input",
        "-",
        "--json",
        stdin=json.dumps({"full_name": "Ada Lovelace", "emails": [{"address": "ada@example.org"}]}),
    )
    created = json.loads(out)
    assert created["family_name"] == "Lovelace"
    listed, _ = run("contacts", "list", "lovelace", "--as", "bob", "--json")
    assert [item["id"] for item in json.loads(listed)["items"]] == [created["id"]]


def test_update_show_and_delete(bob):
    contact = make_contact(bob, given_name="Alan", family_name="Turing")
    run("contacts", "update", str(contact.pk), "--as", "bob", "--stage", "customer")
    out, _ = run("contacts", "show", str(contact.pk), "--as", "bob")
    assert "Alan Turing" in out
    assert "update (via CLI): lifecycle_stage" in out
    run("contacts", "delete", str(contact.pk), "--as", "bob")
    assert not Contact.objects.filter(pk=contact.pk).exists()
    with pytest.raises(CommandError, match="no contact with id"):
        run("contacts", "show", str(contact.pk), "--as", "bob")


def test_organizations_and_their_chart_from_the_terminal(bob):
    boss = make_contact(bob, given_name="Grace", family_name="Hopper")
    report = make_contact(bob, given_name="Ada", family_name="Lovelace")
    out, _ = run(
        "organizations",
        "add",
        "--as",
        "bob",
        "--name",
        "Navy Labs",
        "--domain",
        "https://navy.example/",
    )
    org_id = out.strip()
    run(
        "organizations",
        "link",
        str(boss.pk),
        org_id,
        "--as",
        "bob",
        "--title",
        "Director",
        "--role",
        "decision_maker",
    )
    run(
        "organizations", "link", str(report.pk), org_id, "--as", "bob", "--reports-to", str(boss.pk)
    )
    shown, _ = run("organizations", "show", org_id, "--as", "bob")
    assert "navy.example" in shown
    assert "  - Grace Hopper, Director [Decision maker]\n    - Ada Lovelace" in shown
    with pytest.raises(CommandError, match="Reports to"):
        run(
            "organizations",
            "link",
            str(boss.pk),
            org_id,
            "--as",
            "bob",
            "--reports-to",
            str(report.pk),
        )


def test_many_contacts_are_tagged_from_the_terminal_and_a_delete_needs_yes(bob):
    ada = make_contact(bob, given_name="Ada", family_name="Lovelace", tags=["Berlin"])
    alan = make_contact(bob, given_name="Alan", family_name="Turing", tags=["Berlin"])
    grace = make_contact(bob, given_name="Grace", family_name="Hopper")
    _, err = run(
        "contacts", "bulk", "tag", "Speaker", "--as", "bob", "--all-matching", "--tag", "berlin"
    )
    assert "Tag “Speaker” added to 2 contacts." in err
    assert set(Contact.objects.filter(tags__name="Speaker")) == {ada, alan}
    out, err = run("contacts", "list", "--as", "bob", "--tag", "speaker", "--json")
    assert json.loads(out)["count"] == 2
    with pytest.raises(CommandError, match="--yes"):
        run("contacts", "bulk", "delete", "--as", "bob", "--id", str(grace.pk))
    _, err = run("contacts", "bulk", "delete", "--as", "bob", "--id", str(grace.pk), "--yes")
    assert "1 contact deleted." in err and not Contact.objects.filter(pk=grace.pk).exists()


def test_a_read_only_user_may_not_run_bulk_actions_from_the_terminal(charlie, bob):
    ada = make_contact(bob, given_name="Ada", family_name="Lovelace")
    with pytest.raises(CommandError, match="permission"):
        run("contacts", "bulk", "set_stage", "customer", "--as", "charlie", "--id", str(ada.pk))
    assert Contact.objects.get(pk=ada.pk).lifecycle_stage == "lead"
