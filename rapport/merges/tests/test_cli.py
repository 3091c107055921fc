"""`rapport merge`, `rapport unmerge`, `rapport merges`."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact
from rapport.contacts.tests.test_cli import run


def test_contacts_are_merged_listed_and_unmerged_from_the_terminal(bob):
    keep, other = make_contact(bob), make_contact(bob, job_title="CTO")
    out, err = run(
        "merge",
        "contacts",
        str(keep.pk),
        str(other.pk),
        "--field",
        f"job_title={other.pk}",
        "--as",
        "bob",
    )
    merge_id = int(out.strip())
    assert "rapport unmerge" in err
    assert Contact.objects.get(pk=keep.pk).job_title == "CTO"
    out, _ = run("merges", "--as", "bob")
    assert out.startswith(f"{merge_id}\t") and "in effect" in out
    _, err = run("unmerge", str(merge_id), "--as", "bob")
    assert "Undid merge" in err
    assert Contact.objects.filter(pk=other.pk).exists()


def test_bad_input_is_an_error_with_exit_status_1(bob):
    keep = make_contact(bob)
    with pytest.raises(CommandError) as exc:
        run("merge", "contacts", str(keep.pk), str(keep.pk), "--as", "bob")
    assert "merged into itself" in str(exc.value)
    with pytest.raises(CommandError) as exc:
        run("merge", "contacts", str(keep.pk), "2", "--field", "job_title", "--as", "bob")
    assert "NAME=ID" in str(exc.value)
    with pytest.raises(CommandError) as exc:
        run("unmerge", "999", "--as", "bob")
    assert "no merge #999" in str(exc.value)
