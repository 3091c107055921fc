"""Retention policies: a contact list filter and an action, tried with a dry run,
run daily by the worker, every run logged."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from rapport.access.models import User
from rapport.activity.services import interactions
from rapport.conftest import bearer
from rapport.contacts import services as contacts
from rapport.contacts.models import Address, Contact, Email
from rapport.core.schedule import run_due_duties
from rapport.privacy import services
from rapport.privacy.models import Anonymised, ErasureLog, RetentionPolicy, RetentionRun
from rapport.privacy.services.retention import relative_day

pytestmark = pytest.mark.django_db

STALE_LEADS = "lifecycle_stage=lead&not_contacted_since=-24m&created_before=-24m"


def person(actor, name, email, *, stage="lead", years_ago=3, country="FR"):
    contact = contacts.contact_create(
        actor=actor,
        data={
            "full_name": name,
            "emails": [{"address": email}],
            "lifecycle_stage": stage,
            "addresses": [{"locality": "Lyon", "country": country}],
            "notes": f"Notes about {name}",
        },
    )
    created = timezone.now() - dt.timedelta(days=365 * years_ago)
    Contact.objects.filter(pk=contact.pk).update(created_at=created)
    return Contact.objects.get(pk=contact.pk)


@pytest.fixture
def leads(alice, bob):
    stale = person(bob, "Stale Lead", "stale@example.org")
    talking = person(bob, "Talking Lead", "talking@example.org")
    interactions.interaction_create(
        actor=bob,
        data={
            "kind": "call",
            "direction": "outbound",
            "outcome": "connected",
            "occurred_at": (timezone.now() - dt.timedelta(days=30)).isoformat(),
            "participants": [{"contact_id": talking.pk}],
        },
    )
    fresh = person(bob, "Fresh Lead", "fresh@example.org", years_ago=0)
    customer = person(bob, "Old Customer", "customer@example.org", stage="customer")
    policy = services.retention_policy_save(
        actor=alice, data={"name": "Stale leads", "filters": STALE_LEADS}
    )
    return {
        "stale": stale,
        "talking": talking,
        "fresh": fresh,
        "customer": customer,
        "policy": policy,
    }


def test_relative_dates_count_back_from_the_day_of_the_run():
    today = dt.date(2025, 3, 31)
    assert relative_day("-24m", today) == "2023-03-31"
    assert relative_day("-1m", today) == "2025-02-28"
    assert relative_day("-2y", today) == "2023-03-31"
    assert relative_day("-6w", today) == "2025-02-17"
    assert relative_day("2020-01-01", today) == "2020-01-01"


def test_a_dry_run_counts_and_samples_and_changes_nothing(alice, leads):
    run = services.retention_preview(actor=alice, retention=leads["policy"])
    assert run.dry_run and run.status == "done"
    assert run.matched == 1 and run.sample_ids == [leads["stale"].pk]
    assert Contact.objects.get(pk=leads["stale"].pk).display_name == "Stale Lead"
    assert not ErasureLog.objects.exists() and not Anonymised.objects.exists()


def test_a_real_run_anonymises_keeping_only_the_statistics(alice, leads):
    run = services.retention_run(
        actor=alice, retention=leads["policy"], trigger=RetentionRun.Trigger.UI
    )
    assert (run.matched, run.processed, run.failed) == (1, 1, 0)
    assert run.counts["contacts"]["email addresses"] == 1
    kept = Contact.objects.get(pk=leads["stale"].pk)
    assert kept.display_name == "Anonymised contact" and kept.notes == "" and kept.given_name == ""
    assert kept.lifecycle_stage == "lead"
    assert (kept.created_at.month, kept.created_at.day) == (1, 1)
    assert kept.created_at.year == leads["stale"].created_at.year
    assert list(Address.objects.filter(contact=kept).values_list("locality", "country")) == [
        ("", "FR")
    ]
    assert not Email.objects.filter(contact=kept).exists()
    log = ErasureLog.objects.get()
    assert log.mode == "anonymise" and log.reason == "retention" and log.retention_run == run
    assert log.suppressed == 0
    for other in ("talking", "fresh", "customer"):
        assert Contact.objects.get(pk=leads[other].pk).notes.startswith("Notes about")
    # an anonymised row is not handled again
    again = services.retention_run(
        actor=alice, retention=leads["policy"], trigger=RetentionRun.Trigger.UI
    )
    assert again.matched == 0


def test_an_erasing_policy_deletes_the_contacts(alice, leads):
    policy = leads["policy"]
    services.retention_policy_save(actor=alice, retention=policy, data={"action": "erase"})
    services.retention_run(actor=alice, retention=policy, trigger=RetentionRun.Trigger.UI)
    assert not Contact.objects.filter(pk=leads["stale"].pk).exists()
    assert Contact.objects.count() == 3


def test_the_worker_runs_enabled_policies_daily_as_their_maker(alice, leads):
    RetentionPolicy.objects.create(name="Paused", filters="lifecycle_stage=customer", enabled=False)
    started = run_due_duties()
    assert "privacy.retention" in started
    run = RetentionRun.objects.get()
    assert run.trigger == "schedule" and run.triggered_by is None and not run.dry_run
    assert run.processed == 1
    assert run_due_duties(timezone.now() + dt.timedelta(hours=1)).count("privacy.retention") == 0


def test_a_policy_whose_maker_is_no_longer_an_admin_fails_its_run_and_changes_nothing(alice, leads):
    User.objects.filter(pk=alice.pk).update(role=User.Role.MEMBER)
    run = services.retention_run_all()[0]
    assert run.status == "failed" and "may no longer apply it" in run.error
    assert Contact.objects.get(pk=leads["stale"].pk).display_name == "Stale Lead"


def test_the_command_line_dry_run_names_a_sample_and_the_real_run_reports(alice, leads):
    out = io.StringIO()
    call_command("privacy", "retention", "--dry-run", "--as", "alice", stdout=out)
    assert "Stale leads: would anonymise 1 contact(s)." in out.getvalue()
    assert f"{leads['stale'].pk}\tStale Lead" in out.getvalue()
    assert Contact.objects.get(pk=leads["stale"].pk).display_name == "Stale Lead"
    out = io.StringIO()
    call_command("privacy", "retention", "--as", "alice", stdout=out)
    assert "Stale leads: anonymised 1 of 1 contact(s)." in out.getvalue()
    assert [r.trigger for r in RetentionRun.objects.order_by("id")] == ["cli", "cli"]


def test_the_api_manages_policies_and_runs_them_dry_by_default(alice, leads):
    client, headers = Client(), bearer(alice)

    def call(method, path, body=None):
        return getattr(client, method)(
            f"/api/v1/privacy{path}", json.dumps(body or {}), "application/json", **headers
        )

    bad = call("post", "/retention-policies", {"name": "All", "filters": "colour=red"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "filters"
    empty = call("post", "/retention-policies", {"name": "All", "filters": ""})
    assert empty.status_code == 422
    made = call(
        "post",
        "/retention-policies",
        {"name": "Old customers", "filters": "lifecycle_stage=customer&created_before=-2y"},
    )
    assert made.status_code == 201, made.content
    dry = call("post", f"/retention-policies/{made.json()['id']}/runs")
    assert dry.status_code == 201
    assert dry.json()["dry_run"] and dry.json()["matched"] == 1
    assert dry.json()["sample"] == [{"id": leads["customer"].pk, "name": "Old Customer"}]
    real = call("post", f"/retention-policies/{made.json()['id']}/runs", {"dry_run": False})
    assert real.json()["processed"] == 1
    assert Anonymised.objects.filter(contact_id=leads["customer"].pk).exists()


def test_the_pages_show_a_dry_run_with_names_and_run_a_policy(alice_client, leads):
    policy = leads["policy"]
    response = alice_client.post(f"/privacy/retention/{policy.pk}/run/", {"dry_run": "1"})
    assert response.status_code == 302
    page = alice_client.get(response["Location"]).content.decode()
    assert "Would anonymise" in page and "Stale Lead" in page
    assert Contact.objects.get(pk=leads["stale"].pk).display_name == "Stale Lead"
    alice_client.post(f"/privacy/retention/{policy.pk}/run/")
    assert Anonymised.objects.filter(contact_id=leads["stale"].pk).exists()
    listing = alice_client.get("/privacy/retention/").content.decode()
    assert "Stale leads" in listing and "dry run: 1 would be anonymised" in listing


def test_members_may_not_manage_or_run_policies(bob_client, leads):
    assert bob_client.get("/privacy/retention/").status_code == 403
    assert bob_client.post(f"/privacy/retention/{leads['policy'].pk}/run/").status_code == 403
    assert not RetentionRun.objects.exists()


def test_a_run_blanks_every_handled_person_s_rows_in_a_shared_import_file(
    alice, bob, django_capture_on_commit_callbacks
):
    from rapport.privacy.tests.conftest import run_import

    batch = run_import(
        bob,
        "Name,E-mail\n"
        "Old One,old.one@example.org\n"
        "Keeper Customer,keeper@example.org\n"
        "Old Two,old.two@example.org\n",
        mapping={"Name": "full_name", "E-mail": "emails[0].address"},
    )
    long_ago = timezone.now() - dt.timedelta(days=1000)
    Contact.objects.exclude(emails__address_key="keeper@example.org").update(created_at=long_ago)
    Contact.objects.filter(emails__address_key="keeper@example.org").update(
        lifecycle_stage="customer", created_at=long_ago
    )
    policy = services.retention_policy_save(
        actor=alice, data={"name": "Stale leads", "filters": STALE_LEADS, "action": "erase"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = services.retention_run(
            actor=alice, retention=policy, trigger=RetentionRun.Trigger.CLI
        )
    assert (run.matched, run.processed, run.failed) == (2, 2, 0)
    assert run.counts["ingest"]["rows in stored import files"] == 2
    assert ErasureLog.objects.filter(retention_run=run).count() == 2
    stored = batch.file.open("rb").read().decode()
    assert "old.one" not in stored and "old.two" not in stored
    assert "Keeper Customer,keeper@example.org" in stored


def test_a_policy_is_made_on_its_page_from_a_pasted_contact_list_address(alice_client):
    response = alice_client.post(
        "/privacy/retention/new/",
        {
            "name": "Former customers",
            "filters": "http://testserver/contacts/?lifecycle_stage=former_customer&created_before=-3y",
            "action": "erase",
            "enabled": "1",
        },
    )
    assert response.status_code == 302, response.content
    made = RetentionPolicy.objects.get()
    assert made.filters == "lifecycle_stage=former_customer&created_before=-3y"
    assert made.action == "erase" and made.enabled
    bad = alice_client.post(
        "/privacy/retention/new/", {"name": "X", "filters": "created_before=soon"}
    )
    assert bad.status_code == 422 and "created_before" in bad.content.decode()
    assert RetentionPolicy.objects.count() == 1
