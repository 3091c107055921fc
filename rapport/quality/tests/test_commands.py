from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from rapport.contacts.tests.factories import make_contact
from rapport.quality.models import AuditSnapshot, Suggestion


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_audit_prints_the_summary(alice, book):
    text = run("audit", "--as", "alice")
    assert "Data quality: All contacts" in text
    assert "Contacts                 5" in text
    assert "No email and no phone" in text and "/quality/problems/no_email_or_phone/" in text


def test_audit_json_matches_the_api(alice, book):
    body = json.loads(run("audit", "--as", "alice", "--json", "--source", "Old CRM"))
    assert body["contacts"] == 2 and body["scope"] == "source:Old CRM"


def test_audit_snapshot_stores_today(alice, book):
    run("audit", "--as", "alice", "--snapshot")
    assert AuditSnapshot.objects.filter(scope="all").count() == 1


def test_audit_refuses_an_unknown_batch(alice, book):
    with pytest.raises(CommandError, match="no import batch"):
        run("audit", "--as", "alice", "--batch", "77")


def test_enrich_finds_suggestions_without_applying_them(alice):
    person = make_contact(actor=alice, given_name="ANNA")
    text = run("enrich", "--as", "alice")
    assert "name_case" in text and "1 name" in text
    person.refresh_from_db()
    assert person.given_name == "ANNA"


def test_enrich_apply_all_applies_them(alice):
    person = make_contact(actor=alice, given_name="ANNA")
    text = run("enrich", "--as", "alice", "--provider", "name_case", "--apply-all")
    assert "Applied 1." in text
    person.refresh_from_db()
    assert person.given_name == "Anna"
    assert Suggestion.objects.get().status == "accepted"


def test_enrich_as_a_read_only_user_is_refused(alice, charlie):
    make_contact(actor=alice, given_name="ANNA")
    with pytest.raises(CommandError, match="permission"):
        run("enrich", "--as", "charlie")
