from __future__ import annotations

import pytest

from rapport.core.errors import InvalidInput, NotPermitted
from rapport.ingest.models import ImportBatch, ImportChange
from rapport.quality import rules, selectors, services
from rapport.quality.models import ContactQuality


def codes(result) -> set[str]:
    return {p.code for p in result.problems}


def test_a_complete_contact_only_lacks_a_confirmation(alice, book):
    result = selectors.contact_score(actor=alice, contact=book.complete)
    assert result.score == 95
    assert codes(result) == {"unverified"}


@pytest.mark.parametrize(
    ("name", "score", "problems"),
    [
        ("phone_only", 60, {"no_email", "no_organization", "no_country", "unverified"}),
        ("email_only", 55, {"no_phone", "no_organization", "no_country", "stale", "unverified"}),
        ("nothing", 35, {"no_email_or_phone", "no_organization", "no_country", "unverified"}),
        (
            "broken",
            55,
            {"invalid_email", "no_phone", "no_organization", "no_country", "unverified"},
        ),
    ],
)
def test_each_contact_loses_the_points_of_its_problems(alice, book, name, score, problems):
    result = selectors.contact_score(actor=alice, contact=getattr(book, name))
    assert (result.score, codes(result)) == (score, problems)


def test_the_score_never_goes_below_zero():
    everything = (
        rules.Fact.STALE
        | rules.Fact.INVALID_EMAIL
        | rules.Fact.INVALID_PHONE
        | rules.Fact.DUPLICATE
    )
    assert rules.score(everything) == 0


def test_confirming_a_contact_removes_stale_and_never_confirmed(alice, book):
    services.contact_verify(actor=alice, contact=book.email_only)
    result = selectors.contact_score(actor=alice, contact=book.email_only)
    assert codes(result) == {"no_phone", "no_organization", "no_country"}
    assert result.verified_at is not None


def test_the_report_counts_the_crafted_book_exactly(alice, book):
    report = selectors.audit_report(actor=alice)
    assert report.total == 5
    assert report.average_score == (95 + 60 + 55 + 35 + 55) / 5
    assert report.stale == 1
    completeness = {row["field"]: row["count"] for row in report.completeness}
    assert completeness["email"] == 3  # complete, email_only, broken (invalid, but present)
    assert completeness["phone"] == 2
    assert completeness["country"] == 1
    assert completeness["organization"] == 1
    assert completeness["birthday"] == 1
    assert completeness["job_title"] == 1
    problems = {row["code"]: row["count"] for row in report.problems}
    assert problems["no_organization"] == 4
    assert problems["no_email_or_phone"] == 1
    assert problems["invalid_email"] == 1
    assert problems["unverified"] == 5
    assert problems["duplicate"] == 0
    assert report.problems[0]["code"] == "unverified"  # most frequent first
    validity = {row["field"]: row for row in report.validity}
    assert (validity["email"]["checked"], validity["email"]["valid"]) == (3, 2)
    buckets = {row["bucket"]: row["count"] for row in report.distribution}
    assert buckets == {"0–19": 0, "20–39": 1, "40–59": 2, "60–79": 1, "80–99": 1, "100": 0}


def test_a_report_for_one_source_counts_only_its_contacts(alice, book):
    report = selectors.audit_report(actor=alice, scope=selectors.Scope(source="Old CRM"))
    assert report.total == 2
    assert report.stale == 1
    assert {row["code"]: row["count"] for row in report.problems}["no_email_or_phone"] == 1


def test_a_report_for_one_import_batch_counts_the_contacts_it_touched(alice, book):
    batch = ImportBatch.objects.create(
        source="Phone", file_name="phone.vcf", checksum="x", file_format="vcf"
    )
    ImportChange.objects.create(batch=batch, contact_id=book.phone_only.pk, action="created")
    ImportChange.objects.create(batch=batch, contact_id=book.nothing.pk, action="updated")
    report = selectors.audit_report(actor=alice, scope=selectors.scope_from(batch=str(batch.pk)))
    assert report.total == 2
    assert report.scope.key == f"batch:{batch.pk}"


def test_an_unknown_batch_is_refused(alice, book):
    with pytest.raises(InvalidInput) as exc:
        selectors.scope_from(batch="999999")
    assert exc.value.errors[0].path == "batch"


def test_changes_are_picked_up_by_the_next_report(alice, book):
    from rapport.contacts.services import contact_update

    selectors.audit_report(actor=alice)
    contact_update(
        actor=alice, contact=book.nothing, data={"emails": [{"address": "dan@example.net"}]}
    )
    report = selectors.audit_report(actor=alice)
    assert {row["code"]: row["count"] for row in report.problems}["no_email_or_phone"] == 0


def test_deleted_contacts_leave_the_report(alice, book):
    from rapport.contacts.services import contact_delete

    selectors.audit_report(actor=alice)
    contact_delete(actor=alice, contact=book.nothing)
    assert selectors.audit_report(actor=alice).total == 4
    assert ContactQuality.objects.count() == 4


def test_the_report_reads_the_stored_facts_in_a_fixed_number_of_queries(
    alice, book, django_assert_num_queries
):
    selectors.audit_report(actor=alice)
    # Refresh: the mark, the newest change, contacts changed since, their versions, two
    # counts, moving the mark; then one aggregate, however many contacts there are.
    with django_assert_num_queries(8):
        selectors.audit_report(actor=alice)


def test_contacts_with_a_problem_come_in_keyset_pages(alice, book):
    selectors.audit_report(actor=alice)
    first = selectors.contacts_with_problem(actor=alice, problem="no_organization", limit=3)
    assert len(first.items) == 3 and first.next_cursor
    rest = selectors.contacts_with_problem(
        actor=alice, problem="no_organization", limit=3, cursor=first.next_cursor
    )
    assert rest.next_cursor is None
    names = [row.contact.display_name for row in first.items + rest.items]
    assert names == ["Bob Phone", "Cleo Mail", "Dan Nobody", "Eve Broken"]


def test_stale_contacts_are_listed_by_the_day_they_are_asked_about(alice, book):
    selectors.audit_report(actor=alice)
    page = selectors.contacts_with_problem(actor=alice, problem="stale")
    assert [row.contact.pk for row in page.items] == [book.email_only.pk]


def test_an_unknown_problem_is_refused(alice, book):
    with pytest.raises(InvalidInput):
        selectors.contacts_with_problem(actor=alice, problem="ugly")


def test_a_snapshot_is_written_per_scope_and_drawn_as_a_trend(alice, book):
    written = services.audit_snapshot_write(actor=alice)
    assert {s.scope for s in written} == {"all", "source:", "source:Old CRM"}
    services.audit_snapshot_write(actor=alice)  # the same day again replaces it
    trend = selectors.audit_trend(actor=alice)
    assert len(trend) == 1
    assert trend[0]["contacts"] == 5
    assert trend[0]["average_score"] == 60.0
    assert (
        selectors.audit_trend(actor=alice, scope=selectors.Scope(source="Old CRM"))[0]["contacts"]
        == 2
    )


def test_the_snapshot_task_writes_todays_figures(book):
    from rapport.quality.models import AuditSnapshot
    from rapport.quality.tasks import audit_snapshot

    audit_snapshot.call()
    assert AuditSnapshot.objects.filter(scope="all").exists()


def test_stale_months_can_be_changed(alice, book, settings):
    settings.RAPPORT_STALE_MONTHS = 24
    assert selectors.audit_report(actor=alice).stale == 0


def test_users_without_a_role_cannot_see_the_audit(db, book):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotPermitted):
        selectors.audit_report(actor=AnonymousUser())
